package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A live stream that declares a single-byte charset reading ASCII as ASCII (ISO-8859-1, windows-1252): each valid UTF-8
 * sequence in it is read as UTF-8 (as an SSE client reads every event stream), any other byte as the label says, and
 * the stream goes out as UTF-8. Before, a UTF-8 card grouped by no-break spaces (C2 A0) under an ISO-8859-1 label was
 * read as "4111Â 1111 ...": no card to the detectors, every digit of one to a reader. Each row is pushed whole and one
 * byte at a time (a UTF-8 sequence split between pieces).
 */
class LabelledCharsetStreamTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final Charset LATIN1 = StandardCharsets.ISO_8859_1;
    static final Charset CP1252 = Charset.forName("windows-1252");

    static String sse(String... contents) {
        StringBuilder s = new StringBuilder();
        for (String c : contents) {
            s.append("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"").append(c).append("\"}}]}\n\n");
        }
        return s.append("data: [DONE]\n\n").toString();
    }

    static Stream<Arguments> rows() {
        String nbspCard = "card 4111\u00a01111\u00a01111\u00a01111 für dich";
        return Stream.of(
                // UTF-8 bytes under a Latin-1 label: read as UTF-8, the card is found
                Arguments.of("text/event-stream; charset=ISO-8859-1", sse(nbspCard).getBytes(StandardCharsets.UTF_8),
                        "für dich"),
                Arguments.of("Text/Event-Stream; Charset=\"ISO-8859-1\"",
                        sse("card 4111\u00a01111", "\u00a01111\u00a01111 ok").getBytes(StandardCharsets.UTF_8), "ok"),
                Arguments.of("text/event-stream; charset=windows-1252", sse(nbspCard).getBytes(StandardCharsets.UTF_8),
                        "für dich"),
                Arguments.of("application/x-ndjson; charset=ISO-8859-1",
                        ("{\"response\":\"" + nbspCard + "\",\"done\":false}\n{\"response\":\"\",\"done\":true}\n")
                                .getBytes(StandardCharsets.UTF_8), "für dich"),
                // really Latin-1 / windows-1252 (A0 alone, FC alone: not UTF-8): read as the label says
                Arguments.of("text/event-stream; charset=ISO-8859-1", sse(nbspCard).getBytes(LATIN1), "für dich"),
                Arguments.of("text/event-stream; charset=windows-1252", sse(nbspCard + " \u20ac5").getBytes(CP1252),
                        "für dich €5"));
    }

    /** The text a client joins: every content (SSE) or response (NDJSON) string, in order. */
    static String text(String stream) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"(?:content|response)\":\"((?:[^\"\\\\]|\\\\.)*)\"")
                .matcher(stream);
        StringBuilder t = new StringBuilder();
        while (m.find()) {
            t.append(m.group(1));
        }
        return t.toString();
    }

    @ParameterizedTest
    @MethodSource("rows")
    void should_mask_the_card_and_keep_the_text_readable_whole_and_byte_by_byte(String contentType, byte[] body,
                                                                              String kept) {
        for (boolean bytewise : new boolean[]{false, true}) {
            List<Redaction> reports = new ArrayList<>();
            AnswerMasker.Streaming s = AnswerMasker.streaming(contentType, MASKER, reports::add);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (bytewise) {
                for (byte b : body) {
                    out.writeBytes(s.push(new byte[]{b}));
                }
            } else {
                out.writeBytes(s.push(body));
            }
            out.writeBytes(s.finish());
            String read = out.toString(StandardCharsets.UTF_8); // it goes out as UTF-8 (streamContentType)
            String digits = read.replaceAll("[^0-9]", "");
            assertThat(digits).as("%s (bytewise %s): %s", contentType, bytewise, read).doesNotContain("4111111111111111")
                    .doesNotContain("41111111");
            assertThat(text(read)).as("%s (bytewise %s): %s", contentType, bytewise, read).contains(kept);
            assertThat(read).as("%s (bytewise %s)", contentType, bytewise).doesNotContain("\u00c2")
                    .doesNotContain("\ufffd");
            assertThat(reports).as("%s (bytewise %s)", contentType, bytewise).isNotEmpty();
        }
    }
}
