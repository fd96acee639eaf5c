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
import org.apache.logging.log4j.ThreadContext;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Puts the call's request id, evidence record id, upstream and outcome into the logging context (log4j
 * ThreadContext, which the JSON layout writes into every line) while a step of the call runs, and takes them
 * out again when the step returns. It is set around each step of an exchange, on whatever thread runs that
 * step, so it follows a call across threads and never leaks onto the next call a pooled thread serves.
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

    @Override
    public Processor wrapProcessorInInterceptors(CamelContext context, NamedNode definition, Processor target,
                                                 Processor nextTarget) {
        return new DelegateAsyncProcessor(target) {
            @Override
            public boolean process(Exchange exchange, AsyncCallback callback) {
                String[] values = values(exchange);
                if (values == null) {
                    return processor.process(exchange, callback);
                }
                Map<String, String> previous = set(values);
                try {
                    return processor.process(exchange, callback);
                } finally {
                    restore(previous);
                }
            }
        };
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
        String outcome = r != null && r.getOutcome() != null ? r.getOutcome() : error != null ? error.outcome() : null;
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

    /** Runs a piece of a call's work (a log line) with the call's context, restoring what was there. */
    public static void with(String[] values, Runnable work) {
        Map<String, String> previous = set(values);
        try {
            work.run();
        } finally {
            restore(previous);
        }
    }

    /**
     * Sets the values that differ from what is there (a null value: the key is absent); returns what to restore
     * (null: nothing changed). The thread's map is read once and written at most twice (one put of every changed
     * value, one removal of every hidden key): log4j's thread context is a copy-on-write map, so each single put or
     * remove copies it, and a call runs this around each of its steps.
     */
    private static Map<String, String> set(String[] values) {
        Map<String, String> current = ThreadContext.getImmutableContext();
        Map<String, String> puts = null;
        List<String> removes = null;
        Map<String, String> previous = null;
        for (int i = 0; i < KEYS.length; i++) {
            String now = current.get(KEYS[i]);
            if (!Objects.equals(values[i], now)) {
                if (previous == null) {
                    previous = new HashMap<>(8);
                }
                previous.put(KEYS[i], now); // a null value: the key was absent
                if (values[i] == null) {
                    (removes == null ? removes = new ArrayList<>(2) : removes).add(KEYS[i]);
                } else {
                    (puts == null ? puts = new HashMap<>(8) : puts).put(KEYS[i], values[i]);
                }
            }
        }
        apply(puts, removes);
        return previous;
    }

    /** Puts back what {@link #set} changed: each key's value before it (null: absent); null: nothing changed. */
    private static void restore(Map<String, String> previous) {
        if (previous == null) {
            return;
        }
        Map<String, String> puts = null;
        List<String> removes = null;
        for (Map.Entry<String, String> e : previous.entrySet()) {
            if (e.getValue() == null) {
                (removes == null ? removes = new ArrayList<>(KEYS.length) : removes).add(e.getKey());
            } else {
                (puts == null ? puts = new HashMap<>(8) : puts).put(e.getKey(), e.getValue());
            }
        }
        apply(puts, removes);
    }

    private static void apply(Map<String, String> puts, List<String> removes) {
        if (puts != null) {
            ThreadContext.putAll(puts);
        }
        if (removes != null) {
            ThreadContext.removeAll(removes);
        }
    }
}
