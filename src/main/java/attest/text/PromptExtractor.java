package attest.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The one reading of a request body's prompt-bearing text, shared by the risk rules and the masked preview
 * that approvers see. Whatever the Content-Type says, a body that parses as JSON is read as JSON (so
 * {@code \u0049gnore} is {@code Ignore}); anything else is read as UTF-8 text.
 * <p>
 * From JSON it takes every string a model can read: chat {@code messages} (string content, content parts,
 * tool-call arguments), {@code system}, {@code prompt} (string or array), {@code input} (embeddings, or the
 * Responses API's string or items with content parts), {@code instructions}, {@code suffix}, tool and
 * function descriptions, parameter schemas (their descriptions, enums and property names), and any other
 * string value not in a short list of metadata keys ({@code model}, {@code role}, {@code type}, ...). A
 * field nobody thought of is therefore read, not skipped. Strings are joined with newlines.
 * <p>
 * The text is then {@link #normalise normalised} so that linear-time patterns written with {@code \s}
 * and ASCII words match what a model reads.
 */
public final class PromptExtractor {
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build()).build());
    private static final int MAX_DEPTH = 64;
    /** Scalar keys that carry metadata, not text a model reads as instructions. */
    private static final Set<String> METADATA = Set.of("model", "role", "type", "id", "object", "user",
            "tool_choice", "encoding_format", "service_tier", "reasoning_effort", "format", "voice",
            "tool_call_id", "call_id", "previous_response_id", "status", "detail", "image_url", "url", "file_id",
            "truncation", "modalities", "stop");

    private PromptExtractor() {
    }

    /** The normalised prompt text of a body (empty for an empty body). */
    public static String extract(byte[] body) {
        if (body == null || body.length == 0) {
            return "";
        }
        JsonNode root = parse(body);
        if (root == null) {
            return normalise(new String(body, StandardCharsets.UTF_8));
        }
        return extract(root);
    }

    /** The normalised prompt text of a body already parsed as JSON (the data path parses a request once). */
    public static String extract(JsonNode root) {
        StringBuilder sb = new StringBuilder();
        collect(root, null, 0, sb);
        return normalise(sb.toString());
    }

    /** The body as JSON, or null when it is not JSON. */
    private static JsonNode parse(byte[] body) {
        try (var p = JSON.createParser(body)) {
            JsonNode root = JSON.readTree(p);
            return p.nextToken() == null ? root : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static void collect(JsonNode n, String key, int depth, StringBuilder sb) {
        if (n == null || depth > MAX_DEPTH) {
            return;
        }
        if (n.isTextual()) {
            if (key == null || !METADATA.contains(key)) {
                sb.append(n.textValue()).append('\n');
            }
        } else if (n.isArray()) {
            for (JsonNode item : n) {
                collect(item, key, depth + 1, sb);
            }
        } else if (n.isObject()) {
            boolean schemaProperties = "properties".equals(key);
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (schemaProperties) {
                    // a JSON schema's property names are read by the model too
                    sb.append(e.getKey()).append('\n');
                }
                collect(e.getValue(), schemaProperties ? null : e.getKey(), depth + 1, sb);
            }
        }
    }

    /**
     * NFKC (full-width letters and digits to ASCII), then: every Unicode whitespace and separator (NBSP,
     * U+2000..U+200A, U+202F, U+205F, U+3000, line and paragraph separators, tabs) to a plain space, with
     * newlines kept; format characters (zero-width space and joiners, soft hyphen, BOM, bidi controls, tag
     * characters) removed; combining marks left on a Latin letter removed; and the Cyrillic and Greek
     * letters that look like Latin ones mapped to them. Runs of spaces become one.
     */
    public static String normalise(String s) {
        String k = Normalizer.normalize(s, Normalizer.Form.NFKC);
        StringBuilder out = new StringBuilder(k.length());
        boolean lastLatin = false;
        int i = 0;
        while (i < k.length()) {
            int cp = k.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == '\n') {
                out.append('\n');
                lastLatin = false;
                continue;
            }
            int type = Character.getType(cp);
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85) {
                if (out.length() == 0 || out.charAt(out.length() - 1) != ' ') {
                    out.append(' ');
                }
                lastLatin = false;
                continue;
            }
            if (type == Character.FORMAT || cp == 0x180E || cp == 0x034F || (cp >= 0xFE00 && cp <= 0xFE0F)
                    || (cp >= 0xE0100 && cp <= 0xE01EF)) {
                continue;
            }
            if (type == Character.NON_SPACING_MARK && lastLatin) {
                continue;
            }
            if (type == Character.CONTROL) {
                out.append(' ');
                lastLatin = false;
                continue;
            }
            int mapped = lookalike(cp);
            out.appendCodePoint(mapped);
            lastLatin = mapped < 0x250 && Character.isLetter(mapped);
        }
        return out.toString();
    }

    /** Cyrillic and Greek letters (and dotless i) that render as Latin ones. */
    private static int lookalike(int cp) {
        return switch (cp) {
            case 0x0430 -> 'a'; case 0x0410 -> 'A'; case 0x0435 -> 'e'; case 0x0415 -> 'E';
            case 0x043E -> 'o'; case 0x041E -> 'O'; case 0x0440 -> 'p'; case 0x0420 -> 'P';
            case 0x0441 -> 'c'; case 0x0421 -> 'C'; case 0x0445 -> 'x'; case 0x0425 -> 'X';
            case 0x0443 -> 'y'; case 0x0423 -> 'Y'; case 0x0456 -> 'i'; case 0x0406 -> 'I';
            case 0x0458 -> 'j'; case 0x0408 -> 'J'; case 0x0455 -> 's'; case 0x0405 -> 'S';
            case 0x0412 -> 'B'; case 0x041D -> 'H'; case 0x041A -> 'K'; case 0x041C -> 'M'; case 0x0422 -> 'T';
            case 0x04BB -> 'h'; case 0x0501 -> 'd'; case 0x051B -> 'q'; case 0x051D -> 'w';
            case 0x0131 -> 'i'; case 0x0391 -> 'A'; case 0x0392 -> 'B'; case 0x0395 -> 'E'; case 0x0396 -> 'Z';
            case 0x0397 -> 'H'; case 0x0399 -> 'I'; case 0x039A -> 'K'; case 0x039C -> 'M'; case 0x039D -> 'N';
            case 0x039F -> 'O'; case 0x03A1 -> 'P'; case 0x03A4 -> 'T'; case 0x03A5 -> 'Y'; case 0x03A7 -> 'X';
            case 0x03BF -> 'o'; case 0x03B9 -> 'i'; case 0x03BD -> 'v'; case 0x03C1 -> 'p';
            default -> cp;
        };
    }
}
