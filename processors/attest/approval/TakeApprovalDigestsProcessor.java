package attest.approval;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets the body to the approval digests that are due (a list of {@link ApprovalNotifications.Digest}), each
 * claimed once whichever replica runs this.
 */
public class TakeApprovalDigestsProcessor implements Processor {
    private final ApprovalNotifications notifications;
    private final int batch;

    public TakeApprovalDigestsProcessor(ApprovalNotifications notifications, int batch) {
        this.notifications = notifications;
        this.batch = batch;
    }

    @Override
    public void process(Exchange exchange) {
        exchange.getMessage().setBody(notifications.takeDue(batch));
    }
}
