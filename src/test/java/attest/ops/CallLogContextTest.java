package attest.ops;

import attest.Exchanges;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.logging.log4j.ThreadContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The logging context of a call: its ids, and the trace and span ids when the call is traced. */
class CallLogContextTest {
    final Tracing tracing = new Tracing("attest", "test", 1.0, "", Duration.ofSeconds(1), null);

    @AfterEach
    void close() {
        tracing.close();
        ThreadContext.clearMap();
    }

    Exchange call() {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.REQUEST_ID, "rid-1");
        return e;
    }

    @Test
    void should_name_the_calls_span_and_a_current_stages_span_of_the_same_trace() {
        Exchange e = call();
        Span callSpan = tracing.tracer().spanBuilder("call").setParent(Context.root()).startSpan();
        Context ctx = callSpan.storeInContext(Context.root());
        e.setProperty(StageTracing.CONTEXT, ctx);

        String[] v = CallLogContext.values(e);
        assertThat(v[4]).isEqualTo(callSpan.getSpanContext().getTraceId()).matches("[0-9a-f]{32}");
        assertThat(v[5]).isEqualTo(callSpan.getSpanContext().getSpanId()).matches("[0-9a-f]{16}");

        Span stage = tracing.tracer().spanBuilder("attest.policy").setParent(ctx).startSpan();
        try (Scope ignored = stage.storeInContext(ctx).makeCurrent()) {
            String[] during = CallLogContext.values(e);
            assertThat(during[4]).isEqualTo(v[4]);
            assertThat(during[5]).isEqualTo(stage.getSpanContext().getSpanId()).isNotEqualTo(v[5]);
            assertThat(CallLogContext.trace(e)).as("kept for later lines: the call's span")
                    .containsExactly(v[4], v[5]);
        }
        // a span of another trace current on this thread is never taken for the call's
        Span other = tracing.tracer().spanBuilder("other").setParent(Context.root()).startSpan();
        try (Scope ignored = other.makeCurrent()) {
            assertThat(CallLogContext.values(e)[5]).isEqualTo(v[5]);
        }
    }

    @Test
    void should_leave_the_trace_fields_out_when_the_call_is_not_traced_and_restore_the_thread() {
        Exchange e = call();
        String[] v = CallLogContext.values(e);
        assertThat(v[4]).isNull();
        assertThat(v[5]).isNull();
        ThreadContext.put(CallLogContext.TRACE_ID, "left-by-someone");
        CallLogContext.with(v, () -> {
            assertThat(ThreadContext.get(CallLogContext.REQUEST_ID)).isEqualTo("rid-1");
            assertThat(ThreadContext.containsKey(CallLogContext.TRACE_ID)).isFalse();
        });
        assertThat(ThreadContext.get(CallLogContext.TRACE_ID)).isEqualTo("left-by-someone");
        assertThat(ThreadContext.containsKey(CallLogContext.REQUEST_ID)).isFalse();
    }

    @Test
    void should_give_a_gateway_without_an_exporter_spans_of_its_own() {
        Span s = tracing.tracer().spanBuilder("call").setParent(Context.root()).startSpan();
        assertThat(s.getSpanContext().isValid()).as("a span with ids, not the parent's context passed on").isTrue();
    }
}
