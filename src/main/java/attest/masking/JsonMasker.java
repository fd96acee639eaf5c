package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.util.Iterator;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Masks every string value of a JSON document and keeps it valid JSON. The parser decodes {@code \\u}
 * escapes, so an escaped entity is found like any other. This covers the OpenAI shapes (message content,
 * completion text, tool-call arguments), TensorFlow Serving {@code predictions}, KServe v2 / Triton
 * {@code outputs[].data} (BYTES tensors) and any other JSON. Redactions are located by JSON pointer.
 */
public final class JsonMasker {
    static final ObjectMapper JSON = new ObjectMapper();

    private JsonMasker() {
    }

    /** Masks a JSON body; a body that is not JSON is masked as text. */
    public static byte[] mask(byte[] body, Masker masker, Consumer<Redaction> report) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (java.io.IOException e) {
            root = null;
        }
        if (root == null) {
            return masker.mask(new String(body, java.nio.charset.StandardCharsets.UTF_8), null, report)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        JsonNode masked = walk(root, "", masker, report);
        try {
            return JSON.writeValueAsBytes(masked);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write masked JSON", e);
        }
    }

    static JsonNode walk(JsonNode node, String pointer, Masker masker, Consumer<Redaction> report) {
        if (node.isTextual()) {
            String v = node.asText();
            String m = masker.mask(v, pointer.isEmpty() ? "/" : pointer, report);
            return m.equals(v) ? node : TextNode.valueOf(m);
        }
        if (node instanceof ObjectNode obj) {
            Iterator<Map.Entry<String, JsonNode>> it = obj.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode replaced = walk(e.getValue(), pointer + "/" + escape(e.getKey()), masker, report);
                if (replaced != e.getValue()) {
                    e.setValue(replaced);
                }
            }
            return obj;
        }
        if (node instanceof ArrayNode arr) {
            for (int i = 0; i < arr.size(); i++) {
                JsonNode replaced = walk(arr.get(i), pointer + "/" + i, masker, report);
                if (replaced != arr.get(i)) {
                    arr.set(i, replaced);
                }
            }
        }
        return node;
    }

    static String escape(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }
}
