package attest.policy;

/** What the policy router does with a call. */
public enum Verdict {
    ALLOW, DENY, REVIEW
}
