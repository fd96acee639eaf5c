package attest.usage;

import attest.Exchanges;
import attest.ingress.UpstreamTarget;
import attest.policy.RequestFacts;
import attest.upstream.UpstreamResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.List;
import java.util.concurrent.Executor;

/**
 * Settles the call's usage with the {@link UsageLedger} when it is known: at once for a buffered answer, at the
 * stream's end for a stream (a stream that crosses its budget is finished, and the calls after its charge are
 * refused). Changes nothing on the exchange. A stream's usage is settled on {@code settling}, off the thread that ended
 * it, so a call admitted between the stream's end and its charge (normally milliseconds) is not refused for it.
 */
public class SettleUsageProcessor implements Processor {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SettleUsageProcessor.class);
    private final UsageLedger ledger;
    private final Executor settling;

    /**
     * @param settling where a stream's usage is settled when it ends: a stream ends on an event loop (the upstream
     *                 client's, the caller's, or the idle watch's thread), and a charge to the budgets is a database
     *                 transaction, which must not hold a loop that carries other calls' streams
     */
    public SettleUsageProcessor(UsageLedger ledger, Executor settling) {
        this.ledger = ledger;
        this.settling = settling;
    }

    /** Whether settling this call charges budgets in the store on the calling thread (a buffered answer with limits). */
    public static boolean chargesInPlace(Exchange exchange) {
        UpstreamResponse up = exchange.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class);
        List<?> limits = exchange.getProperty(Exchanges.LIMITS, List.class);
        return up != null && !up.streaming() && exchange.getProperty(Exchanges.USAGE, UsageMeter.class) != null
                && limits != null && !limits.isEmpty();
    }

    @Override
    @SuppressWarnings("unchecked")
    public void process(Exchange exchange) {
        UsageMeter meter = exchange.getProperty(Exchanges.USAGE, UsageMeter.class);
        UpstreamResponse up = exchange.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class);
        if (meter == null || up == null) {
            return;
        }
        List<Limit> limits = exchange.getProperty(Exchanges.LIMITS, List.class);
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        RequestFacts facts = exchange.getProperty(Exchanges.FACTS, RequestFacts.class);
        String upstream = target == null ? null : target.upstream().name();
        String model = facts == null ? null : facts.model();
        if (up.streaming()) {
            up.stream().ended().thenAcceptAsync(end -> ledger.settle(limits, meter, upstream, model,
                    end.outcome().wire()), settling).whenComplete((v, e) -> {
                        if (e != null) { // a failed charge is logged by the ledger; this is anything else
                            LOG.warn("usage of a stream on {} could not be settled: {}", upstream,
                                    (e.getCause() == null ? e : e.getCause()).getClass().getSimpleName());
                        }
                    });
            return;
        }
        String outcome = up.status() < 400 ? "completed" : up.status() >= 500 ? "upstream_error" : "rejected";
        ledger.settle(limits, meter, upstream, model, outcome);
    }
}
