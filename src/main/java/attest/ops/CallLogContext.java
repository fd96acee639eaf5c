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
import org.apache.logging.log4j.ThreadContext;

/**
 * Puts the call's request id, evidence record id, upstream and outcome into the logging context (log4j
 * ThreadContext, which the JSON layout writes into every line) while a step of the call runs, and takes them
 * out again when the step returns. It is set around each step of an exchange, on whatever thread runs that
 * step, so it follows a call across threads and never leaks onto the next call a pooled thread serves.
 * Values not known yet read {@code none} (record, upstream) and {@code pending} (outcome).
 */
public final class CallLogContext implements InterceptStrategy {
    public static final String REQUEST_ID = "http.request.id";
    public static final String RECORD_ID = "attest.record_id";
    public static final String UPSTREAM = "attest.upstream";
    public static final String OUTCOME = "attest.outcome";
    static final String[] KEYS = {REQUEST_ID, RECORD_ID, UPSTREAM, OUTCOME};

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
                String[] previous = set(values);
                try {
                    return processor.process(exchange, callback);
                } finally {
                    restore(previous);
                }
            }
        };
    }

    /** The four values for this exchange, or null when it is not a call (a timer, a probe). */
    static String[] values(Exchange exchange) {
        String requestId = exchange.getProperty(Exchanges.REQUEST_ID, String.class);
        if (requestId == null) {
            return null;
        }
        EvidenceRecord r = exchange.getProperty(Exchanges.EVIDENCE, EvidenceRecord.class);
        UpstreamTarget t = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        GatewayException error = exchange.getProperty(Exchanges.ERROR, GatewayException.class);
        String outcome = r != null && r.getOutcome() != null ? r.getOutcome() : error != null ? error.outcome() : null;
        return new String[]{requestId, r == null || r.getId() == null ? "none" : r.getId().toString(),
                t == null ? (r != null && r.getUpstream() != null ? r.getUpstream() : "none") : t.upstream().name(),
                outcome == null ? "pending" : outcome};
    }

    /** The values of a record whose exchange is gone (a stream's end, committed later on another thread). */
    public static String[] values(EvidenceRecord r) {
        return new String[]{r.getRequestId(), r.getId() == null ? "none" : r.getId().toString(),
                r.getUpstream() == null ? "none" : r.getUpstream(), r.getOutcome() == null ? "pending" : r.getOutcome()};
    }

    /** Runs a piece of a call's work (a log line) with the call's context, restoring what was there. */
    public static void with(String[] values, Runnable work) {
        String[] previous = set(values);
        try {
            work.run();
        } finally {
            restore(previous);
        }
    }

    /** Sets the values that differ from what is there; returns what to restore (null entries: leave as is). */
    private static String[] set(String[] values) {
        String[] previous = null;
        for (int i = 0; i < KEYS.length; i++) {
            String now = ThreadContext.get(KEYS[i]);
            if (!values[i].equals(now)) {
                if (previous == null) {
                    previous = new String[KEYS.length * 2];
                }
                previous[i * 2] = "changed";
                previous[i * 2 + 1] = now;
                ThreadContext.put(KEYS[i], values[i]);
            }
        }
        return previous;
    }

    private static void restore(String[] previous) {
        if (previous == null) {
            return;
        }
        for (int i = 0; i < KEYS.length; i++) {
            if (previous[i * 2] != null) {
                if (previous[i * 2 + 1] == null) {
                    ThreadContext.remove(KEYS[i]);
                } else {
                    ThreadContext.put(KEYS[i], previous[i * 2 + 1]);
                }
            }
        }
    }
}
