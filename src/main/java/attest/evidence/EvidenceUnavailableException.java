package attest.evidence;

/** The evidence could not be committed; the call must not go on (fail closed). */
public class EvidenceUnavailableException extends RuntimeException {
    public EvidenceUnavailableException(String message) {
        super(message, null, false, false);
    }
}
