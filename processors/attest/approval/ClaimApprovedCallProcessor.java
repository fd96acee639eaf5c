package attest.approval;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.time.Duration;

/**
 * Claims the approved call for execution and sets header {@code attestApprovalClaimed}: exactly one claim
 * succeeds, whatever the number of replicas, repeated decisions or recoveries, so the upstream is called once.
 */
public class ClaimApprovedCallProcessor implements Processor {
    public static final String CLAIMED = "attestApprovalClaimed";

    private final ApprovalStore store;
    private final Duration lease;

    public ClaimApprovedCallProcessor(ApprovalStore store, Duration lease) {
        this.store = store;
        this.lease = lease;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        exchange.getMessage().setHeader(CLAIMED, store.claim(a.id(), lease));
    }
}
