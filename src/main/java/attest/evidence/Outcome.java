package attest.evidence;

/**
 * How a call ended, the one vocabulary of evidence: the record's {@code outcome} column, its chain entry's
 * {@code outcome} and its Kafka event's {@code record.outcome} and {@code event_type} ({@code call.<wire>}) all carry
 * {@link #wire()}. The data path carries the enum itself before the evidence is written ({@code GatewayException},
 * {@code StreamEnd}); {@link #of} reads a stored word back.
 */
public enum Outcome {
    COMPLETED("completed"),
    DENIED("denied"),
    UNAUTHENTICATED("unauthenticated"),
    UPSTREAM_ERROR("upstream_error"),
    TIMEOUT("timeout"),
    CLIENT_ABORTED("client_aborted"),
    /** Masking could not be done: the answer was withheld (502) or the stream cut. */
    MASKING_FAILED("masking_failed"),
    /** A masking block rule refused the answer. */
    BLOCKED("blocked"),
    /** The gateway gave the call up: it was shutting down (drain), or it died (closed at the next start). */
    ABORTED("aborted"),
    /** A held call that its requester (or an administrator) cancelled before any approver decided. */
    CANCELLED("cancelled"),
    /** A held call that no approver decided in time: never executed. */
    EXPIRED("expired"),
    /** Not terminal in the store: the store itself was down, so nothing could be written (never stored). */
    EVIDENCE_UNAVAILABLE("evidence_unavailable");

    private static final Outcome[] ALL = values();
    private final String wire;

    Outcome(String wire) {
        this.wire = wire;
    }

    /** The word stored and published (lower case, as every record and event has it). */
    public String wire() {
        return wire;
    }

    /**
     * The outcome of a stored or carried word; null for null.
     *
     * @throws IllegalArgumentException for a word that is no outcome
     */
    public static Outcome of(String wire) {
        if (wire == null) {
            return null;
        }
        for (Outcome o : ALL) {
            if (o.wire.equals(wire)) {
                return o;
            }
        }
        throw new IllegalArgumentException("not an evidence outcome");
    }

    @Override
    public String toString() {
        return wire;
    }
}
