package attest.ops;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With no exporter the gateway records none of its own traces, yet every span has ids of its own (for the
 * upstream's traceparent and the logs) and a caller's sampled trace keeps its flag; with an exporter, traces are
 * recorded.
 */
class TracingSamplerTest {
    static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final String CALLER_SPAN = "00f067aa0ba902b7";

    @Test
    void without_an_exporter_own_traces_are_not_recorded_but_carry_ids() {
        Tracing t = new Tracing("attest", "i1", 1.0, "", Duration.ofSeconds(1), null);
        Span s = t.tracer().spanBuilder("call").setParent(Context.root()).startSpan();
        assertThat(s.isRecording()).isFalse();
        assertThat(s.getSpanContext().isValid()).isTrue();
        assertThat(s.getSpanContext().isSampled()).isFalse();
        s.end();
    }

    @Test
    void without_an_exporter_a_callers_trace_goes_on_with_the_gateways_span_and_flag() {
        Tracing t = new Tracing("attest", "i1", 1.0, "", Duration.ofSeconds(1), null);
        for (String flag : new String[]{"01", "00"}) {
            Context caller = Tracing.extract(List.of(Map.entry("traceparent",
                    "00-" + TRACE + "-" + CALLER_SPAN + "-" + flag)));
            Span s = t.tracer().spanBuilder("call").setParent(caller).startSpan();
            Map<String, String> out = new HashMap<>();
            Tracing.inject(caller.with(s), out::put);
            assertThat(out.get("traceparent")).startsWith("00-" + TRACE + "-").endsWith("-" + flag)
                    .doesNotContain(CALLER_SPAN);
            s.end();
        }
    }

    @Test
    void with_an_exporter_own_traces_are_recorded() {
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        Tracing t = new Tracing("attest", "i1", 1.0, "", Duration.ofSeconds(1), spans);
        Span s = t.tracer().spanBuilder("call").setParent(Context.root()).startSpan();
        assertThat(s.isRecording()).isTrue();
        s.end();
        assertThat(spans.getFinishedSpanItems()).hasSize(1);
    }
}
