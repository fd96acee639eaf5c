package attest.policy;

/**
 * What the policy may read from a call's body.
 *
 * @param model     the JSON body's {@code model}, or null
 * @param maxTokens {@code max_tokens} (or {@code max_completion_tokens}), or null
 * @param stream    whether the caller asked for a streamed answer
 * @param bodySize  the body's size in bytes
 */
public record RequestFacts(String model, Long maxTokens, boolean stream, long bodySize) {
}
