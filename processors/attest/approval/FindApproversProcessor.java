package attest.approval;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestApprovers}: the people to notify of the held call, never its requester (their subject, or another
 * account with their verified email).
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
                .filter(p -> !p.subject().equals(a.requesterSubject()) && !(a.requesterEmail() != null
                        && a.requesterEmail().equals(attest.identity.Identity.normalizeEmail(p.email())))).toList());
    }
}
