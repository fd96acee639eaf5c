package attest.usage;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.Set;

/**
 * Token usage as an upstream reported it, in either OpenAI shape: Chat Completions / Completions
 * ({@code prompt_tokens}, {@code completion_tokens}, {@code total_tokens}, {@code prompt_tokens_details.cached_tokens},
 * {@code completion_tokens_details.reasoning_tokens}) or the Responses API ({@code input_tokens},
 * {@code output_tokens}, {@code input_tokens_details.cached_tokens}, {@code output_tokens_details.reasoning_tokens}).
 * A field that is absent, not a whole number, negative or past 2^53 is unknown (null); never guessed.
 */
public record TokenUsage(Long prompt, Long completion, Long total, Long cached, Long reasoning) {
    private static final long MAX = 9_007_199_254_740_991L;
    /** The members of an answer's top-level object that {@link #in} reads; {@link #read} builds a tree of these only. */
    private static final Set<String> READ = Set.of("usage", "response", "done", "prompt_eval_count", "eval_count");

    /** The usage in a {@code usage} object, or null when it reports no token count at all. */
    public static TokenUsage of(JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            return null;
        }
        Long prompt = first(count(usage.get("prompt_tokens")), count(usage.get("input_tokens")));
        Long completion = first(count(usage.get("completion_tokens")), count(usage.get("output_tokens")));
        Long total = count(usage.get("total_tokens"));
        if (total == null && prompt != null && completion != null) {
            total = prompt + completion;
        }
        if (prompt == null && completion == null && total == null) {
            return null;
        }
        Long cached = first(count(usage.path("prompt_tokens_details").get("cached_tokens")),
                count(usage.path("input_tokens_details").get("cached_tokens")));
        Long reasoning = first(count(usage.path("completion_tokens_details").get("reasoning_tokens")),
                count(usage.path("output_tokens_details").get("reasoning_tokens")));
        return new TokenUsage(prompt, completion, total, cached, reasoning);
    }

    /**
     * The usage on Ollama's last line (or its whole answer): {@code prompt_eval_count} as the prompt's tokens and
     * {@code eval_count} as the completion's, only on the object that says {@code "done": true}; null otherwise, or
     * when it counts nothing. Ollama reports no cached or reasoning tokens (null, unknown).
     */
    public static TokenUsage ollama(JsonNode root) {
        if (root == null || !root.isObject() || !root.path("done").isBoolean() || !root.path("done").asBoolean()) {
            return null;
        }
        Long prompt = count(root.get("prompt_eval_count"));
        Long completion = count(root.get("eval_count"));
        if (prompt == null && completion == null) {
            return null;
        }
        return new TokenUsage(prompt, completion, prompt != null && completion != null ? prompt + completion : null,
                null, null);
    }

    /**
     * The usage an answer's JSON object reports, in any shape the gateway reads: its {@code usage} (Chat Completions,
     * Completions), its {@code response.usage} (the Responses API), else Ollama's counts ({@link #ollama}).
     */
    public static TokenUsage in(JsonNode root) {
        if (root == null || !root.isObject()) {
            return null;
        }
        TokenUsage u = of(root.get("usage"));
        if (u == null && root.path("response").isObject()) {
            u = of(root.path("response").get("usage"));
        }
        return u != null ? u : ollama(root);
    }

    /**
     * The usage of a whole JSON answer, as {@code in(json.readTree(body))} reads it, without the tree of the whole
     * answer: the top-level object's members that {@link #in} reads are read as trees (the last of a repeated name
     * wins, as in a tree), every other member is skipped token by token (still checked to be well formed). Null when
     * the answer is not a JSON object; an {@link IOException} when it is not well-formed JSON.
     */
    public static TokenUsage read(ObjectMapper json, byte[] body) throws IOException {
        try (JsonParser p = json.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            ObjectNode kept = json.createObjectNode();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (READ.contains(name)) {
                    kept.set(name, json.readTree(p));
                } else {
                    p.skipChildren();
                }
            }
            return in(kept);
        }
    }

    /** The tokens a budget counts: the total, else what is known of prompt and completion. */
    public long billable() {
        if (total != null) {
            return total;
        }
        return (prompt == null ? 0 : prompt) + (completion == null ? 0 : completion);
    }

    private static Long first(Long a, Long b) {
        return a != null ? a : b;
    }

    private static Long count(JsonNode n) {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
            return null;
        }
        long v = n.longValue();
        return v < 0 || v > MAX ? null : v;
    }
}
