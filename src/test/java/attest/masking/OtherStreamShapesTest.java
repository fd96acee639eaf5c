package attest.masking;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real stream shapes whose text a client joins across events: Triton's generate_stream, OpenAI Assistants'
 * message deltas, data that is a JSON string, NDJSON after a byte order mark; and JSON under a binary label.
 */
class OtherStreamShapesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final String[] PIECES = {"card 4111 1111", " 1111 1111 ok"};

    static String run(String type, String stream) {
        AnswerMasker.Streaming m = AnswerMasker.streaming(type, MASKER, r -> { });
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String piece : stream.split("(?<=\n)")) {
            out.writeBytes(m.push(piece.getBytes(StandardCharsets.UTF_8)));
        }
        out.writeBytes(m.finish());
        return out.toString(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "text/event-stream|data: {\"model_name\":\"m\",\"text_output\":%s}\\n\\n|/text_output",
        "text/event-stream|data: {\"delta\":{\"content\":[{\"index\":0,\"type\":\"text\",\"text\":{\"value\":%s}}]}}\\n\\n"
            + "|/delta/content/0/text/value",
        "text/event-stream|data: %s\\n\\n|",
        "text/event-stream|data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"text\",\"text\":%s}]}}]}"
            + "\\n\\n|/choices/0/delta/content",
        "application/x-ndjson|\uFEFF{\"response\":%s}\\n|/response"})
    void should_join_the_text_a_client_joins(String type, String event, String pointer) throws Exception {
        StringBuilder stream = new StringBuilder();
        for (String p : PIECES) {
            String e = event.replace("\\n", "\n").formatted(JSON.writeValueAsString(p));
            stream.append(stream.isEmpty() ? e : e.replace("\uFEFF", ""));
        }
        String out = run(type, stream.toString());
        StringBuilder joined = new StringBuilder();
        for (String line : out.split("\n")) {
            String data = line.startsWith("data: ") ? line.substring(6) : line.replace("\uFEFF", "");
            if (!data.isBlank() && !line.startsWith("event:")) {
                joined.append(JSON.readTree(data).at(pointer == null ? "" : pointer).asText());
            }
        }
        assertThat(joined.toString()).as(out).isEqualTo("card [CARD] ok");
    }

    @ParameterizedTest
    @ValueSource(strings = {"application/octet-stream", "image/png", "application/x-protobuf"})
    void should_mask_json_under_a_binary_label_and_pass_binary_unchanged(String type) {
        byte[] json = "{\"content\":\"card 4111 1111 1111 1111\"}".getBytes(StandardCharsets.UTF_8);
        assertThat(new String(AnswerMasker.mask(json, type, MASKER, r -> { }), StandardCharsets.UTF_8))
                .isEqualTo("{\"content\":\"card [CARD]\"}");
        byte[] binary = {(byte) 0x89, 'P', 'N', 'G', '4', '1', '1', '1', ' ', '1', '1', '1', '1', ' ', '1', '1', '1',
            '1', ' ', '1', '1', '1', '1'};
        assertThat(AnswerMasker.mask(binary, type, MASKER, r -> { })).isSameAs(binary);
    }
}
