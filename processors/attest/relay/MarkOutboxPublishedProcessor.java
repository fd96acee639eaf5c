package attest.relay;

import attest.evidence.Outbox;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.List;

/** Marks the claimed outbox rows published, after Kafka acknowledged every one of them. */
public class MarkOutboxPublishedProcessor implements Processor {
    private final Outbox outbox;

    public MarkOutboxPublishedProcessor(Outbox outbox) {
        this.outbox = outbox;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void process(Exchange exchange) {
        List<Outbox.Claimed> claimed = exchange.getProperty(ClaimOutboxBatchProcessor.CLAIM, List.class);
        if (claimed != null) {
            outbox.markPublished(claimed);
        }
    }
}
