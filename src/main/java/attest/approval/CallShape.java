package attest.approval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * What an approver needs to know about a held call besides its prompt: the model, the generation limit
 * ({@code max_tokens}, {@code max_completion_tokens} or the Responses API's {@code max_output_tokens}; absent
 * means the policy's ceiling), whether it streams, the names of the tools it offers the model, whether it asks
 * for log probabilities, and the upstream. Read from the held request's body; values are the caller's, so every
 * view escapes them, and long ones are cut.
 */
public record CallShape(String upstream, String model, Long maxTokens, boolean stream, List<String> tools,
                        boolean logprobs, Integer topLogprobs) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_TOOLS = 50;
    private static final int MAX_TEXT = 200;
    /** How much of a name is masked at the most, and how much before that cut is never shown. */
    private static final int MASK_INPUT = 4096;
    private static final int CUT_GUARD = 256;

    public static CallShape of(String upstream, byte[] body) {
        return of(upstream, body, java.util.function.UnaryOperator.identity());
    }

    /**
     * The shape with every name the caller chose (the model's, each tool's) passed through {@code mask} before it
     * is cut: the approvers' views show only what it returns (the masked text), and no cut splits an entity that
     * masking would have found.
     */
    public static CallShape of(String upstream, byte[] body, java.util.function.UnaryOperator<String> mask) {
        JsonNode n;
        try {
            n = body == null || body.length == 0 ? null : JSON.readTree(body);
        } catch (java.io.IOException | RuntimeException e) {
            n = null;
        }
        if (n == null || !n.isObject()) {
            return new CallShape(upstream, null, null, false, List.of(), false, null);
        }
        Long max = null;
        for (String f : List.of("max_tokens", "max_completion_tokens", "max_output_tokens")) {
            if (n.path(f).isIntegralNumber()) {
                max = n.path(f).asLong();
                break;
            }
        }
        List<String> tools = new ArrayList<>();
        for (JsonNode t : n.path("tools")) {
            if (tools.size() == MAX_TOOLS) {
                tools.add("[...]");
                break;
            }
            String name = t.path("function").path("name").isTextual() ? t.path("function").path("name").asText()
                    : t.path("name").isTextual() ? t.path("name").asText() : t.path("type").asText("?");
            tools.add(maskedCut(name, mask));
        }
        for (JsonNode f : n.path("functions")) { // the legacy spelling
            if (tools.size() <= MAX_TOOLS) {
                tools.add(maskedCut(f.path("name").asText("?"), mask));
            }
        }
        boolean logprobs = n.path("logprobs").asBoolean(false) || n.path("logprobs").isIntegralNumber()
                || n.path("top_logprobs").isIntegralNumber();
        Integer top = null;
        if (n.path("top_logprobs").isIntegralNumber()) {
            top = n.path("top_logprobs").asInt();
        } else if (n.path("logprobs").isIntegralNumber()) {
            top = n.path("logprobs").asInt();
        }
        String model = n.path("model").isTextual() ? maskedCut(n.path("model").asText(), mask) : null;
        return new CallShape(upstream, model, max, n.path("stream").asBoolean(false), List.copyOf(tools), logprobs,
                top);
    }

    /**
     * A name masked, then cut to {@link #MAX_TEXT}. Only its first {@link #MASK_INPUT} characters are masked, so that
     * a requester's megabyte of tool names costs each view of the call little; near that cut nothing is kept (an
     * entity split by it would not be found), which matters only when masking shrank the name that much.
     */
    private static String maskedCut(String s, java.util.function.UnaryOperator<String> mask) {
        if (s.length() <= MASK_INPUT) {
            return cut(mask.apply(s));
        }
        String masked = mask.apply(s.substring(0, MASK_INPUT));
        return masked.substring(0, Math.max(0, Math.min(MAX_TEXT, masked.length() - CUT_GUARD))) + "[...]";
    }

    private static String cut(String s) {
        return s.length() > MAX_TEXT ? s.substring(0, MAX_TEXT) + "[...]" : s;
    }

    public ObjectNode json() {
        ObjectNode o = JSON.createObjectNode();
        o.put("upstream", upstream);
        o.put("model", model);
        if (maxTokens == null) {
            o.putNull("max_tokens");
        } else {
            o.put("max_tokens", maxTokens);
        }
        o.put("stream", stream);
        var t = o.putArray("tools");
        tools.forEach(t::add);
        o.put("logprobs", logprobs);
        if (topLogprobs == null) {
            o.putNull("top_logprobs");
        } else {
            o.put("top_logprobs", topLogprobs);
        }
        return o;
    }

    /** The rows of the page and the email: name and (unescaped) value. */
    public List<String[]> rows() {
        return List.of(
                new String[]{"Upstream", upstream},
                new String[]{"Model", model == null ? "(none given)" : model},
                new String[]{"Max tokens", maxTokens == null ? "(not given: the policy's ceiling)" : maxTokens.toString()},
                new String[]{"Stream", stream ? "yes" : "no"},
                new String[]{"Tools", tools.isEmpty() ? "(none)" : String.join(", ", tools)},
                new String[]{"Log probabilities", logprobs ? "yes" + (topLogprobs == null ? "" : " (top " + topLogprobs
                        + ")") : "no"});
    }
}
