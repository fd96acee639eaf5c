package attest.masking;

/** One detected entity: its type, its span (end exclusive), its score and the detector that found it. */
public record Finding(String entityType, int start, int end, double score, String detector) {
    boolean overlaps(Finding o) {
        return start < o.end && o.start < end;
    }
}
