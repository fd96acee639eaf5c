package attest.approval;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Writes the summaries of the approvers' self-approval windows that ended (see
 * {@link ApprovalStore#flushSelfRefusals}); sets nothing else.
 */
public class FlushSelfRefusalsProcessor implements Processor {
    private final ApprovalStore store;
    private final int batch;

    public FlushSelfRefusalsProcessor(ApprovalStore store, int batch) {
        this.store = store;
        this.batch = batch;
    }

    @Override
    public void process(Exchange exchange) {
        store.flushSelfRefusals(batch);
    }
}
