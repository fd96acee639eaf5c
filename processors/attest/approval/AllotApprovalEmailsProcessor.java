package attest.approval;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.ArrayList;
import java.util.List;

/**
 * Sets {@code attestApprovers} to the approvers who get this held call's email now, and
 * {@code attestApproversHeldBack} to those past their rate limit, whose digest counts the call instead
 * ({@link ApprovalNotifications}).
 */
public class AllotApprovalEmailsProcessor implements Processor {
    public static final String HELD_BACK = "attestApproversHeldBack";
    private final ApprovalNotifications notifications;

    public AllotApprovalEmailsProcessor(ApprovalNotifications notifications) {
        this.notifications = notifications;
    }

    @Override
    public void process(Exchange exchange) {
        @SuppressWarnings("unchecked")
        List<ApproverDirectory.Approver> all = exchange.getProperty(FindApproversProcessor.APPROVERS, List.class);
        List<ApproverDirectory.Approver> now = new ArrayList<>();
        List<ApproverDirectory.Approver> later = new ArrayList<>();
        for (ApproverDirectory.Approver p : all == null ? List.<ApproverDirectory.Approver>of() : all) {
            (notifications.allot(p) ? now : later).add(p);
        }
        exchange.setProperty(FindApproversProcessor.APPROVERS, List.copyOf(now));
        exchange.setProperty(HELD_BACK, List.copyOf(later));
    }
}
