package attest.approval;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Applies an approver's decision ({@code attestApprovalDecision}) to the held call, once: sets
 * {@code attestApprovalDecided} and the aggregator's signal. Refusals: a service account's token 403, the requester's
 * own call (by subject, username or verified email, or through an actor: {@link ApprovalAccess}; the JSON error's
 * {@code reason} says which) 403, a token that names an actor (an impersonated approver, or one acted for: decisions
 * are made in person) 403 {@code impersonated_approver}, not an approver of its rule 403, a repeat
 * (also under another account with the same verified email) or an already decided call 409, an expired call 410.
 */
public class DecideApprovalProcessor implements Processor {
    private final ApprovalStore store;

    public DecideApprovalProcessor(ApprovalStore store) {
        this.store = store;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        DecisionInput input = exchange.getProperty(Exchanges.APPROVAL_DECISION, DecisionInput.class);
        ApprovalStore.Decided decided = store.decideWithReason(a.id(), who, input.decision(), input.comment(),
                input.channel());
        String state = switch (decided.result()) {
            case RECORDED -> Approval.PENDING;
            case APPROVED -> Approval.APPROVED;
            case DENIED -> Approval.DENIED;
            case SELF -> throw new GatewayException(403, "self_approval", "a requester cannot decide their own call, "
                    + "under any of their accounts or through anyone acting for them", Outcome.DENIED,
                    java.util.Map.of(), java.util.Map.of("reason", decided.reason()));
            case SERVICE_ACCOUNT -> throw new GatewayException(403, "service_account", "approvals are decided by "
                    + "people: a service account's token cannot decide a call", Outcome.DENIED);
            case IMPERSONATED -> throw new GatewayException(403, ApprovalAccess.IMPERSONATED_APPROVER, "a held call "
                    + "is decided by its approver in person: a token that names someone acting for, or impersonating, "
                    + "the approver cannot decide it; sign in as yourself", Outcome.DENIED, java.util.Map.of(),
                    java.util.Map.of("reason", ApprovalAccess.IMPERSONATED_APPROVER));
            case NOT_APPROVER -> throw new GatewayException(403, "not_an_approver",
                    "you are not an approver for this call's rule", Outcome.DENIED);
            case REPEATED -> throw new GatewayException(409, "already_decided", "you already decided this call",
                    Outcome.DENIED);
            case ALREADY_DECIDED -> throw new GatewayException(409, "already_decided", "this call is already "
                    + a.state(), Outcome.DENIED);
            case EXPIRED -> throw new GatewayException(410, "approval_expired", "this call expired", Outcome.DENIED);
            case NOT_FOUND -> throw new GatewayException(404, "not_found", "no such held call", Outcome.DENIED);
        };
        exchange.setProperty(Exchanges.APPROVAL_DECIDED, state);
        exchange.setProperty(Exchanges.APPROVAL_SIGNAL, new ApprovalSignal(a.id(), state, a.expiresAt(),
                who.subject()));
    }
}
