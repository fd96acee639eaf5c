package attest.masking;

/**
 * What was hidden, for the evidence: entity type, action and where (a JSON pointer, or an offset in text).
 * Never the value.
 */
public record Redaction(String entityType, String action, String location, String detector) {
}
