package attest.masking;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Masks a JSON answer as the text a caller reads, and keeps it valid JSON. The parser decodes {@code \\u}
 * escapes, so an escaped entity is found like any other. Redactions are located by JSON pointer.
 * <ul>
 * <li>Every string value is masked (OpenAI content, {@code reasoning_content}, {@code refusal}, tool-call
 * arguments, audio transcripts, annotations; TensorFlow Serving {@code predictions}; KServe v2
 * {@code outputs[].data}; any field of any JSON, {@code x_*} included).</li>
 * <li>An array of parts that carry {@code text} (chat content parts, Responses API {@code output[].content})
 * is one text: an entity split over parts is found and every part that carries a piece of it is masked.</li>
 * <li>{@code logprobs} give the answer back token by token and cannot be masked in place: when any entity
 * touches the tokens (joined, or as bytes, or an alternative in {@code top_logprobs}), the whole field is
 * set to null and reported with the action {@code redact_field}. A block rule refuses the answer.</li>
 * </ul>
 * A body with no finding is returned as it came, byte for byte. A body of several JSON values (NDJSON) is
 * masked line by line as one stream ({@link NdjsonMasker}); a body that is not JSON is masked as text
 * ({@link #maskText}).
 */
public final class JsonMasker {
    /**
     * Refuses a repeated member name: a tree keeps only the last value of a name, so an answer such as
     * {@code {"note":"4111 1111 1111 1111","note":"x"}} would scan clean as a tree and go out as received, the
     * first value unmasked. Such a body or event is not JSON to the masker and is masked as text instead.
     */
    static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final com.fasterxml.jackson.databind.ObjectReader STRICT = JSON.readerFor(JsonNode.class)
            .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** The action reported when a whole field is redacted because a finding could not be mapped onto it. */
    public static final String REDACT_FIELD = "redact_field";

    private JsonMasker() {
    }

    /** Masks a JSON body (one value, or several: NDJSON); a body that is not JSON is masked as text. */
    public static byte[] mask(byte[] body, Masker masker, Consumer<Redaction> report) {
        List<JsonNode> values = parseAll(body);
        if (values == null) {
            return maskText(body, masker, report);
        }
        if (values.size() != 1) {
            return NdjsonMasker.maskAll(body, masker, report);
        }
        int[] found = {0};
        JsonNode masked = document(values.get(0), "", masker, r -> {
            found[0]++;
            report.accept(r);
        });
        if (found[0] == 0) {
            return body;
        }
        try {
            return JSON.writeValueAsBytes(masked);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write masked JSON", e);
        }
    }

    /** Exactly one JSON value (trailing text is not ignored: it would go out unmasked), or null. */
    static JsonNode strictTree(String text) {
        try {
            JsonNode n = STRICT.readValue(text);
            return n == null || n.isMissingNode() ? null : n;
        } catch (IOException e) {
            return null;
        }
    }

    /** Reads any depth and length of JSON as tokens (no tree, so no recursion): only to tell JSON from other text. */
    private static final com.fasterxml.jackson.core.JsonFactory UNBOUNDED = com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE).maxNameLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE).maxNumberLength(Integer.MAX_VALUE).build())
            .build();

    /**
     * Whether the text is exactly one well-formed JSON value, however deep or long (beyond what {@link #strictTree}
     * reads): such data is JSON that the masker cannot read as a tree, not a chunk cut short.
     */
    static boolean wellFormed(String text) {
        try (JsonParser p = UNBOUNDED.createParser(text)) {
            if (p.nextToken() == null) {
                return false;
            }
            p.skipChildren();
            return p.nextToken() == null;
        } catch (IOException e) {
            return false;
        }
    }

    /** An event's data as a JSON object or array; a bare string or number is text like any other data. */
    static JsonNode strictEvent(String text) {
        JsonNode n = strictTree(text);
        return n != null && n.isContainerNode() ? n : null;
    }

    /** Every JSON value in the body, or null when it is not (only) JSON. */
    static List<JsonNode> parseAll(byte[] body) {
        List<JsonNode> values = new ArrayList<>();
        try (JsonParser p = JSON.getFactory().createParser(body)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t == JsonToken.NOT_AVAILABLE) {
                    return null;
                }
                values.add(JSON.readTree(p));
            }
        } catch (IOException e) {
            return null;
        }
        return values.isEmpty() ? null : values;
    }

    /**
     * Masks text that is not JSON. Valid UTF-8 is masked as such. Anything else is read twice: first as a UTF-8
     * reader shows it (java.net.http, browsers: each byte that is not UTF-8 one replacement character, the rest
     * decoded), so one stray byte does not hide the Unicode forms around it (an NBSP-grouped card, full-width digits,
     * an IDN address); each such byte is kept aside and written back as it came. Then byte for byte as ISO-8859-1
     * (every byte one character: a Latin-1 answer), so the bytes around a finding come back unchanged. A body with no
     * finding is returned as it came.
     */
    public static byte[] maskText(byte[] body, Masker masker, Consumer<Redaction> report) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException e) {
            int[] found = {0};
            Consumer<Redaction> counted = r -> {
                found[0]++;
                report.accept(r);
            };
            String seen = masker.mask(readable(decodeKeepingBytes(body)), null, counted);
            byte[] once = found[0] == 0 ? body : encodeKeepingBytes(seen);
            int first = found[0];
            String twice = masker.mask(readable(new String(once, StandardCharsets.ISO_8859_1)), null, counted);
            return found[0] == first ? once : twice.getBytes(StandardCharsets.ISO_8859_1);
        }
        text = readable(text);
        int[] found = {0};
        String masked = masker.mask(text, null, r -> {
            found[0]++;
            report.accept(r);
        });
        return found[0] == 0 ? body : masked.getBytes(StandardCharsets.UTF_8);
    }

    /** Bytes read as UTF-8, each byte that is not part of a UTF-8 character kept as a lone surrogate U+DC80-U+DCFF. */
    static String decodeKeepingBytes(byte[] body) {
        java.nio.charset.CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(body);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(body.length + 1);
        while (true) {
            java.nio.charset.CoderResult r = d.decode(in, out, true);
            if (r.isUnderflow()) {
                break;
            }
            if (!r.isError()) {
                throw new IllegalStateException("UTF-8 decoding overflowed");
            }
            for (int k = 0; k < r.length(); k++) {
                out.put((char) (0xDC00 | (in.get() & 0xFF)));
            }
        }
        d.flush(out);
        return out.flip().toString();
    }

    /** The inverse of {@link #decodeKeepingBytes}: a lone U+DC80-U+DCFF is its byte again, the rest UTF-8. */
    static byte[] encodeKeepingBytes(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length() + 16);
        int i = 0;
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            if (cp >= 0xDC80 && cp <= 0xDCFF) {
                out.write(cp & 0xFF);
            } else {
                out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
            }
            i += Character.charCount(cp);
        }
        return out.toByteArray();
    }

    /**
     * Text that looks like JSON but is not strict JSON (a repeated member name, data after the value) is masked as
     * text; a lenient reader (the OpenAI SDK's, a browser's) still takes it as JSON and decodes its escapes, so an
     * entity with a character or two written as a backslash-u escape (the at sign of an address, the digits of a
     * number) would reach it unmasked. So the text is masked as such a reader reads it: each backslash-u escape of a
     * character that may stand in a JSON string as itself (not a quote, a backslash or a control character), a pair
     * of escaped halves of one code point included, and an escaped slash, is written as that character. The text
     * stays what it meant to a lenient reader. Text that does not start like JSON (an opening brace or bracket) is
     * left as it is: a plain text answer may quote such an escape as it is meant.
     */
    static String readable(String text) {
        int i = 0;
        while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
            i++;
        }
        if (i == text.length() || text.charAt(i) != '{' && text.charAt(i) != '[' || text.indexOf('\\', i) < 0) {
            return text;
        }
        StringBuilder out = null;
        int copied = 0;
        for (int k = i; k < text.length() - 1; k++) {
            if (text.charAt(k) != '\\') {
                continue;
            }
            char next = text.charAt(k + 1);
            String with = null;
            int end = k + 2;
            if (next == '/') {
                with = "/";
            } else if (next == 'u') {
                int c = hex4(text, k + 2);
                if (c >= 0) {
                    end = k + 6;
                    if (Character.isHighSurrogate((char) c) && end + 6 <= text.length() && text.charAt(end) == '\\'
                            && text.charAt(end + 1) == 'u') {
                        int low = hex4(text, end + 2);
                        if (low >= 0 && Character.isLowSurrogate((char) low)) {
                            with = new String(new char[]{(char) c, (char) low});
                            end += 6;
                        }
                    } else if (c >= 0x20 && c != '"' && c != '\\' && !Character.isSurrogate((char) c)) {
                        with = String.valueOf((char) c);
                    }
                }
            }
            if (with != null) {
                if (out == null) {
                    out = new StringBuilder(text.length());
                }
                out.append(text, copied, k).append(with);
                copied = end;
            }
            k = (with != null ? end : k + 2) - 1; // an escape is never read again as the start of another
        }
        return out == null ? text : out.append(text, copied, text.length()).toString();
    }

    /** The value of four hex digits at {@code at}, or -1. */
    static int hex4(String s, int at) {
        if (at + 4 > s.length()) {
            return -1;
        }
        int v = 0;
        for (int j = at; j < at + 4; j++) {
            int d = Character.digit(s.charAt(j), 16);
            if (d < 0) {
                return -1;
            }
            v = v * 16 + d;
        }
        return v;
    }

    /** Masks a parsed document in place (or returns a replacement for a bare string). */
    static JsonNode document(JsonNode node, String pointer, Masker masker, Consumer<Redaction> report) {
        if (node.isTextual()) {
            String v = node.asText();
            String m = masker.mask(v, pointer.isEmpty() ? "/" : pointer, report);
            return m.equals(v) ? node : TextNode.valueOf(m);
        }
        if (node instanceof ObjectNode obj) {
            maskObject(obj, pointer, null, masker, report);
            return obj;
        }
        if (node instanceof ArrayNode arr) {
            if (isTextParts(arr)) {
                maskParts(arr, pointer, masker, report);
                return arr;
            }
            for (int i = 0; i < arr.size(); i++) {
                JsonNode r = document(arr.get(i), pointer + "/" + i, masker, report);
                if (r != arr.get(i)) {
                    arr.set(i, r);
                }
            }
        }
        return node;
    }

    /** Masks every field of an object but {@code skip}, in place: the members' names, then their values. */
    private static void maskObject(ObjectNode obj, String pointer, String skip, Masker masker,
                                   Consumer<Redaction> report) {
        maskNames(obj, pointer, masker, report);
        Iterator<Map.Entry<String, JsonNode>> it = obj.fields();
        List<Map.Entry<String, JsonNode>> replaced = new ArrayList<>();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(skip)) {
                continue;
            }
            String p = pointer + "/" + escape(e.getKey());
            JsonNode v = e.getValue();
            if (e.getKey().equals("logprobs") && (v.isObject() || v.isArray())) {
                if (logprobsTouched(v, p, masker, report)) {
                    replaced.add(Map.entry(e.getKey(), NullNode.getInstance()));
                } else {
                    maskAllNames(v, p, masker, report); // any other name in it is text too
                }
                continue;
            }
            JsonNode r = document(v, p, masker, report);
            if (r != v) {
                replaced.add(Map.entry(e.getKey(), r));
            }
        }
        replaced.forEach(e -> obj.set(e.getKey(), e.getValue()));
    }

    /**
     * Masks the members' names, in place: a name is text the caller reads too (an entity as a key: a label, a
     * classifier's class, a map from people to scores). A finding is reported at the member's masked pointer, never
     * the name itself; a masked name that another member already has gets " (2)", " (3)", ... so that no value is
     * lost. Order is kept. A block rule refuses the answer.
     */
    static void maskNames(ObjectNode obj, String pointer, Masker masker, Consumer<Redaction> report) {
        Map<String, String> renamed = null;
        java.util.Set<String> taken = null;
        Map<String, Integer> next = null; // per masked name, the suffix to try next: linear in the members
        Iterator<String> names = obj.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (masker.engine().scan(name).isEmpty()) {
                continue;
            }
            List<Redaction> found = new ArrayList<>();
            String masked = masker.mask(name, null, found::add);
            if (renamed == null) {
                renamed = new java.util.HashMap<>();
                taken = new java.util.HashSet<>();
                next = new java.util.HashMap<>();
            }
            String unique = masked;
            int n = next.getOrDefault(masked, 2);
            while (obj.has(unique) || taken.contains(unique)) {
                unique = masked + " (" + n++ + ")";
            }
            next.put(masked, n);
            taken.add(unique);
            String at = pointer + "/" + escape(unique);
            found.forEach(r -> report.accept(new Redaction(r.entityType(), r.action(), at, r.detector())));
            renamed.put(name, unique);
        }
        if (renamed == null) {
            return;
        }
        Map<String, JsonNode> members = new java.util.LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = obj.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            members.put(renamed.getOrDefault(e.getKey(), e.getKey()), e.getValue());
        }
        obj.removeAll();
        obj.setAll(members);
    }

    /**
     * Masks the names of every object in a value, at any depth ({@link #maskNames}): before its text fields are
     * found by pointer (a stream's texts across events), and inside {@code logprobs}, which is otherwise only read.
     */
    static void maskAllNames(JsonNode node, String pointer, Masker masker, Consumer<Redaction> report) {
        if (node instanceof ObjectNode obj) {
            maskNames(obj, pointer, masker, report);
            Iterator<Map.Entry<String, JsonNode>> it = obj.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                maskAllNames(e.getValue(), pointer + "/" + escape(e.getKey()), masker, report);
            }
        } else if (node instanceof ArrayNode arr) {
            for (int i = 0; i < arr.size(); i++) {
                maskAllNames(arr.get(i), pointer + "/" + i, masker, report);
            }
        }
    }

    /** An array of two or more objects of which at least one carries a {@code text} string: content parts. */
    static boolean isTextParts(ArrayNode arr) {
        if (arr.size() < 2) {
            return false;
        }
        boolean text = false;
        for (JsonNode n : arr) {
            if (!n.isObject()) {
                return false;
            }
            text |= n.path("text").isTextual();
        }
        return text;
    }

    /** The parts' texts are one text; every other field of each part is masked as a document. */
    private static void maskParts(ArrayNode parts, String pointer, Masker masker, Consumer<Redaction> report) {
        TextPieces pieces = new TextPieces();
        for (int i = 0; i < parts.size(); i++) {
            if (parts.get(i) instanceof ObjectNode part && part.path("text").isTextual()) {
                pieces.add(TextPieces.Piece.field(part, "text", pointer + "/" + i + "/text"));
            }
        }
        pieces.mask(masker, report);
        for (int i = 0; i < parts.size(); i++) {
            maskObject((ObjectNode) parts.get(i), pointer + "/" + i, "text", masker, report);
        }
    }

    /**
     * Whether any entity touches the tokens of a {@code logprobs} value: the tokens joined, their
     * {@code bytes} joined and decoded, and every alternative in {@code top_logprobs} (tokens or map keys).
     * Each finding is reported as {@code redact_field} at the field's pointer; a block rule throws.
     */
    static boolean logprobsTouched(JsonNode logprobs, String pointer, Masker masker, Consumer<Redaction> report) {
        StringBuilder tokens = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<String> alternatives = new ArrayList<>();
        collectTokens(logprobs, tokens, bytes, alternatives);
        // one scan per distinct text; the alternatives are scanned together, apart from each other
        java.util.LinkedHashSet<String> texts = new java.util.LinkedHashSet<>();
        texts.add(tokens.toString());
        texts.add(bytes.toString(StandardCharsets.UTF_8));
        java.util.LinkedHashSet<String> alts = new java.util.LinkedHashSet<>(alternatives);
        texts.add(String.join("\n|\n", alts));
        // the alternatives of each rank joined across positions: an entity spelt one piece a position in them
        texts.add(String.join("\n|\n", LogprobsRanks.rankTexts(logprobs)));
        for (String t : texts) {
            List<Finding> findings = masker.engine().scan(t);
            for (Finding f : findings) {
                // the rule set's action decides: block refuses the answer; anything else redacts the field
                masker.replace(f, t.substring(f.start(), f.end()), pointer, r -> { });
                report.accept(new Redaction(f.entityType(), REDACT_FIELD, pointer, f.detector()));
            }
            if (!findings.isEmpty()) {
                return true;
            }
        }
        return false;
    }

    private static void collectTokens(JsonNode n, StringBuilder tokens, ByteArrayOutputStream bytes,
                                      List<String> alternatives) {
        if (n instanceof ArrayNode arr) {
            for (JsonNode e : arr) {
                if (e.isTextual()) {
                    tokens.append(e.asText()); // legacy completions: "tokens": ["a", "b"]
                } else {
                    collectTokens(e, tokens, bytes, alternatives);
                }
            }
            return;
        }
        if (!(n instanceof ObjectNode obj)) {
            return;
        }
        if (obj.path("token").isTextual()) {
            tokens.append(obj.get("token").asText());
            for (JsonNode b : obj.path("bytes")) {
                bytes.write(b.asInt() & 0xff);
            }
        }
        Iterator<Map.Entry<String, JsonNode>> it = obj.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("top_logprobs")) {
                collectAlternatives(e.getValue(), alternatives);
            } else if (!e.getKey().equals("token") && !e.getKey().equals("bytes")) {
                if (e.getValue().isTextual()) {
                    alternatives.add(e.getValue().asText());
                } else {
                    collectTokens(e.getValue(), tokens, bytes, alternatives);
                }
            }
        }
    }

    /**
     * Every text of the alternatives, each apart: an alternative's token and its bytes decoded, a legacy map's keys, and
     * every other string in them (a field beside the token, a nested value), which a client shows as well. Only the
     * token and bytes of an alternative were read: {@code {"token":"x","text":"4111 1111 ..."}} or a legacy map's value
     * went out with the entity.
     */
    private static void collectAlternatives(JsonNode n, List<String> out) {
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n instanceof ObjectNode obj) {
            boolean token = obj.path("token").isTextual();
            if (token) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                obj.path("bytes").forEach(x -> b.write(x.asInt() & 0xff));
                out.add(b.toString(StandardCharsets.UTF_8));
            }
            obj.fields().forEachRemaining(e -> {
                if (!token) {
                    out.add(e.getKey()); // legacy: {" token": -0.1}
                }
                if (!(token && e.getKey().equals("bytes"))) {
                    collectAlternatives(e.getValue(), out);
                }
            });
        } else if (n instanceof ArrayNode arr) {
            arr.forEach(e -> collectAlternatives(e, out));
        }
    }

    /** Kept for callers that mask a value alone (request bodies, preview). */
    static JsonNode walk(JsonNode node, String pointer, Masker masker, Consumer<Redaction> report) {
        return document(node, pointer, masker, report);
    }

    static String escape(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }
}
