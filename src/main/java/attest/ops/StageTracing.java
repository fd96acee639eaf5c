package attest.ops;

import attest.Exchanges;
import attest.evidence.EvidenceRecord;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.ingress.UpstreamTarget;
import attest.upstream.StreamingHttpResponse;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import org.apache.camel.AsyncCallback;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.NamedNode;
import org.apache.camel.Processor;
import org.apache.camel.spi.InterceptStrategy;
import org.apache.camel.support.processor.DelegateAsyncProcessor;
import org.apache.camel.support.SynchronizationAdapter;

import java.util.Map;

/**
 * A span per call (server span, continuing the caller's W3C trace context) and one per stage of it: identity,
 * policy, masking, upstream (a client span, current while the upstream is called so that its
 * {@code traceparent} names it) and evidence. Stages are found by the ids of the route steps that run them.
 * The call's span ends when the call has ended for the caller: for a stream, when the stream has settled.
 */
public final class StageTracing implements InterceptStrategy {
    /** The route step that starts a call's span (the request is read by then: its headers carry the context). */
    static final String CALL_STEP = "assign-request-id";
    /** Route step id -> stage. */
    static final Map<String, String> STAGES = Map.ofEntries(
            Map.entry("to-identity-verify", "identity"),
            Map.entry("to-policy-decide", "policy"),
            Map.entry("to-request-mask", "masking"),
            Map.entry("to-response-mask", "masking"),
            Map.entry("call-upstream", "upstream"),
            Map.entry("open-evidence", "evidence"),
            Map.entry("to-evidence-record", "evidence"),
            Map.entry("error-to-evidence-record", "evidence"),
            // an approved call executed later (approval-resume): a trace of its own
            Map.entry("approval-to-evidence-record", "evidence"),
            Map.entry("approval-error-to-evidence-record", "evidence"));
    /** The call's span context, on the exchange. */
    public static final String CONTEXT = "attestTraceContext";

    private final Tracing tracing;

    public StageTracing(Tracing tracing) {
        this.tracing = tracing;
    }

    @Override
    public Processor wrapProcessorInInterceptors(CamelContext context, NamedNode definition, Processor target,
                                                 Processor nextTarget) {
        String id = definition.getId();
        if (CALL_STEP.equals(id)) {
            return new DelegateAsyncProcessor(target) {
                @Override
                public boolean process(Exchange exchange, AsyncCallback callback) {
                    startCall(exchange);
                    return processor.process(exchange, callback);
                }
            };
        }
        String stage = id == null ? null : STAGES.get(id);
        if (stage == null) {
            return target;
        }
        return new DelegateAsyncProcessor(target) {
            @Override
            public boolean process(Exchange exchange, AsyncCallback callback) {
                Context parent = exchange.getProperty(CONTEXT, Context.class);
                Span span = tracing.tracer().spanBuilder("attest." + stage)
                        .setParent(parent == null ? Context.current() : parent)
                        .setSpanKind("upstream".equals(stage) ? SpanKind.CLIENT : SpanKind.INTERNAL)
                        .setAttribute("attest.stage", stage).startSpan();
                try (Scope ignored = span.storeInContext(parent == null ? Context.current() : parent).makeCurrent()) {
                    return processor.process(exchange, done -> {
                        end(span, exchange);
                        callback.done(done);
                    });
                }
            }
        };
    }

    private void startCall(Exchange exchange) {
        if (exchange.getProperty(CONTEXT) != null) {
            return;
        }
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        Context parent = Tracing.extract(in == null ? java.util.List.of() : in.headers());
        Span call = tracing.tracer().spanBuilder(in == null ? "attest.call" : in.method() + " attest.call")
                .setParent(parent).setSpanKind(SpanKind.SERVER)
                .setAttribute("http.request.method", in == null ? "" : in.method()).startSpan();
        exchange.setProperty(CONTEXT, call.storeInContext(parent));
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange ex) {
                Object body = ex.getMessage().getBody();
                if (body instanceof StreamingHttpResponse s) {
                    s.relay().settled().whenComplete((v, e) -> endCall(call, ex));
                } else {
                    endCall(call, ex);
                }
            }
        });
    }

    private static void endCall(Span call, Exchange exchange) {
        String requestId = exchange.getProperty(Exchanges.REQUEST_ID, String.class);
        if (requestId != null) {
            call.setAttribute("attest.request_id", requestId);
        }
        UpstreamTarget t = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        if (t != null) {
            call.setAttribute("attest.upstream", t.upstream().name());
        }
        EvidenceRecord r = exchange.getProperty(Exchanges.EVIDENCE, EvidenceRecord.class);
        if (r != null && r.getId() != null) {
            call.setAttribute("attest.record_id", r.getId().toString());
        }
        if (r != null && r.getOutcome() != null) {
            call.setAttribute("attest.outcome", r.getOutcome());
        }
        Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        if (status != null) {
            call.setAttribute("http.response.status_code", status);
            if (status >= 500) {
                call.setStatus(StatusCode.ERROR);
            }
        }
        call.end();
    }

    private static void end(Span span, Exchange exchange) {
        Exception e = exchange.getException();
        if (e instanceof GatewayException g) {
            span.setStatus(StatusCode.ERROR, g.code());
        } else if (e != null) {
            span.setStatus(StatusCode.ERROR, e.getClass().getSimpleName());
        }
        span.end();
    }
}
