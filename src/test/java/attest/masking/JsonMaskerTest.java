package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The protocol shapes: only string values change, the JSON stays valid, and locations are JSON pointers. */
class JsonMaskerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            openai chat        | {"choices":[{"index":0,"message":{"role":"assistant","content":"mail jane@example.com"}}],"usage":{"total_tokens":12}} | /choices/0/message/content
            openai completion  | {"choices":[{"index":0,"text":"ssn 536-90-4399"}]}                                                          | /choices/0/text
            openai tool call   | {"choices":[{"message":{"tool_calls":[{"function":{"name":"pay","arguments":"{\\"card\\":\\"4111111111111111\\"}"}}]}}]} | /choices/0/message/tool_calls/0/function/arguments
            openai responses   | {"output":[{"type":"message","content":[{"type":"output_text","text":"ip 192.168.10.7"}]}]}                  | /output/0/content/0/text
            tensorflow serving | {"predictions":["call +1 415 555 2671",0.93]}                                                              | /predictions/0
            kserve v2 bytes    | {"outputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["iban DE89370400440532013000"]}]}         | /outputs/0/data/0
            escaped unicode    | {"text":"card \\u0034111 1111 1111 1111"}                                                                 | /text
            key with slash     | {"a/b":"mail jane@example.com"}                                                                            | /a~1b
            """)
    void should_mask_string_values_and_point_at_them(String name, String body, String pointer) throws Exception {
        List<Redaction> report = new ArrayList<>();
        byte[] out = JsonMasker.mask(body.getBytes(StandardCharsets.UTF_8), MASKER, report::add);
        JsonNode masked = JSON.readTree(out);
        assertThat(report).extracting(Redaction::location).containsExactly(pointer);
        assertThat(masked.at(pointer).asText()).matches(".*\\[[A-Z_]+].*");
        assertThat(new String(out, StandardCharsets.UTF_8)).doesNotContain("jane@").doesNotContain("4399")
                .doesNotContain("1111 1111").doesNotContain("2671").doesNotContain("0130");
    }

    @Test
    void should_leave_numbers_and_clean_strings_untouched() throws Exception {
        String body = "{\"id\":\"chatcmpl-123\",\"created\":1732536000,\"model\":\"demo-1.2.3\","
                + "\"choices\":[{\"message\":{\"content\":\"order 12345 ships 2026-11-25\"}}],\"n\":4111111111111111}";
        byte[] out = JsonMasker.mask(body.getBytes(StandardCharsets.UTF_8), MASKER, r -> { });
        assertThat(JSON.readTree(out)).isEqualTo(JSON.readTree(body));
    }

    @Test
    void should_mask_text_that_is_not_json() {
        byte[] out = JsonMasker.mask("plain jane@example.com".getBytes(StandardCharsets.UTF_8), MASKER, r -> { });
        assertThat(new String(out, StandardCharsets.UTF_8)).isEqualTo("plain [EMAIL]");
    }

    /** Hostile: every NDJSON line is masked, not only the first value. */
    @Test
    void should_mask_every_line_of_ndjson() {
        String body = "{\"response\":\"ok\"}\n{\"response\":\"ssn 536-90-4399\"}\n{\"x\":\"jane@example.com\"}\n";
        String out = new String(JsonMasker.mask(body.getBytes(StandardCharsets.UTF_8), MASKER, r -> { }),
                StandardCharsets.UTF_8);
        assertThat(out).contains("[SSN]", "[EMAIL]").doesNotContain("4399").doesNotContain("jane@");
        assertThat(out.lines().count()).isEqualTo(3);
    }

    /** Hostile: bytes with no finding come out byte for byte, binary and invalid UTF-8 included. */
    @Test
    void should_return_a_body_without_findings_byte_for_byte() {
        byte[] binary = {(byte) 0x89, 'P', 'N', 'G', (byte) 0xff, (byte) 0xfe, 0, 1, (byte) 0xc3};
        assertThat(JsonMasker.mask(binary, MASKER, r -> { })).isEqualTo(binary);
        byte[] json = "{ \"a\" :\t\"caf\\u00e9\" }".getBytes(StandardCharsets.UTF_8);
        assertThat(JsonMasker.mask(json, MASKER, r -> { })).isEqualTo(json);
    }

    /** Hostile: logprobs give an entity back token by token; the field is redacted whole. */
    @Test
    void should_redact_logprobs_that_spell_an_entity() throws Exception {
        String body = "{\"choices\":[{\"message\":{\"content\":\"x\"},\"logprobs\":{\"content\":["
                + "{\"token\":\"jane\",\"bytes\":[106,97,110,101],\"top_logprobs\":[]},"
                + "{\"token\":\"@example.com\",\"bytes\":null,\"top_logprobs\":[]}]}}]}";
        String out = new String(JsonMasker.mask(body.getBytes(StandardCharsets.UTF_8), MASKER, r -> { }),
                StandardCharsets.UTF_8);
        assertThat(out).doesNotContain("jane").doesNotContain("example.com");
    }

    /**
     * Hostile: a member name given twice. A tree keeps the last value only, so the first would pass unseen and the
     * body go out as received. Buffered, NDJSON and streamed (SSE) answers, with the entity in the first value, the
     * last, or a nested object's first; each must come out without it.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {
        "{\"note\":\"4111 1111 1111 1111\",\"note\":\"x\"}",
        "{\"note\":\"x\",\"note\":\"card 4111 1111 1111 1111\"}",
        "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"ssn 536-90-4399\",\"content\":\"ok\"}}]}",
        "{\"a\":{\"b\":\"jane.doe@example.com\",\"b\":1},\"c\":2}"})
    void should_mask_what_a_repeated_member_name_hides(String json) {
        String buffered = new String(JsonMasker.mask(json.getBytes(StandardCharsets.UTF_8), MASKER, r -> { }),
                StandardCharsets.UTF_8);
        String ndjson = new String(JsonMasker.mask((json + "\n{\"ok\":1}\n").getBytes(StandardCharsets.UTF_8), MASKER,
                r -> { }), StandardCharsets.UTF_8);
        SseMasker sse = new SseMasker(MASKER, r -> { });
        String streamed = new String(sse.push(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8)),
                StandardCharsets.UTF_8) + new String(sse.finish(), StandardCharsets.UTF_8);
        for (String out : java.util.List.of(buffered, ndjson, streamed)) {
            assertThat(out).doesNotContain("4111 1111 1111 1111").doesNotContain("536-90-4399")
                    .doesNotContain("jane.doe@example.com");
        }
    }

    /**
     * A member's name is text the caller reads: an entity as a key (a classifier's class, a map from people to
     * scores) is masked like a value, in a whole answer, an event stream and NDJSON, and never reported by its text.
     */
    @Test
    void should_mask_an_entity_that_is_a_members_name() throws Exception {
        String body = "{\"scores\":{\"jane.doe@example.com\":0.9,\"bob@example.org\":0.1,\"ok\":1},"
                + "\"4111 1111 1111 1111\":{\"536-90-4399\":\"x\"},\"[EMAIL]\":\"taken\"}";
        List<Redaction> reports = new ArrayList<>();
        JsonNode out = JSON.readTree(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), "application/json",
                MASKER, reports::add));
        assertThat(out.toString()).doesNotContain("jane").doesNotContain("bob@").doesNotContain("4111")
                .doesNotContain("536-90");
        // no value lost: two names that mask alike, and one that already had the masked name, stay apart
        assertThat(out.path("scores").size()).isEqualTo(3);
        assertThat(out.path("scores").path("[EMAIL]").asDouble()).isEqualTo(0.9);
        assertThat(out.path("scores").path("[EMAIL] (2)").asDouble()).isEqualTo(0.1);
        assertThat(out.path("[EMAIL]").asText()).isEqualTo("taken");
        assertThat(out.path("[CARD]").path("[SSN]").asText()).isEqualTo("x");
        assertThat(reports).extracting(Redaction::location).containsExactlyInAnyOrder("/scores/[EMAIL]",
                "/scores/[EMAIL] (2)", "/[CARD]", "/[CARD]/[SSN]");

        for (String[] stream : new String[][] {
            {"text/event-stream", "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},"
                + "\"x\":{\"536-90-4399\":\"y\"}}],\"4111 1111 1111 1111\":1}\n\ndata: {\"jane.doe@example.com\":"
                + "{\"content\":\"z\"},\"content\":\"w\"}\n\ndata: [DONE]\n\n"},
            {"application/x-ndjson", "{\"4111 1111 1111 1111\":{\"response\":\"a\"},\"response\":\"b\"}\n"
                + "{\"jane.doe@example.com\":1,\"done\":true}\n"}}) {
            List<Redaction> r = new ArrayList<>();
            String masked = new String(AnswerMasker.mask(stream[1].getBytes(StandardCharsets.UTF_8), stream[0], MASKER,
                    r::add), StandardCharsets.UTF_8);
            assertThat(masked).as(stream[0]).doesNotContain("4111").doesNotContain("536-90").doesNotContain("jane");
            assertThat(r).as(stream[0]).isNotEmpty().extracting(Redaction::location)
                    .allSatisfy(l -> assertThat(l).doesNotContain("4111").doesNotContain("536-90").doesNotContain("jane"));
        }
    }
}
