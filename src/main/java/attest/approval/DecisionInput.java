package attest.approval;

/**
 * An approver's decision as submitted.
 *
 * @param decision {@code approve} or {@code deny}
 * @param comment  free text, recorded (may be null)
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
    }
}
