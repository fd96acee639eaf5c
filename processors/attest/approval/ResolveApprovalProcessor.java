package attest.approval;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.UUID;

/**
 * For a completed aggregation (a decision, a cancel, or the time to live running out): reads the held call
 * into {@code attestApproval} and sets header {@code attestApprovalResolution}: {@code execute} (approved),
 * {@code close} (denied, cancelled, or expired: still pending when the timeout fired), or {@code done}
 * (already executed or closed, for example by another replica).
 */
public class ResolveApprovalProcessor implements Processor {
    public static final String RESOLUTION = "attestApprovalResolution";

    private final ApprovalStore store;

    public ResolveApprovalProcessor(ApprovalStore store) {
        this.store = store;
    }

    @Override
    public void process(Exchange exchange) {
        UUID id = UUID.fromString(exchange.getMessage().getHeader(ApprovalTallyStrategy.APPROVAL_ID, String.class));
        Approval a = store.find(id).orElseThrow(() -> new IllegalStateException("held call not found"));
        exchange.setProperty(Exchanges.APPROVAL, a);
        String timedOut = exchange.getProperty(Exchange.AGGREGATED_COMPLETED_BY, String.class);
        String resolution = switch (a.state()) {
            case Approval.APPROVED, Approval.EXECUTING -> "execute";
            case Approval.DENIED, Approval.CANCELLED -> "close";
            case Approval.PENDING -> "timeout".equals(timedOut) ? "close" : "done";
            default -> "done";
        };
        exchange.getMessage().setHeader(RESOLUTION, resolution);
    }
}
