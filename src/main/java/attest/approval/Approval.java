package attest.approval;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A held call, as stored in {@code approval_request}: the claim-check ticket. It holds everything needed to
 * execute the call later (the request without the caller's credentials, the identity, the matched rule)
 * and the SHA-256 digest that the approval is bound to. {@code requesterEmail} is the requester's verified email
 * (normalized; null when their token carried none), {@code requesterActors} the actors behind their token (its
 * {@code act} chain and {@code impersonator}; empty for none, and for calls held before V35): see
 * {@link ApprovalAccess} for who is the requester.
 */
public record Approval(UUID id, UUID evidenceId, String requestId, String state, String requesterSubject,
                       String requesterUsername, String identityJson, String upstream, String targetPath,
                       String method, String requestUri, String requestHeaders, byte[] requestBody,
                       String requestSha256, String factsJson, String ruleId, String reason, String approverRole,
                       String approverGroup, int approvalsRequired, String preview, Instant createdAt,
                       Instant expiresAt, Instant decidedAt, Instant executedAt, String flagged,
                       Integer resultStatus, List<Vote> votes, String requesterEmail,
                       List<attest.identity.Identity.Actor> requesterActors) {
    public static final String PENDING = "pending";
    public static final String APPROVED = "approved";
    public static final String DENIED = "denied";
    public static final String EXPIRED = "expired";
    public static final String CANCELLED = "cancelled";
    public static final String EXECUTING = "executing";
    public static final String EXECUTED = "executed";
    public static final String FAILED = "failed";

    public Approval {
        votes = votes == null ? List.of() : votes;
        requesterActors = requesterActors == null ? List.of() : List.copyOf(requesterActors);
    }

    /** A held call whose requester's token carried no verified email. */
    public Approval(UUID id, UUID evidenceId, String requestId, String state, String requesterSubject,
                    String requesterUsername, String identityJson, String upstream, String targetPath,
                    String method, String requestUri, String requestHeaders, byte[] requestBody,
                    String requestSha256, String factsJson, String ruleId, String reason, String approverRole,
                    String approverGroup, int approvalsRequired, String preview, Instant createdAt,
                    Instant expiresAt, Instant decidedAt, Instant executedAt, String flagged,
                    Integer resultStatus, List<Vote> votes) {
        this(id, evidenceId, requestId, state, requesterSubject, requesterUsername, identityJson, upstream, targetPath,
                method, requestUri, requestHeaders, requestBody, requestSha256, factsJson, ruleId, reason,
                approverRole, approverGroup, approvalsRequired, preview, createdAt, expiresAt, decidedAt, executedAt,
                flagged, resultStatus, votes, null, List.of());
    }

    /**
     * One approver's decision; {@code approverEmail} is their verified email (normalized), if their token had one,
     * {@code approverActors} the actors behind their token (empty for none, and for decisions made before V35).
     */
    public record Vote(String approverSubject, String approverUsername, String decision, String comment,
                       String channel, Instant authTime, Instant decidedAt, String approverEmail,
                       List<attest.identity.Identity.Actor> approverActors) {
        public Vote {
            approverActors = approverActors == null ? List.of() : List.copyOf(approverActors);
        }

        public Vote(String approverSubject, String approverUsername, String decision, String comment,
                    String channel, Instant authTime, Instant decidedAt, String approverEmail) {
            this(approverSubject, approverUsername, decision, comment, channel, authTime, decidedAt, approverEmail,
                    List.of());
        }

        public Vote(String approverSubject, String approverUsername, String decision, String comment,
                    String channel, Instant authTime, Instant decidedAt) {
            this(approverSubject, approverUsername, decision, comment, channel, authTime, decidedAt, null);
        }
    }

    /** Whether the call has reached a state that the caller can be told about (no longer waiting). */
    public boolean settled() {
        return switch (state) {
            case DENIED, EXPIRED, CANCELLED, EXECUTED, FAILED -> true;
            default -> false;
        };
    }

    /** Whether the call still waits for approvers and its time to live has not run out. */
    public boolean pendingAt(Instant now) {
        return PENDING.equals(state) && now.isBefore(expiresAt);
    }

    public long approvals() {
        return votes.stream().filter(v -> "approve".equals(v.decision())).count();
    }
}
