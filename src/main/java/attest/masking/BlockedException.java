package attest.masking;

/** A {@code block} rule matched: the whole response is refused. */
public class BlockedException extends RuntimeException {
    private final String entityType;

    public BlockedException(String entityType) {
        super("response blocked: it contains " + entityType, null, false, false);
        this.entityType = entityType;
    }

    public String entityType() {
        return entityType;
    }
}
