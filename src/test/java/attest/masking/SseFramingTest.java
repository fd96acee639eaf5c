package attest.masking;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What an SSE reader takes from the stream beside the data: a leading byte order mark, the event's name. */
class SseFramingTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    static String chunk(String content) {
        return "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"}}]}";
    }

    static String run(String stream) {
        SseMasker m = new SseMasker(MASKER, r -> { });
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String piece : stream.split("(?<=\n\n)")) {
            out.writeBytes(m.push(piece.getBytes(StandardCharsets.UTF_8)));
        }
        out.writeBytes(m.finish());
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void should_read_the_first_event_after_a_leading_byte_order_mark() {
        String out = run("\uFEFFdata: " + chunk("card 4111 1111") + "\n\ndata: " + chunk(" 1111 1111 ok")
                + "\n\ndata: [DONE]\n\n");
        assertThat(out.replaceAll("\\s", "")).doesNotContain("4111").doesNotContain("11111111").contains("[CARD]ok");
    }

    @Test
    void should_not_write_an_event_name_back_unmasked_on_an_event_that_releases_held_text() {
        String out = run("event: chunk 536-90-4399\ndata: " + chunk("order 12") + "\n\ndata: [DONE]\n\n");
        assertThat(out).doesNotContain("4399").contains("event: chunk [SSN]").contains("order ");
    }
}
