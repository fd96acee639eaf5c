package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Masks a server-sent event stream on its way through. Events are re-framed whole. For OpenAI streams the
 * text of each choice ({@code delta.content}, {@code text}, tool-call {@code arguments}) is one text across
 * events, masked by a {@link StreamingTextMasker}, so an entity split over any number of events is never
 * released in part. Held text is released in the choice's finishing event, or before {@code [DONE]}.
 * Any other data is masked event by event.
 */
public final class SseMasker {
    private final Masker masker;
    private final Consumer<Redaction> report;
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private final Map<String, StreamingTextMasker> texts = new LinkedHashMap<>();
    private final Map<String, ObjectNode> lastEvent = new LinkedHashMap<>();

    public SseMasker(Masker masker, Consumer<Redaction> report) {
        this.masker = masker;
        this.report = report;
    }

    /** Takes raw bytes from the upstream; returns the masked events that are complete. */
    public byte[] push(byte[] bytes) {
        partial.write(bytes, 0, bytes.length);
        byte[] all = partial.toByteArray();
        String text = new String(all, StandardCharsets.UTF_8);
        // only whole events (ended by a blank line) are processed; the rest waits
        int end = lastEventEnd(text);
        if (end < 0) {
            return new byte[0];
        }
        String complete = text.substring(0, end);
        byte[] rest = text.substring(end).getBytes(StandardCharsets.UTF_8);
        partial.reset();
        partial.write(rest, 0, rest.length);
        StringBuilder out = new StringBuilder();
        for (String event : complete.split("\r?\n\r?\n")) {
            if (!event.isEmpty()) {
                out.append(event(event));
            }
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The stream ended normally: a trailing event and any held text are released, masked. */
    public byte[] finish() {
        StringBuilder out = new StringBuilder();
        String rest = partial.toString(StandardCharsets.UTF_8);
        partial.reset();
        if (!rest.isBlank()) {
            out.append(event(rest.strip()));
        }
        out.append(flush());
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The stream broke off: whatever is held (possibly half an entity) is dropped. */
    public void abandon() {
        partial.reset();
        texts.values().forEach(StreamingTextMasker::abandon);
    }

    private static int lastEventEnd(String text) {
        int a = text.lastIndexOf("\n\n");
        int b = text.lastIndexOf("\r\n\r\n");
        if (a < 0 && b < 0) {
            return -1;
        }
        return Math.max(a < 0 ? -1 : a + 2, b < 0 ? -1 : b + 4);
    }

    private String event(String event) {
        StringBuilder data = new StringBuilder();
        StringBuilder other = new StringBuilder();
        for (String line : event.split("\r?\n")) {
            if (line.startsWith("data:")) {
                if (data.length() > 0) {
                    data.append('\n');
                }
                data.append(line.startsWith("data: ") ? line.substring(6) : line.substring(5));
            } else if (!line.isEmpty()) {
                // event:, id:, retry: and comments carry no model text; they pass unchanged
                other.append(masker.mask(line, "sse-field", report)).append('\n');
            }
        }
        if (data.length() == 0) {
            return other.length() == 0 ? "" : other + "\n";
        }
        String payload = data.toString();
        if (payload.trim().equals("[DONE]")) {
            return flush() + other + "data: [DONE]\n\n";
        }
        JsonNode json;
        try {
            json = JsonMasker.JSON.readTree(payload);
        } catch (java.io.IOException e) {
            json = null;
        }
        String masked;
        if (json instanceof ObjectNode obj && obj.path("choices").isArray()) {
            masked = openAiChunk(obj).toString();
        } else if (json != null) {
            masked = JsonMasker.walk(json, "", masker, report).toString();
        } else {
            masked = texts.computeIfAbsent("raw", k -> new StreamingTextMasker(masker, "sse-data", report))
                    .push(payload + "\n");
        }
        StringBuilder out = new StringBuilder(other);
        for (String line : masked.split("\n", -1)) {
            out.append("data: ").append(line).append('\n');
        }
        return out.append('\n').toString();
    }

    private ObjectNode openAiChunk(ObjectNode chunk) {
        for (JsonNode choice : chunk.path("choices")) {
            if (!(choice instanceof ObjectNode c)) {
                continue;
            }
            String index = c.path("index").asText("0");
            boolean finishing = c.hasNonNull("finish_reason");
            if (c.path("delta") instanceof ObjectNode delta) {
                stream(delta, "content", "c" + index, "/choices/" + index + "/delta/content", chunk, finishing);
                JsonNode calls = delta.path("tool_calls");
                for (JsonNode call : calls) {
                    if (call.path("function") instanceof ObjectNode fn) {
                        String k = index + "." + call.path("index").asText("0");
                        stream(fn, "arguments", "a" + k, "/choices/" + index + "/delta/tool_calls/"
                                + call.path("index").asText("0") + "/function/arguments", chunk, finishing);
                    }
                }
            }
            stream(c, "text", "t" + index, "/choices/" + index + "/text", chunk, finishing);
            if (c.path("message") instanceof ObjectNode message) {
                c.set("message", JsonMasker.walk(message, "/choices/" + index + "/message", masker, report));
            }
        }
        return chunk;
    }

    private void stream(ObjectNode holder, String field, String key, String location, ObjectNode chunk,
                        boolean finishing) {
        JsonNode v = holder.get(field);
        StreamingTextMasker m = texts.get(key);
        if (v == null || !v.isTextual()) {
            if (finishing && m != null) {
                String rest = m.finish();
                if (!rest.isEmpty()) {
                    holder.set(field, TextNode.valueOf(rest));
                }
            }
            return;
        }
        if (m == null) {
            m = new StreamingTextMasker(masker, location, report);
            texts.put(key, m);
        }
        String out = m.push(v.asText());
        if (finishing) {
            out += m.finish();
        }
        holder.set(field, TextNode.valueOf(out));
        lastEvent.put(key, chunk.deepCopy());
    }

    /** Releases every held text, as events shaped like the last event of that text. */
    private String flush() {
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, StreamingTextMasker> e : texts.entrySet()) {
            String rest = e.getValue().finish();
            if (rest.isEmpty()) {
                continue;
            }
            if (e.getKey().equals("raw")) {
                out.append("data: ").append(rest.strip()).append("\n\n");
                continue;
            }
            ObjectNode template = lastEvent.get(e.getKey());
            out.append("data: ").append(carrying(template, e.getKey(), rest)).append("\n\n");
        }
        return out.toString();
    }

    private static String carrying(ObjectNode template, String key, String text) {
        ObjectNode chunk = template == null ? JsonMasker.JSON.createObjectNode() : template.deepCopy();
        String index = key.substring(1).split("\\.")[0];
        var choices = chunk.putArray("choices");
        ObjectNode c = choices.addObject();
        c.put("index", Integer.parseInt(index));
        switch (key.charAt(0)) {
            case 't' -> c.put("text", text);
            case 'a' -> {
                ObjectNode call = c.putObject("delta").putArray("tool_calls").addObject();
                call.put("index", Integer.parseInt(key.substring(1).split("\\.")[1]));
                call.putObject("function").put("arguments", text);
            }
            default -> c.putObject("delta").put("content", text);
        }
        c.putNull("finish_reason");
        return chunk.toString();
    }
}
