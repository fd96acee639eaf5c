package attest.masking;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stream's held tail is bounded ({@link StreamingTextMasker#MAX_HOLD}, 8 KiB): past it the text was released whole,
 * "masked as it stands". A hostile (or prompt-injected) model pads with 8 KiB of characters that keep the tail open
 * ({@code 1 1 1 ...}: digit groups joined by spaces could still become a card) and then splits a card across two
 * events at the bound: the first half went out raw, the second half's finding reached back into text already sent.
 * Now a forced release keeps the last 4 KiB held and moves its cut off any entity found across it, so an entity up to
 * 4 KiB long is found whole wherever the bound falls.
 */
class ForcedReleaseTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    static String chunk(String content) {
        return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"finish_reason\":null}]}\n\n";
    }

    /** The joined delta contents, as a client reads them. */
    static String content(String out) {
        StringBuilder text = new StringBuilder();
        for (String line : out.split("\n")) {
            if (line.startsWith("data: {")) {
                try {
                    text.append(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line.substring(6))
                            .at("/choices/0/delta/content").asText(""));
                } catch (java.io.IOException e) {
                    throw new AssertionError(line, e);
                }
            }
        }
        return text.toString();
    }

    static String run(String body, int size) {
        AnswerMasker.Streaming s = AnswerMasker.streaming("text/event-stream", MASKER, r -> { });
        byte[] all = body.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < all.length; i += size) {
            out.writeBytes(s.push(Arrays.copyOfRange(all, i, Math.min(all.length, i + size))));
        }
        out.writeBytes(s.finish());
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void should_find_a_card_split_across_events_where_the_held_tail_reaches_its_bound() {
        String card = "4111 1111 1111 1111";
        for (int pad = 4080; pad <= 4100; pad += 2) { // "1 " pairs: the bound falls before, inside and after the card
            for (int split = 1; split < card.length(); split++) {
                String padding = "1 ".repeat(pad);
                String body = chunk(padding + card.substring(0, split)) + chunk(card.substring(split) + " ok")
                        + "data: [DONE]\n\n";
                String out = run(body, body.length());
                assertThat(content(out)).as("pad %d split %d", pad, split).isEqualTo(padding + "[CARD] ok");
            }
        }
    }

    @Test
    void should_find_an_iban_at_the_bound_too() {
        String iban = "DE89 3704 0044 0532 0130 00";
        for (int pad = 4076; pad <= 4098; pad += 2) {
            String padding = "1 ".repeat(pad);
            for (int split = 1; split < iban.length(); split += 2) {
                String body = chunk(padding + iban.substring(0, split)) + chunk(iban.substring(split) + " ok")
                        + "data: [DONE]\n\n";
                String out = run(body, 4096);
                assertThat(content(out)).as("pad %d split %d", pad, split).isEqualTo(padding + "[IBAN] ok");
            }
        }
    }

    /** Text with nothing to hold still streams: the bound keeps at most 8 KiB back, and a long run goes out in parts. */
    @Test
    void should_still_release_a_long_open_run_in_parts() {
        StreamingTextMasker m = new StreamingTextMasker(MASKER, "/t", r -> { });
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            out.append(m.push("1 ".repeat(512)));
            assertThat(m.held()).isLessThanOrEqualTo(StreamingTextMasker.MAX_HOLD);
        }
        out.append(m.finish());
        assertThat(out.toString()).isEqualTo("1 ".repeat(512 * 100));
    }
}
