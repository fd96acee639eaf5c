package attest.usage;

import attest.Exchanges;
import attest.ingress.UpstreamTarget;
import attest.policy.RequestFacts;
import attest.upstream.UpstreamResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.List;

/**
 * Settles the call's usage with the {@link UsageLedger} when it is known: at once for a buffered answer, at the
 * stream's end for a stream (a stream that crosses its budget is finished, and the next call is refused). Changes
 * nothing on the exchange.
 */
public class SettleUsageProcessor implements Processor {
    private final UsageLedger ledger;

    public SettleUsageProcessor(UsageLedger ledger) {
        this.ledger = ledger;
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
            up.stream().ended().thenAccept(end -> ledger.settle(limits, meter, upstream, model, end.outcome()));
            return;
        }
        String outcome = up.status() < 400 ? "completed" : up.status() >= 500 ? "upstream_error" : "rejected";
        ledger.settle(limits, meter, upstream, model, outcome);
    }
}
