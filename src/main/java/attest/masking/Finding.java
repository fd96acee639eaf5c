package attest.masking;

/**
 * One detected entity: its type, its span (end exclusive), its score and the detector that found it; {@code acrossBreak}
 * when it was found across a soft line break (see {@link SoftBreaks}): its line break is kept in the masked text.
 */
public record Finding(String entityType, int start, int end, double score, String detector, boolean acrossBreak) {
    public Finding(String entityType, int start, int end, double score, String detector) {
        this(entityType, start, end, score, detector, false);
    }

    boolean overlaps(Finding o) {
        return start < o.end && o.start < end;
    }
}
