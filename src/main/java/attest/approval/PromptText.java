package attest.approval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;

/** The prompt text of a request body: chat messages, completion prompt, responses input, or the raw text. */
public final class PromptText {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX = 256 * 1024;

    private PromptText() {
    }

    public static String of(byte[] body, boolean json) {
        if (body == null || body.length == 0) {
            return "";
        }
        if (!json) {
            return new String(body, 0, Math.min(body.length, MAX), java.nio.charset.StandardCharsets.UTF_8);
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode m : root.path("messages")) {
            text(m.path("content"), sb);
        }
        text(root.path("prompt"), sb);
        text(root.path("input"), sb);
        text(root.path("instructions"), sb);
        return sb.length() > MAX ? sb.substring(0, MAX) : sb.toString();
    }

    private static void text(JsonNode n, StringBuilder sb) {
        if (n.isTextual()) {
            sb.append(n.asText()).append('\n');
        } else if (n.isArray()) {
            for (JsonNode part : n) {
                text(part.isObject() ? part.path("text").isMissingNode() ? part.path("content") : part.path("text")
                        : part, sb);
            }
        } else if (n.isObject()) {
            text(n.path("text"), sb);
        }
    }
}
