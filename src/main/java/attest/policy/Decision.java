package attest.policy;

/**
 * The policy's answer for one call.
 *
 * @param verdict           ALLOW, DENY or REVIEW
 * @param ruleId            the rule that matched, or {@code default-deny}
 * @param reason            why, in words safe to show the caller
 * @param status            the HTTP status for a refusal (403, 413 or 429); 0 otherwise
 * @param retryAfterSeconds for 429, when to try again
 */
public record Decision(Verdict verdict, String ruleId, String reason, int status, long retryAfterSeconds) {
    public static final String DEFAULT_DENY = "default-deny";

    public static Decision allow(String ruleId, String reason) {
        return new Decision(Verdict.ALLOW, ruleId, reason, 0, 0);
    }

    public static Decision deny(String ruleId, String reason) {
        return new Decision(Verdict.DENY, ruleId, reason, 403, 0);
    }

    public static Decision review(String ruleId, String reason) {
        return new Decision(Verdict.REVIEW, ruleId, reason, 0, 0);
    }

    /** The verdict's name (the routers use {@link attest.RoutePredicates}). */
    public String verdictName() {
        return verdict.name();
    }
}
