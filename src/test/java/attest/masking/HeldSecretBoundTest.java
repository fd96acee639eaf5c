package attest.masking;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stream's held tail is bounded (8 KiB, {@link StreamingTextMasker#MAX_HOLD}); past it a forced release kept the last
 * 4 KiB and sent the rest, so an entity longer than 4 KiB that straddled the bound went out in parts: the first part of
 * a private-key block or of a long JWT unmasked (no detector matches half of one), and the rest after it, the start no
 * longer in view. Likewise a card whose groups are joined by thousands of zero-width characters (4 KiB of characters,
 * 19 of them read by the detectors): its first group went out before the rest arrived. Now a secret is never released
 * in part: the cut moves to its start, and where the secret alone is longer than the bound the stream is cut
 * ({@code MALFORMED_STREAM}/{@code cut}, {@value StreamingTextMasker#TOO_LONG}); the bound keeps 4 KiB of what the
 * detectors read, and a held run of mostly invisible characters is held whole up to twice the bound, then cut.
 */
class HeldSecretBoundTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final String B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static final String URL64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    record Run(String content, MaskingFailedException cut, List<Redaction> reports) {
    }

    /** The content as an OpenAI client joins it from what went out, event by event, and whether the stream was cut. */
    static Run stream(String text, int piece) {
        List<Redaction> reports = new ArrayList<>();
        AnswerMasker.Streaming s = AnswerMasker.streaming("text/event-stream", MASKER, reports::add);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MaskingFailedException cut = null;
        try {
            for (int i = 0; i < text.length(); i += piece) {
                String p = text.substring(i, Math.min(text.length(), i + piece));
                out.writeBytes(s.push(("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                        + com.fasterxml.jackson.databind.node.TextNode.valueOf(p) + "}}]}\n\n")
                        .getBytes(StandardCharsets.UTF_8)));
            }
            out.writeBytes(s.push("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8)));
            out.writeBytes(s.finish());
        } catch (MaskingFailedException e) {
            cut = e;
        }
        return new Run(ForcedReleaseTest.content(out.toString(StandardCharsets.UTF_8)), cut, reports);
    }

    static String random(String alphabet, int n, long seed) {
        Random r = new Random(seed);
        StringBuilder s = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            s.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return s.toString();
    }

    static List<String> keyLines(int lines, long seed) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines; i++) {
            out.add(random(B64, 64, seed + i));
        }
        return out;
    }

    static String pem(List<String> lines) {
        return "-----BEGIN RSA PRIVATE KEY-----\n" + String.join("\n", lines) + "\n-----END RSA PRIVATE KEY-----";
    }

    static String jwt(int payload, long seed) {
        return "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" + random(URL64, payload, seed) + "." + random(URL64, 342, seed + 1);
    }

    static void assertCut(Run r) {
        assertThat(r.cut()).as("the stream is cut").isNotNull();
        assertThat(r.reports()).extracting(Redaction::entityType, Redaction::action, Redaction::detector)
                .contains(org.assertj.core.groups.Tuple.tuple(StreamShape.ENTITY, StreamShape.ACTION,
                        StreamingTextMasker.TOO_LONG));
    }

    /** No 16 characters of the secret went out, anywhere. */
    static void assertNoPart(String secret, String content) {
        for (int i = 0; i + 16 <= secret.length(); i += 8) {
            String part = secret.substring(i, i + 16);
            if (part.contains("-----") || part.contains("\n")) {
                continue;
            }
            assertThat(content).as("part at %d of the secret went out", i).doesNotContain(part);
        }
    }

    @Test
    void should_never_release_part_of_a_private_key_block_longer_than_the_bound() {
        List<String> lines = keyLines(200, 7); // 13 KiB of key
        String key = pem(lines);
        for (int piece : new int[] {7, 100, 4096}) {
            Run r = stream("here is the key:\n" + key + "\nkeep it safe", piece);
            assertCut(r);
            assertThat(r.content()).as("piece %d", piece).doesNotContain("PRIVATE KEY");
            assertNoPart(key, r.content());
        }
    }

    @Test
    void should_mask_a_private_key_block_whole_when_the_bound_falls_inside_it() {
        List<String> lines = keyLines(80, 11); // 5 KiB of key, after 5 KiB of a run that keeps the tail open
        String padding = "1 ".repeat(2500);
        String key = pem(lines);
        for (int piece : new int[] {7, 100, 4096}) {
            Run r = stream(padding + key + "\nkeep it safe", piece);
            assertThat(r.cut()).as("piece %d", piece).isNull();
            assertThat(r.content()).as("piece %d", piece).isEqualTo(padding + "[SECRET]\nkeep it safe");
        }
    }

    @Test
    void should_never_release_part_of_a_jwt_longer_than_the_bound() {
        String token = jwt(12_000, 3);
        for (int piece : new int[] {5, 300}) {
            Run r = stream("Bearer " + token + " is the token", piece);
            assertCut(r);
            assertNoPart(token, r.content());
        }
    }

    @Test
    void should_mask_a_jwt_whole_when_the_bound_falls_inside_it() {
        String padding = "1 ".repeat(3000);
        String token = jwt(6_500, 5);
        for (int piece : new int[] {5, 50, 300}) {
            Run r = stream(padding + token + " is the token", piece);
            assertThat(r.cut()).as("piece %d", piece).isNull();
            assertThat(r.content()).as("piece %d", piece).isEqualTo(padding + "[SECRET] is the token");
        }
    }

    @Test
    void should_never_release_part_of_an_api_key_longer_than_the_bound() {
        String key = "sk-proj-" + random(URL64, 9_000, 13);
        Run r = stream("key " + key + " end", 64);
        assertCut(r);
        assertNoPart(key, r.content());
    }

    @Test
    void should_find_a_card_padded_with_zero_width_characters_past_the_bound() {
        String zw = "\u200b".repeat(10_000);
        String card = "4111" + zw + " 1111 1111 1111";
        Run r = stream("card " + card + " ok", 50);
        assertThat(r.cut()).isNull();
        assertThat(r.content()).isEqualTo("card [CARD] ok");
    }

    @Test
    void should_cut_a_run_held_open_by_zero_width_characters_past_twice_the_bound() {
        String card = "4111" + "\u200b".repeat(20_000) + " 1111 1111 1111";
        Run r = stream("card " + card + " ok", 50);
        assertCut(r);
        assertThat(Normalized.of(r.content()).text()).doesNotContain("4111").doesNotContain("1111");
    }
}
