package attest.approval;

import attest.identity.Identity;

/** Who may decide a held call: a holder of the rule's approver role or group, and never the requester. */
public final class ApprovalAccess {
    private ApprovalAccess() {
    }

    public static boolean mayDecide(Approval a, Identity who) {
        if (who == null || who.subject().equals(a.requesterSubject())) {
            return false;
        }
        boolean byRole = a.approverRole() != null && who.hasRole(a.approverRole());
        boolean byGroup = a.approverGroup() != null && who.groups().contains(a.approverGroup());
        return byRole || byGroup;
    }
}
