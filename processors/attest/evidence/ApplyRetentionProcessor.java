package attest.evidence;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Applies the retention rules once (payloads, data keys, published outbox rows); sets the body to what it did. */
public class ApplyRetentionProcessor implements Processor {
    private final Retention retention;

    public ApplyRetentionProcessor(Retention retention) {
        this.retention = retention;
    }

    @Override
    public void process(Exchange exchange) {
        exchange.getMessage().setBody(retention.run());
    }
}
