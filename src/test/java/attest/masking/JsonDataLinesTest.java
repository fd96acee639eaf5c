package attest.masking;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An event whose data lines are each a JSON chunk while together they are not JSON: a client that reads the stream line
 * by line (hand-written ones often do: {@code for line in r.iter_lines(): json.loads(line[6:])}) reads two chunks and
 * joins their texts; the masker read the event as the SSE grammar says, one text that is not JSON, and a card split
 * across the two lines went out. Such an event is cut now (no client reads it as its label says: the SDK cannot parse
 * it); data lines that join into JSON are read as before.
 */
class JsonDataLinesTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final String TEXT = "card 4111 1111 1111 1111 ok";

    static String chunk(String piece) {
        return "{\"choices\":[{\"index\":0,\"delta\":{\"content\":" + com.fasterxml.jackson.databind.node.TextNode.valueOf(piece) + "}}]}";
    }

    @Test
    void should_cut_an_event_whose_data_lines_are_each_a_json_chunk() {
        for (int split = 1; split < TEXT.length(); split++) {
            String event = "data: " + chunk(TEXT.substring(0, split)) + "\ndata: " + chunk(TEXT.substring(split))
                    + "\n\ndata: [DONE]\n\n";
            List<Redaction> reports = new ArrayList<>();
            AnswerMasker.Streaming s = AnswerMasker.streaming("text/event-stream", MASKER, reports::add);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            MaskingFailedException cut = null;
            try {
                out.writeBytes(s.push(event.getBytes(StandardCharsets.UTF_8)));
                out.writeBytes(s.finish());
            } catch (MaskingFailedException e) {
                cut = e;
            }
            assertThat(cut).as("split %d", split).isNotNull();
            assertThat(out.toString(StandardCharsets.UTF_8)).as("split %d", split).doesNotContain("1111");
            assertThat(reports).extracting(Redaction::detector).contains("json_data_lines_in_one_event");
        }
    }

    @Test
    void should_read_data_lines_that_join_into_json_as_before() {
        String event = "data: {\"choices\":[{\"index\":0,\"delta\":\ndata: {\"content\":\"card 4111 1111 1111 1111 ok\"}}]}"
                + "\n\ndata: [DONE]\n\n";
        AnswerMasker.Streaming s = AnswerMasker.streaming("text/event-stream", MASKER, r -> { });
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(s.push(event.getBytes(StandardCharsets.UTF_8)));
        out.writeBytes(s.finish());
        assertThat(ForcedReleaseTest.content(out.toString(StandardCharsets.UTF_8))).isEqualTo("card [CARD] ok");
    }
}
