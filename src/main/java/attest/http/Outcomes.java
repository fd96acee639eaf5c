package attest.http;

/** The terminal outcomes of a call, as written in the evidence record. */
public final class Outcomes {
    public static final String COMPLETED = "completed";
    public static final String DENIED = "denied";
    public static final String UNAUTHENTICATED = "unauthenticated";
    public static final String UPSTREAM_ERROR = "upstream_error";
    public static final String TIMEOUT = "timeout";
    public static final String CLIENT_ABORTED = "client_aborted";
    /** Masking could not be done: the answer was withheld (502) or the stream cut. */
    public static final String MASKING_FAILED = "masking_failed";
    /** A masking block rule refused the answer. */
    public static final String BLOCKED = "blocked";
    /** The gateway gave the call up: it was shutting down (drain), or it died (closed at the next start). */
    public static final String ABORTED = "aborted";
    /** A held call that its requester (or an administrator) cancelled before any approver decided. */
    public static final String CANCELLED = "cancelled";
    /** A held call that no approver decided in time: never executed. */
    public static final String EXPIRED = "expired";
    /** Not terminal in the store: the store itself was down, so nothing could be written. */
    public static final String EVIDENCE_UNAVAILABLE = "evidence_unavailable";

    private Outcomes() {
    }
}
