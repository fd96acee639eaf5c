package attest.relay;

import attest.evidence.Outbox;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.DefaultMessage;
import org.apache.camel.support.SynchronizationAdapter;

import java.util.ArrayList;
import java.util.List;

/**
 * Sets the body to the next batch of outbox events, as one Kafka message each (key = record id, header
 * {@code attest_event_id}), and the claim (its rows locked until it ends) in property {@code attestOutboxClaim}.
 * Whatever happens to the exchange, a claim still open when it completes is released, so that no lock outlives
 * its relay run.
 */
public class ClaimOutboxBatchProcessor implements Processor {
    public static final String CLAIM = "attestOutboxClaim";
    private final Outbox outbox;
    private final int batchSize;

    public ClaimOutboxBatchProcessor(Outbox outbox, int batchSize) {
        this.outbox = outbox;
        this.batchSize = batchSize;
    }

    @Override
    public void process(Exchange exchange) {
        Outbox.Claim claim = outbox.claim(batchSize);
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                claim.close();
            }
        });
        List<Message> messages = new ArrayList<>(claim.events().size());
        for (Outbox.Claimed c : claim.events()) {
            Message m = new DefaultMessage(exchange.getContext());
            m.setHeader(KafkaConstants.KEY, c.key());
            m.setHeader("attest_event_id", c.eventId().toString());
            m.setBody(c.payload());
            messages.add(m);
        }
        exchange.setProperty(CLAIM, claim);
        exchange.getMessage().setBody(messages);
    }
}
