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

    /** What log4j puts into a line written now on this thread (its context data injector, with every provider). */
    static org.apache.logging.log4j.util.ReadOnlyStringMap lineContext() {
        return org.apache.logging.log4j.core.impl.ContextDataInjectorFactory.createInjector()
                .injectContextData(java.util.List.of(), new org.apache.logging.log4j.util.SortedArrayStringMap());
    }

    @Test
    void should_leave_the_trace_fields_out_when_the_call_is_not_traced_and_restore_the_thread() {
        Exchange e = call();
        String[] v = CallLogContext.values(e);
        assertThat(v[4]).isNull();
        assertThat(v[5]).isNull();
        ThreadContext.put("someone.else", "kept");
        ThreadContext.put(CallLogContext.TRACE_ID, "left-by-someone");
        CallLogContext.with(v, () -> {
            assertThat(lineContext().<String>getValue(CallLogContext.REQUEST_ID)).isEqualTo("rid-1");
            assertThat(lineContext().<String>getValue(CallLogContext.OUTCOME)).isEqualTo("pending");
            assertThat(lineContext().containsKey(CallLogContext.TRACE_ID)).isFalse();
            assertThat(lineContext().<String>getValue("someone.else")).as("log4j's own thread context still counts")
                    .isEqualTo("kept");
        });
        assertThat(lineContext().containsKey(CallLogContext.REQUEST_ID)).isFalse();
        assertThat(lineContext().<String>getValue("someone.else")).isEqualTo("kept");
        assertThat(lineContext().<String>getValue(CallLogContext.TRACE_ID)).as("outside the call, as it was")
                .isEqualTo("left-by-someone");
        assertThat(org.apache.logging.log4j.core.impl.ContextDataInjectorFactory.createInjector().rawContextData()
                .<String>getValue("someone.else")).isEqualTo("kept");
    }

    @Test
    void should_give_a_steps_lines_the_calls_values_as_they_are_when_written_and_nothing_after_the_step()
            throws Exception {
        Exchange e = call();
        org.apache.camel.AsyncProcessor step = (org.apache.camel.AsyncProcessor) new CallLogContext()
                .wrapProcessorInInterceptors(e.getContext(), null, exchange -> {
                    assertThat(lineContext().<String>getValue(CallLogContext.REQUEST_ID)).isEqualTo("rid-1");
                    assertThat(lineContext().<String>getValue(CallLogContext.OUTCOME)).isEqualTo("pending");
                    exchange.setProperty(Exchanges.ERROR, attest.http.GatewayException.upstreamTimeout("late"));
                    assertThat(lineContext().<String>getValue(CallLogContext.OUTCOME)).as("read when the line is written")
                            .isEqualTo("timeout");
                }, null);
        step.process(e);
        assertThat(lineContext().containsKey(CallLogContext.REQUEST_ID)).as("nothing leaks past the step").isFalse();

        // a step of something that is not a call (a timer) leaves a line's context alone
        Exchange timer = new DefaultExchange(e.getContext());
        String[] outer = CallLogContext.values(call());
        CallLogContext.with(outer, () -> {
            try {
                ((org.apache.camel.AsyncProcessor) new CallLogContext().wrapProcessorInInterceptors(e.getContext(), null,
                        x -> assertThat(lineContext().<String>getValue(CallLogContext.REQUEST_ID)).isEqualTo("rid-1"),
                        null)).process(timer);
            } catch (Exception ex) {
                throw new AssertionError(ex);
            }
        });
    }

    @Test
    void should_give_nested_steps_their_calls_values_and_look_the_request_id_up_once() throws Exception {
        java.util.concurrent.atomic.AtomicInteger lookups = new java.util.concurrent.atomic.AtomicInteger();
        Exchange e = org.mockito.Mockito.spy(new DefaultExchange(new DefaultCamelContext()));
        e.setProperty(Exchanges.REQUEST_ID, "rid-outer");
        org.mockito.Mockito.doAnswer(inv -> {
            lookups.incrementAndGet();
            return inv.callRealMethod();
        }).when(e).getProperty(Exchanges.REQUEST_ID);
        Exchange other = call();
        CallLogContext log = new CallLogContext();
        java.util.List<String> seen = new java.util.ArrayList<>();
        org.apache.camel.Processor record = x -> { // the line's own reading of the values is not counted
            int before = lookups.get();
            seen.add(lineContext().getValue(CallLogContext.REQUEST_ID));
            lookups.set(before);
        };
        org.apache.camel.AsyncProcessor inner = (org.apache.camel.AsyncProcessor)
                log.wrapProcessorInInterceptors(e.getContext(), null, record, null);
        // another call's step run from inside this call's step (a second exchange) gets that call's values
        org.apache.camel.AsyncProcessor otherCall = (org.apache.camel.AsyncProcessor)
                log.wrapProcessorInInterceptors(e.getContext(), null, record, null);
        org.apache.camel.AsyncProcessor outer = (org.apache.camel.AsyncProcessor)
                log.wrapProcessorInInterceptors(e.getContext(), null, x -> {
                    record.process(x);
                    inner.process(x); // a direct: route's step inside this step
                    record.process(x);
                    otherCall.process(other);
                    record.process(x);
                }, null);
        outer.process(e);
        assertThat(seen).containsExactly("rid-outer", "rid-outer", "rid-outer", "rid-1", "rid-outer");
        assertThat(lineContext().containsKey(CallLogContext.REQUEST_ID)).as("nothing leaks past the step").isFalse();
        assertThat(lookups.get()).as("the request id's lookups by the interceptor: the outer step's only").isEqualTo(1);
    }

    @Test
    void should_give_a_gateway_without_an_exporter_spans_of_its_own() {
        Span s = tracing.tracer().spanBuilder("call").setParent(Context.root()).startSpan();
        assertThat(s.getSpanContext().isValid()).as("a span with ids, not the parent's context passed on").isTrue();
    }
}
