package attest.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;

/**
 * The one JSON error shape, compatible with OpenAI clients:
 * {@code {"error": {"type": "attest_error", "code": ..., "message": ..., "rule_id": ..., "request_id": ...}}}.
 */
public final class ErrorBodies {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ErrorBodies() {
    }

    public static byte[] json(String code, String message, String requestId, String ruleId) {
        return json(code, message, requestId, ruleId, java.util.Map.of());
    }

    /** The error shape with more members (such as a refused self-approval's {@code reason}), in key order. */
    public static byte[] json(String code, String message, String requestId, String ruleId,
                              java.util.Map<String, String> fields) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("type", "attest_error");
        e.put("code", code);
        e.put("message", message);
        if (ruleId != null) {
            e.put("rule_id", ruleId);
        }
        if (requestId != null) {
            e.put("request_id", requestId);
        }
        new java.util.TreeMap<>(fields).forEach(e::put);
        return root.toString().getBytes(StandardCharsets.UTF_8);
    }
}
