package attest.masking;

/** What happens to a found entity. Each action replaces the whole entity. */
public enum Action {
    /** Replace with {@code [TYPE]}. */
    REDACT,
    /** Replace with {@code [TYPE:<16 hex of HMAC-SHA256>]}: stable for the same value and key, so analysts can join. */
    HASH,
    /** Keep the last four characters that are letters or digits: {@code [TYPE ****1234]}. */
    PARTIAL,
    /** Refuse the whole response. */
    BLOCK
}
