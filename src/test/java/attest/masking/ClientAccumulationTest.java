package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stream's text as the SDKs accumulate it. Responses: the OpenAI SDKs join {@code output_text} deltas by {@code output_index} and
 * {@code content_index}, function-call arguments by {@code output_index} alone ({@code ResponseStreamState}); the
 * {@code snapshot} each delta event hands the caller is that joined text. The masker keyed a delta by its
 * {@code item_id} and indices as written, so a hostile upstream that changed the {@code item_id} (or, for arguments,
 * the {@code content_index}) between two deltas of one output, or wrote {@code 0.0} for {@code 0}, split a card into two
 * texts, each clean: the SDK's snapshot held the card whole. Anthropic: the SDKs join {@code content_block_delta}
 * text by {@code index}; an extra {@code item_id} that changed (the generic event key held it) split it the same way.
 * Every split point, both pieces.
 */
class ClientAccumulationTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final String TEXT = "card 4111 1111 1111 1111 ok";

    static String delta(String type, String item, String output, String content, String piece) {
        return "data: {\"type\":\"" + type + "\",\"item_id\":\"" + item + "\",\"output_index\":" + output
                + ",\"content_index\":" + content + ",\"delta\":" + JSON.valueToTree(piece) + "}\n\n";
    }

    @ParameterizedTest
    @CsvSource({
        "response.output_text.delta, m, 0, 0, m2, 0, 0",
        "response.output_text.delta, m, 0, 0, m, 0.0, 0",
        "response.output_text.delta, m, 1, 0, m, 1, 0e0",
        "response.function_call_arguments.delta, f, 1, 0, g, 1, 1",
        "response.function_call_arguments.delta, f, 1, 0, f, 1.0, 0"})
    void should_join_deltas_as_the_sdk_accumulates_them(String type, String item1, String output1, String content1,
                                                        String item2, String output2, String content2) throws Exception {
        for (int split = 1; split < TEXT.length(); split++) {
            String stream = delta(type, item1, output1, content1, TEXT.substring(0, split))
                    + delta(type, item2, output2, content2, TEXT.substring(split))
                    + "data: {\"type\":\"response.completed\",\"response\":{}}\n\n";
            AnswerMasker.Streaming s = AnswerMasker.streaming("text/event-stream", MASKER, r -> { });
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(s.push(stream.getBytes(StandardCharsets.UTF_8)));
            out.writeBytes(s.finish());
            StringBuilder snapshot = new StringBuilder();
            for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("data: ")) {
                    JsonNode e = JSON.readTree(line.substring(6));
                    if (e.path("type").asText().equals(type)) {
                        snapshot.append(e.path("delta").asText());
                    }
                }
            }
            assertThat(snapshot.toString()).as("split %d", split).isEqualTo("card [CARD] ok");
        }
    }

    @ParameterizedTest
    @CsvSource({"0, a, 0, b", "0, , 0.0, ", "2, x, 2, y"})
    void should_join_anthropic_text_deltas_by_their_index(String index1, String item1, String index2, String item2)
            throws Exception {
        for (int split = 1; split < TEXT.length(); split++) {
            String stream = block(index1, item1, TEXT.substring(0, split)) + block(index2, item2, TEXT.substring(split))
                    + "data: {\"type\":\"message_stop\"}\n\n";
            AnswerMasker.Streaming s = AnswerMasker.streaming("text/event-stream", MASKER, r -> { });
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(s.push(stream.getBytes(StandardCharsets.UTF_8)));
            out.writeBytes(s.finish());
            StringBuilder text = new StringBuilder();
            for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("data: ")) {
                    text.append(JSON.readTree(line.substring(6)).at("/delta/text").asText(""));
                }
            }
            assertThat(text.toString()).as("split %d", split).isEqualTo("card [CARD] ok");
        }
    }

    static String block(String index, String item, String piece) {
        return "data: {\"type\":\"content_block_delta\",\"index\":" + index
                + (item == null ? "" : ",\"item_id\":\"" + item + "\"")
                + ",\"delta\":{\"type\":\"text_delta\",\"text\":" + JSON.valueToTree(piece) + "}}\n\n";
    }
}
