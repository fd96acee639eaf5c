package attest.policy;

/**
 * What the policy may read from a call's body.
 *
 * @param model      the JSON body's {@code model}, or null
 * @param maxTokens  the largest of {@code max_tokens}, {@code max_completion_tokens} and
 *                   {@code max_output_tokens}, or null when the body names none (or after the policy's ceiling
 *                   was written into the body: that ceiling)
 * @param stream     whether the caller asked for a streamed answer
 * @param bodySize   the body's size in bytes
 * @param jsonObject whether the body is a JSON object (the only shape a token limit can be written into)
 */
public record RequestFacts(String model, Long maxTokens, boolean stream, long bodySize, boolean jsonObject) {
    public RequestFacts(String model, Long maxTokens, boolean stream, long bodySize) {
        this(model, maxTokens, stream, bodySize, bodySize > 0);
    }

    public RequestFacts withMaxTokens(long limit) {
        return new RequestFacts(model, limit, stream, bodySize, jsonObject);
    }
}
