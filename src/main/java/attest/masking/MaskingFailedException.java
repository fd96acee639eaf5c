package attest.masking;

/** Masking could not be done (a detector failed or ran out of time): nothing unmasked may go out. */
public class MaskingFailedException extends RuntimeException {
    public MaskingFailedException(String message) {
        super(message, null, false, false);
    }
}
