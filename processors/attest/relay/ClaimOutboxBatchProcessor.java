package attest.relay;

import attest.evidence.Outbox;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.DefaultMessage;

import java.util.ArrayList;
import java.util.List;

/**
 * Sets the body to the next batch of outbox events, as one Kafka message each (key = record id, header
 * {@code attest_event_id}), and the claimed rows in property {@code attestOutboxClaim}.
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
        List<Outbox.Claimed> claimed = outbox.claim(batchSize);
        List<Message> messages = new ArrayList<>(claimed.size());
        for (Outbox.Claimed c : claimed) {
            Message m = new DefaultMessage(exchange.getContext());
            m.setHeader(KafkaConstants.KEY, c.key());
            m.setHeader("attest_event_id", c.eventId().toString());
            m.setBody(c.payload());
            messages.add(m);
        }
        exchange.setProperty(CLAIM, claimed);
        exchange.getMessage().setBody(messages);
    }
}
