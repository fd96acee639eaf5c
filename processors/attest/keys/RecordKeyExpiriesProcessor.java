package attest.keys;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Records every key that expired unrecorded (chain entry {@code key.expired}); sets the count as the body. */
public class RecordKeyExpiriesProcessor implements Processor {
    private final KeyStore store;

    public RecordKeyExpiriesProcessor(KeyStore store) {
        this.store = store;
    }

    @Override
    public void process(Exchange exchange) {
        exchange.getMessage().setBody(store.recordExpiries());
    }
}
