package attest.approval;

import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;

/**
 * For {@code enrich} steps that hand a signal to the approval aggregator: keeps the original message, and
 * fails the original exchange if the signal could not be stored (fail closed).
 */
public class KeepOriginalStrategy implements AggregationStrategy {
    @Override
    public Exchange aggregate(Exchange original, Exchange signal) {
        if (signal != null && signal.getException() != null) {
            original.setException(signal.getException());
        }
        return original;
    }
}
