package attest.approval;

import attest.identity.Identity;

/**
 * Who may decide a held call: a person (never a service account's token) who holds the rule's approver role or
 * group, and who is not the requester: neither their subject nor, where both tokens carry one, their verified email.
 */
public final class ApprovalAccess {
    private ApprovalAccess() {
    }

    /** Whether {@code who} holds the call's approver role or group (what lets them see it; not that they may decide). */
    public static boolean isApprover(Approval a, Identity who) {
        if (who == null) {
            return false;
        }
        boolean byRole = a.approverRole() != null && who.hasRole(a.approverRole());
        boolean byGroup = a.approverGroup() != null && who.groups().contains(a.approverGroup());
        return byRole || byGroup;
    }

    /** Whether {@code who} is the call's requester: the same subject, or the same verified email. */
    public static boolean isRequester(Approval a, Identity who) {
        return who != null && (who.subject().equals(a.requesterSubject()) || who.sameVerifiedEmail(a.requesterEmail()));
    }

    /** Whether {@code who} already decided the call: under this subject, or under another with their verified email. */
    public static boolean hasDecided(Approval a, Identity who) {
        return who != null && a.votes().stream().anyMatch(v -> v.approverSubject().equals(who.subject())
                || who.sameVerifiedEmail(v.approverEmail()));
    }

    public static boolean mayDecide(Approval a, Identity who) {
        return who != null && !who.serviceAccount() && !isRequester(a, who) && isApprover(a, who);
    }
}
