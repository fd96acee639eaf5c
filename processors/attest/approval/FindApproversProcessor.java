package attest.approval;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestApprovers}: the people to notify of the held call, never anyone who could not decide it as its
 * requester ({@link ApprovalAccess}: their subject, username or email under any spelling, or an actor behind the
 * requester's token). A directory's email counts here whether or not it was verified: leaving a mailbox out of a
 * notification is always safe, and the decision itself is checked against the approver's token.
 */
public class FindApproversProcessor implements Processor {
    public static final String APPROVERS = "attestApprovers";
    private final ApproverDirectory directory;

    public FindApproversProcessor(ApproverDirectory directory) {
        this.directory = directory;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        exchange.setProperty(APPROVERS, directory.find(a.approverRole(), a.approverGroup()).stream()
                .filter(p -> !ApprovalAccess.isRequester(a, new attest.identity.Identity(p.subject(), p.username(),
                        attest.identity.Identity.USER, null, java.util.List.of(), java.util.List.of(), null, null, null,
                        p.email()))).toList());
    }
}
