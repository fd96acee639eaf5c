package attest.usage;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Removes usage counters whose window ended over a day ago; sets the count as the body. */
public class PruneUsageCountersProcessor implements Processor {
    private final UsageCounters counters;

    public PruneUsageCountersProcessor(UsageCounters counters) {
        this.counters = counters;
    }

    @Override
    public void process(Exchange exchange) {
        exchange.getMessage().setBody(counters.prune());
    }
}
