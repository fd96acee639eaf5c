package attest.relay;

import attest.evidence.Outbox;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Marks the claimed outbox rows published, after Kafka acknowledged every one of them, and ends the claim. */
public class MarkOutboxPublishedProcessor implements Processor {

    @Override
    public void process(Exchange exchange) {
        Outbox.Claim claim = exchange.getProperty(ClaimOutboxBatchProcessor.CLAIM, Outbox.Claim.class);
        if (claim != null) {
            claim.published();
        }
    }
}
