package attest.masking;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.function.Consumer;

/**
 * A live stream whose body does not match its declared type is cut, never guessed at: an event stream with a line
 * that is JSON where the SSE grammar expects a field (NDJSON under {@code text/event-stream}), NDJSON with a line
 * that is an SSE field (SSE under an NDJSON label), or an NDJSON line that is a JSON array, an object with a repeated
 * member name, or a JSON value with anything but whitespace after it. A reader of such a body reads something the
 * masker did not (another framing, the last of two values, a second value on the line), so a piece of an entity held
 * on one line could be joined with the next by the reader. The refusal is reported ({@code MALFORMED_STREAM}/{@code cut},
 * the reason as its detector) and the stream fails closed as a masking failure: nothing more of it goes out.
 */
final class StreamShape {
    static final String ENTITY = "MALFORMED_STREAM";
    static final String ACTION = "cut";

    /** Token reader for any depth and length (only the shape is read), with repeated names refused. */
    private static final JsonFactory STRICT = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE).maxNameLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE).maxNumberLength(Integer.MAX_VALUE).build())
            .build();
    private static final JsonFactory LENIENT = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE).maxNameLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE).maxNumberLength(Integer.MAX_VALUE).build())
            .build();

    private StreamShape() {
    }

    /** Reports why and fails closed: the relay cuts the stream ({@code masking_failed}). */
    static MaskingFailedException refuse(Consumer<Redaction> report, String location, String why) {
        report.accept(new Redaction(ENTITY, ACTION, location, why));
        return new MaskingFailedException("stream refused: " + why);
    }

    /**
     * Whether an SSE event holds a line that looks like JSON ({@code {} or {@code [} first, after any whitespace or
     * byte order mark): no field the SSE grammar knows ({@code data}, {@code event}, {@code id}, {@code retry}, a
     * {@code :} comment) starts so.
     */
    static boolean jsonLineInEvent(String event) {
        boolean lineStart = true;
        for (int i = 0; i < event.length(); i++) {
            char c = event.charAt(i);
            if (c == '\n' || c == '\r') {
                lineStart = true;
            } else if (lineStart) {
                if (c == '{' || c == '[') {
                    return true;
                }
                if (!(c == '\uFEFF' || Character.isWhitespace(c) || Character.isSpaceChar(c))) {
                    lineStart = false;
                }
            }
        }
        return false;
    }

    /**
     * Why an NDJSON line (stripped, without its BOM) is refused, or null. {@code strict} is the line read as one JSON
     * object or array with repeated names refused (null when it is not one).
     */
    static String ndjsonLine(String body, JsonNode strict) {
        if (strict != null) {
            return strict.isArray() ? "json_array_line" : null;
        }
        if (body.startsWith("data:") || body.startsWith("event:") || body.startsWith("id:")
                || body.startsWith("retry:") || body.startsWith(":")) {
            return "sse_line_in_ndjson";
        }
        char first = body.isEmpty() ? 0 : body.charAt(0);
        if (first != '{' && first != '[') {
            return null;
        }
        try (JsonParser p = LENIENT.createParser(body)) {
            JsonToken t = p.nextToken();
            p.skipChildren();
            if (t == JsonToken.START_ARRAY) {
                return "json_array_line";
            }
            try {
                if (p.nextToken() != null) {
                    return "trailing_data_after_json";
                }
            } catch (IOException trailing) {
                return "trailing_data_after_json";
            }
        } catch (IOException notJson) {
            return null; // not one JSON value (cut short, plain text): masked as text of the stream, as before
        }
        try (JsonParser p = STRICT.createParser(body)) {
            while (p.nextToken() != null) {
                // every name is read, so a repeated one throws
            }
        } catch (IOException repeated) {
            return "duplicate_member_name";
        }
        return null;
    }
}
