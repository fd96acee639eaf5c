package attest.ops;

import attest.Exchanges;
import attest.evidence.EvidenceRecord;
import attest.http.GatewayException;
import attest.ingress.UpstreamTarget;
import org.apache.camel.AsyncCallback;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.NamedNode;
import org.apache.camel.Processor;
import org.apache.camel.spi.InterceptStrategy;
import org.apache.camel.support.processor.DelegateAsyncProcessor;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.context.Context;


/**
 * Gives every log line written while a step of a call runs the call's request id, evidence record id, upstream and
 * outcome. Around each step of an exchange, on whatever thread runs that step, the thread's current call is set to
 * the exchange and put back when the step returns, so it follows a call across threads and never leaks onto the next
 * call a pooled thread serves. The values are read only when a line is written: {@link CallLogContextInjector}, the
 * log4j context data injector, adds them to each line's context data (which the JSON layout writes), beside log4j's
 * own ThreadContext. Setting them into the ThreadContext around every step copied its map twice a step, a few per cent of
 * a call's CPU; a line is written once a call (the access line).
 * Values not known yet read {@code none} (record, upstream) and {@code pending} (outcome). With tracing on, the
 * lines also carry the ECS {@code trace.id} and {@code span.id}: the stage's span while a traced stage runs, the
 * call's span otherwise (and on the access line); with tracing off the two fields are absent.
 */
public final class CallLogContext implements InterceptStrategy {
    public static final String REQUEST_ID = "http.request.id";
    public static final String RECORD_ID = "attest.record_id";
    public static final String UPSTREAM = "attest.upstream";
    public static final String OUTCOME = "attest.outcome";
    public static final String TRACE_ID = "trace.id";
    public static final String SPAN_ID = "span.id";
    static final String[] KEYS = {REQUEST_ID, RECORD_ID, UPSTREAM, OUTCOME, TRACE_ID, SPAN_ID};

    /** The thread's current call: an exchange (its values read when a line is written), or the values themselves. */
    private static final ThreadLocal<Object> CURRENT = new ThreadLocal<>();

    @Override
    public Processor wrapProcessorInInterceptors(CamelContext context, NamedNode definition, Processor target,
                                                 Processor nextTarget) {
        return new DelegateAsyncProcessor(target) {
            @Override
            public boolean process(Exchange exchange, AsyncCallback callback) {
                Object previous = CURRENT.get();
                // a step inside a step of the same call (a direct: route's steps): the thread's call is set already,
                // and the request id's lookup (a property by name, at every step) is not needed
                if (previous == exchange || exchange.getProperty(Exchanges.REQUEST_ID) == null) { // or not a call
                    return processor.process(exchange, callback);
                }
                CURRENT.set(exchange);
                try {
                    return processor.process(exchange, callback);
                } finally {
                    CURRENT.set(previous);
                }
            }
        };
    }

    /** Whether a context name is one of a call's. */
    static boolean isCallKey(String name) {
        for (String k : KEYS) {
            if (k.equals(name)) {
                return true;
            }
        }
        return false;
    }

    /** The values of the thread's current call, read now; null when no call's step or line is running on it. */
    static String[] current() {
        Object c = CURRENT.get();
        if (c instanceof Exchange e) {
            return values(e);
        }
        return c instanceof String[] v ? v : null;
    }

    /** The values for this exchange (trace ids null when untraced), or null when it is not a call (a timer, a probe). */
    static String[] values(Exchange exchange) {
        String requestId = exchange.getProperty(Exchanges.REQUEST_ID, String.class);
        if (requestId == null) {
            return null;
        }
        EvidenceRecord r = exchange.getProperty(Exchanges.EVIDENCE, EvidenceRecord.class);
        UpstreamTarget t = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        GatewayException error = exchange.getProperty(Exchanges.ERROR, GatewayException.class);
        String outcome = r != null && r.getOutcome() != null ? r.getOutcome() : error != null && error.outcome() != null
                ? error.outcome().wire() : null;
        String[] trace = trace(exchange, true);
        return new String[]{requestId, r == null || r.getId() == null ? "none" : r.idText(),
                t == null ? (r != null && r.getUpstream() != null ? r.getUpstream() : "none") : t.upstream().name(),
                outcome == null ? "pending" : outcome, trace[0], trace[1]};
    }

    /**
     * The call's trace id and span id ({@link StageTracing#CONTEXT}), to keep for lines written once the exchange
     * is gone; both null when the call is not traced.
     */
    public static String[] trace(Exchange exchange) {
        return trace(exchange, false);
    }

    /** The trace id and span id: the current span when it belongs to the call's trace (a stage), else the call's. */
    private static String[] trace(Exchange exchange, boolean current) {
        Context call = exchange.getProperty(StageTracing.CONTEXT, Context.class);
        if (call == null) {
            return new String[2];
        }
        SpanContext sc = Span.fromContext(call).getSpanContext();
        if (current) {
            SpanContext now = Span.current().getSpanContext();
            if (now.isValid() && now.getTraceId().equals(sc.getTraceId())) {
                sc = now;
            }
        }
        return sc.isValid() ? new String[]{sc.getTraceId(), sc.getSpanId()} : new String[2];
    }

    /** The values of a record whose exchange is gone (a stream's end, committed later on another thread). */
    public static String[] values(EvidenceRecord r, String[] trace) {
        return new String[]{r.getRequestId(), r.getId() == null ? "none" : r.getId().toString(),
                r.getUpstream() == null ? "none" : r.getUpstream(), r.getOutcome() == null ? "pending" : r.getOutcome(),
                trace == null ? null : trace[0], trace == null ? null : trace[1]};
    }

    /**
     * Runs a step of a call on a thread of its own (the blocking pool, {@code attest.http.BlockingStep}) with the call's
     * context, as the route's interceptor gives it on the caller's thread, restoring what was there: the step's log
     * lines name the call.
     */
    public static void with(Exchange exchange, Runnable work) {
        Object previous = CURRENT.get();
        CURRENT.set(exchange.getProperty(Exchanges.REQUEST_ID) == null ? previous : exchange);
        try {
            work.run();
        } finally {
            CURRENT.set(previous);
        }
    }

    /** Runs a piece of a call's work (a log line) with the call's context, restoring what was there. */
    public static void with(String[] values, Runnable work) {
        Object previous = CURRENT.get();
        CURRENT.set(values);
        try {
            work.run();
        } finally {
            CURRENT.set(previous);
        }
    }
}
