package attest.masking;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * From a helper's outside attack through the gateway (MaskingMemberNamesE2EIT): an answer that is JSON to a lenient
 * reader but not strict JSON (a repeated member name, data after the value) is masked as text, and an entity with a
 * character written as a backslash-u escape went out unmasked, which the OpenAI SDK then decoded for its caller.
 * Every case is checked as the caller's lenient reader sees it: escapes decoded.
 */
class LenientJsonAttackTest {
    static final Masker MASKER = JsonMaskerTest.MASKER;

    static String mask(String body, String ct) {
        List<Redaction> report = new ArrayList<>();
        return new String(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), ct, MASKER, report::add),
                StandardCharsets.UTF_8);
    }

    /** What a lenient JSON reader makes of the text: every backslash-u escape decoded. */
    static String lenient(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\\' && i + 5 < s.length() && s.charAt(i + 1) == 'u') {
                out.append((char) Integer.parseInt(s.substring(i + 2, i + 6), 16));
                i += 5;
            } else {
                out.append(s.charAt(i));
            }
        }
        return out.toString();
    }

    static final String E = "jane.doe\\u0040example.com";
    static final String SSN = "\\u0035\\u0033\\u0036-90-4399";

    static List<String> lenientBodies() {
        return List.of(
                "{\"x_note\":\"a\",\"x_note\":\"b\",\"x_scores\":{\"E\":1,\"SSN\":2}}",
                "{\"x_scores\":{\"E\":1,\"SSN\":2}}\n]",
                "{\"x_note\":\"a\",\"x_note\":\"mail E or SSN\"}",
                "[{\"a\":1,\"a\":2,\"to\":\"E\\/x\",\"n\":\"\\ud835\\udfd3\"}]");
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("lenientBodies")
    void should_mask_escaped_entities_in_a_body_that_is_json_only_to_a_lenient_reader(String template) {
        String body = template.replace("E", E).replace("SSN", SSN);
        for (String ct : List.of("application/json", "text/plain")) {
            String out = mask(body, ct);
            assertThat(lenient(out)).as(ct).doesNotContain("jane.doe@example.com").doesNotContain("536-90-4399")
                    .doesNotContain("4399");
        }
    }

    @Test
    void should_mask_escaped_entities_in_stream_events_that_are_json_only_to_a_lenient_reader() {
        String sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"x\":1,\"x\":2,"
                + "\"x_scores\":{\"" + E + "\":1}}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"}}],\"x_scores\":{\"" + SSN
                + "\":2}} ]\n\ndata: [DONE]\n\n";
        String out = mask(sse, "text/event-stream");
        assertThat(lenient(out)).doesNotContain("jane.doe@example.com").doesNotContain("4399");
        // NDJSON with a repeated name, or text after a line's value, is not NDJSON a reader agrees on: refused whole
        for (String ndjson : List.of("{\"a\":1,\"a\":2,\"note\":\"" + E + "\"}\n",
                "{\"b\":\"" + SSN + "\"} x\n")) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> mask(ndjson, "application/x-ndjson"))
                    .isInstanceOf(MaskingFailedException.class);
        }
    }

    static List<org.junit.jupiter.params.provider.Arguments> escapes() {
        return List.of(
                org.junit.jupiter.params.provider.Arguments.of("{\"a\":\"x\\u0040y\"}", "{\"a\":\"x@y\"}"),
                org.junit.jupiter.params.provider.Arguments.of("  [\"\\/\"]", "  [\"/\"]"),
                // an escaped backslash before u0040: the text is a backslash and "u0040", not an at sign
                org.junit.jupiter.params.provider.Arguments.of("{\"a\":\"\\\\u0040\"}", "{\"a\":\"\\\\u0040\"}"),
                // a quote, a backslash and controls stay escaped: written as themselves they would change the JSON
                org.junit.jupiter.params.provider.Arguments.of("{\"a\":\"\\u0022\\u005c\\u0000\\u001f\"}",
                        "{\"a\":\"\\u0022\\u005c\\u0000\\u001f\"}"),
                org.junit.jupiter.params.provider.Arguments.of("{\"a\":\"\\ud835\\udfd3\"}", "{\"a\":\"\uD835\uDFD3\"}"),
                // halves that are not a pair stay escaped
                org.junit.jupiter.params.provider.Arguments.of("{\"a\":\"\\ud835x\\udfd3\"}", "{\"a\":\"\\ud835x\\udfd3\"}"),
                org.junit.jupiter.params.provider.Arguments.of("{\"a\":\"\\u00\"}", "{\"a\":\"\\u00\"}"),
                // plain text quotes an escape as it is meant
                org.junit.jupiter.params.provider.Arguments.of("plain \\u0040 text", "plain \\u0040 text"),
                org.junit.jupiter.params.provider.Arguments.of("{\"a\":\"\\n\\t\\\"\"}", "{\"a\":\"\\n\\t\\\"\"}"));
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("escapes")
    void should_read_escapes_as_a_lenient_reader_does(String text, String readable) {
        assertThat(JsonMasker.readable(text)).isEqualTo(readable);
    }
}
