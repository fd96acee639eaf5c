package attest.approval;

/**
 * An approver's decision as submitted.
 *
 * @param decision {@code approve} or {@code deny}
 * @param comment  free text, recorded (may be null; at most {@link #MAX_COMMENT} characters, no NUL)
 * @param channel  {@code rest} or {@code page}
 */
public record DecisionInput(String decision, String comment, String channel) {
    public static final int MAX_COMMENT = 2000;

    public DecisionInput {
        if (!"approve".equals(decision) && !"deny".equals(decision)) {
            throw new IllegalArgumentException("decision must be approve or deny");
        }
        if (comment != null && comment.length() > MAX_COMMENT) {
            throw new IllegalArgumentException("comment longer than " + MAX_COMMENT + " characters");
        }
        if (comment != null && comment.indexOf('\0') >= 0) {
            // PostgreSQL refuses a NUL in text: the decision's row would fail as if the store were down (503)
            throw new IllegalArgumentException("comment must not contain a NUL character");
        }
    }
}
