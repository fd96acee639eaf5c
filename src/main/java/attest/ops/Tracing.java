package attest.ops;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SdkTracerProviderBuilder;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * OpenTelemetry tracing of calls: the SDK's tracer, the W3C trace-context propagator (only {@code traceparent}
 * and {@code tracestate}; no baggage is taken from callers), and the exporters. OTLP/HTTP export is off unless
 * an endpoint is configured; spans are still made, so the trace is continued to the upstream either way.
 */
public final class Tracing implements AutoCloseable {
    private static final TextMapPropagator PROPAGATOR = W3CTraceContextPropagator.getInstance();
    private static final TextMapGetter<List<Map.Entry<String, String>>> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(List<Map.Entry<String, String>> carrier) {
            List<String> keys = new ArrayList<>();
            carrier.forEach(e -> keys.add(e.getKey()));
            return keys;
        }

        @Override
        public String get(List<Map.Entry<String, String>> carrier, String key) {
            if (carrier == null) {
                return null;
            }
            String found = null;
            for (Map.Entry<String, String> e : carrier) {
                if (e.getKey().equalsIgnoreCase(key)) {
                    if (found != null) {
                        return null; // two traceparent headers: neither is trusted (a new trace starts)
                    }
                    found = e.getValue();
                }
            }
            return found;
        }
    };
    private static final TextMapSetter<BiConsumer<String, String>> SETTER = (carrier, key, value) -> {
        if (carrier != null) {
            carrier.accept(key, value);
        }
    };

    private final SdkTracerProvider provider;
    private final Tracer tracer;

    /**
     * @param otlpEndpoint an OTLP/HTTP traces URL (…/v1/traces); empty: no export
     * @param extra        another exporter (tests bind an in-memory one), or null
     */
    public Tracing(String serviceName, String instanceId, double sampleRatio, String otlpEndpoint, Duration exportTimeout,
                   SpanExporter extra) {
        SdkTracerProviderBuilder b = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(
                        AttributeKey.stringKey("service.name"), serviceName,
                        AttributeKey.stringKey("service.instance.id"), instanceId))))
                // nothing exported: a trace the gateway starts itself is not recorded (its spans would go nowhere,
                // and recording them costs CPU per call); they still carry ids, for the upstream's traceparent and
                // the log lines. A caller's sampled trace is still recorded and its flag passed on.
                .setSampler(Sampler.parentBased(exporting(otlpEndpoint, extra)
                        ? Sampler.traceIdRatioBased(sampleRatio) : Sampler.alwaysOff()));
        if (otlpEndpoint != null && !otlpEndpoint.isBlank()) {
            b.addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder().setEndpoint(otlpEndpoint)
                    .setTimeout(exportTimeout).build()).build());
        }
        if (extra != null) {
            b.addSpanProcessor(SimpleSpanProcessor.create(extra));
        }
        if (!exporting(otlpEndpoint, extra)) {
            // without any processor the SDK makes no spans at all (each is the parent's context, passed on): the
            // gateway would then have no trace or span id of its own, neither in its log lines nor in the
            // traceparent it sends upstream. This processor keeps the spans and exports nothing.
            b.addSpanProcessor(new io.opentelemetry.sdk.trace.SpanProcessor() {
                @Override
                public void onStart(io.opentelemetry.context.Context parentContext,
                                    io.opentelemetry.sdk.trace.ReadWriteSpan span) {
                }

                @Override
                public boolean isStartRequired() {
                    return false;
                }

                @Override
                public void onEnd(io.opentelemetry.sdk.trace.ReadableSpan span) {
                }

                @Override
                public boolean isEndRequired() {
                    return false;
                }
            });
        }
        this.provider = b.build();
        this.tracer = provider.get("attest");
    }

    private static boolean exporting(String otlpEndpoint, SpanExporter extra) {
        return extra != null || (otlpEndpoint != null && !otlpEndpoint.isBlank());
    }

    public Tracer tracer() {
        return tracer;
    }

    /** The caller's trace context from its headers ({@code traceparent}, {@code tracestate}); root when none or invalid. */
    public static Context extract(List<Map.Entry<String, String>> headers) {
        return PROPAGATOR.extract(Context.root(), headers, HEADERS);
    }

    /** Writes the context's {@code traceparent} (and {@code tracestate}) with the setter. */
    public static void inject(Context context, BiConsumer<String, String> setter) {
        PROPAGATOR.inject(context, setter, SETTER);
    }

    @Override
    public void close() {
        provider.shutdown().join(5, java.util.concurrent.TimeUnit.SECONDS);
    }
}
