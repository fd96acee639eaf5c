package attest.approval;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.UUID;

/**
 * Sets {@code attestApproval} to the held call named by header {@code attestApprovalId}, if the caller may
 * see it: its requester only ({@code requester} mode, the data plane), or a possible approver or the
 * requester ({@code approver} mode, the control plane; a holder of the call's approver role or group, whether or
 * not {@link ApprovalAccess#mayDecide} lets them decide it). For anyone else it does not exist: 404.
 */
public class FindApprovalProcessor implements Processor {
    private final ApprovalStore store;
    private final boolean requesterOnly;

    public FindApprovalProcessor(ApprovalStore store, boolean requesterOnly) {
        this.store = store;
        this.requesterOnly = requesterOnly;
    }

    @Override
    public void process(Exchange exchange) {
        String id = exchange.getMessage().getHeader(ApprovalTallyStrategy.APPROVAL_ID, String.class);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        Approval a = id == null || who == null ? null : store.find(UUID.fromString(id)).orElse(null);
        boolean own = a != null && a.requesterSubject().equals(who.subject());
        // an approver sees the call even where they may not decide it (their own under another account, a service
        // account's token): the decision is then refused with 403, and recorded
        if (a == null || !(own || (!requesterOnly && ApprovalAccess.isApprover(a, who)))) {
            throw new GatewayException(404, "not_found", "no such held call", Outcome.DENIED);
        }
        exchange.setProperty(Exchanges.APPROVAL, a);
    }
}
