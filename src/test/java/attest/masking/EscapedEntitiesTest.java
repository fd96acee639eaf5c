package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * JSON inside a JSON string (tool-call arguments, a JSON-mode answer) is parsed once more by every client, so an
 * entity written there with backslash-u escapes (as Python's json.dumps writes every non-ASCII character) is read
 * as the entity: it is masked, whole and streamed, split at every point.
 */
class EscapedEntitiesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    /** The arguments' text as the model wrote it, and what a client reads from it once parsed. */
    static String parsed(String arguments) throws Exception {
        StringBuilder b = new StringBuilder();
        JSON.readTree(arguments).forEach(v -> b.append(v.asText()).append('\n'));
        return b.toString();
    }

    static String chunk(String arguments) throws Exception {
        return "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                + JSON.writeValueAsString(arguments) + "}}]}}]}";
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"to\": \"j\\u00fcrgen@k\\u00f6ln-messe.example\"}",
        "{\"cc\": \"jane.doe\\u0040example.com\"}",
        "{\"card\": \"\\uff14\\uff11\\uff11\\uff11 1111 1111 1111\"}",
        "{\"card\": \"\\ud835\\udfd2111 1111 1111 1111\"}",
        "{\"ssn\": \"536\\u201190\\u20114399\"}",
        "{\"iban\": \"DE89\\u00a03704\\u00a00044\\u00a00532\\u00a00130\\u00a000\"}"})
    void should_mask_an_entity_written_with_escapes_whole_and_split_at_every_point(String arguments) throws Exception {
        String body = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
                + "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":" + JSON.writeValueAsString(arguments)
                + "}}]}}]}";
        JsonNode out = JSON.readTree(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), "application/json",
                MASKER, r -> { }));
        String whole = out.at("/choices/0/message/tool_calls/0/function/arguments").asText();
        assertThat(parsed(whole)).as(whole).contains("[").doesNotContainPattern("\\d{4}").doesNotContain("@");

        for (int cut = 1; cut < arguments.length(); cut++) {
            String sse = "data: " + chunk(arguments.substring(0, cut)) + "\n\ndata: " + chunk(arguments.substring(cut))
                    + "\n\ndata: [DONE]\n\n";
            AnswerMasker.Streaming m = AnswerMasker.streaming("text/event-stream", MASKER, r -> { });
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] bytes = sse.getBytes(StandardCharsets.UTF_8);
            int at = bytes.length / 2;
            got.writeBytes(m.push(Arrays.copyOfRange(bytes, 0, at)));
            got.writeBytes(m.push(Arrays.copyOfRange(bytes, at, bytes.length)));
            got.writeBytes(m.finish());
            StringBuilder joined = new StringBuilder();
            for (String line : got.toString(StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("data: {")) {
                    JSON.readTree(line.substring(6)).at("/choices/0/delta/tool_calls/0/function/arguments").asText("")
                            .chars().forEach(c -> joined.append((char) c));
                }
            }
            assertThat(parsed(joined.toString())).as("split at %d: %s", cut, joined).contains("[")
                    .doesNotContainPattern("\\d{4}").doesNotContain("@");
        }
    }
}
