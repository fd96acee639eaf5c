package attest.http;

/**
 * The words of {@link attest.evidence.Outcome}, as text: for the errors and stream ends of the data path that carry a
 * call's outcome before its evidence is written ({@code GatewayException}, {@code StreamEnd}). Each is its outcome's
 * {@link attest.evidence.Outcome#wire()}: one vocabulary, the enum's.
 */
public final class Outcomes {
    public static final String COMPLETED = attest.evidence.Outcome.COMPLETED.wire();
    public static final String DENIED = attest.evidence.Outcome.DENIED.wire();
    public static final String UNAUTHENTICATED = attest.evidence.Outcome.UNAUTHENTICATED.wire();
    public static final String UPSTREAM_ERROR = attest.evidence.Outcome.UPSTREAM_ERROR.wire();
    public static final String TIMEOUT = attest.evidence.Outcome.TIMEOUT.wire();
    public static final String CLIENT_ABORTED = attest.evidence.Outcome.CLIENT_ABORTED.wire();
    /** Masking could not be done: the answer was withheld (502) or the stream cut. */
    public static final String MASKING_FAILED = attest.evidence.Outcome.MASKING_FAILED.wire();
    /** A masking block rule refused the answer. */
    public static final String BLOCKED = attest.evidence.Outcome.BLOCKED.wire();
    /** The gateway gave the call up: it was shutting down (drain), or it died (closed at the next start). */
    public static final String ABORTED = attest.evidence.Outcome.ABORTED.wire();
    /** A held call that its requester (or an administrator) cancelled before any approver decided. */
    public static final String CANCELLED = attest.evidence.Outcome.CANCELLED.wire();
    /** A held call that no approver decided in time: never executed. */
    public static final String EXPIRED = attest.evidence.Outcome.EXPIRED.wire();
    /** Not terminal in the store: the store itself was down, so nothing could be written. */
    public static final String EVIDENCE_UNAVAILABLE = attest.evidence.Outcome.EVIDENCE_UNAVAILABLE.wire();

    private Outcomes() {
    }
}
