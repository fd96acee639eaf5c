package attest.masking;

import org.junit.jupiter.api.Test;
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
 * A stream whose bytes are UTF-8 but whose label names a multi-byte charset (Shift_JIS, EUC-JP, GBK, GB18030, Big5,
 * EUC-KR). An SSE client (the OpenAI SDK; the HTML SSE spec mandates UTF-8) reads it as UTF-8 whatever the label. It was
 * decoded by the label alone: a card grouped by no-break spaces (C2 A0) read "4111聽1111 ..." under GBK and
 * "4111ﾂ?1111 ..." under Shift_JIS, no card to the detectors, and went out so (relabelled UTF-8): every digit of the card,
 * readable, on the caller's stream. Now a UTF-8 character that the detectors read (a space, a dash, a digit, a format
 * character) is read as UTF-8 under such a label too, and text really in the label's charset is still read by it.
 */
class MultiByteLabelStreamTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final List<String> LABELS = List.of("Shift_JIS", "windows-31j", "EUC-JP", "GBK", "GB18030", "Big5",
            "EUC-KR");
    /** Cards written with a separator (or digits) that are not ASCII, and an SSN with en dashes. */
    static final List<String> ENTITIES = List.of(
            "4111\u00a01111\u00a01111\u00a01111", // no-break space
            "4111\u20131111\u20131111\u20131111", // en dash
            "4111\u20111111\u20111111\u20111111", // non-breaking hyphen
            "4111\u202f1111\u202f1111\u202f1111", // narrow no-break space
            "4111\u200b1111\u200b1111\u200b1111", // zero-width space
            "4111\u30001111\u30001111\u30001111", // ideographic space
            "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11",
            "SSN 536\u201390\u20134399");

    static String sse(String... contents) {
        StringBuilder s = new StringBuilder();
        for (String c : contents) {
            s.append("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"").append(c).append("\"}}]}\n\n");
        }
        return s.append("data: [DONE]\n\n").toString();
    }

    static String ndjson(String... responses) {
        StringBuilder s = new StringBuilder();
        for (String r : responses) {
            s.append("{\"response\":\"").append(r).append("\",\"done\":false}\n");
        }
        return s.append("{\"response\":\"\",\"done\":true}\n").toString();
    }

    static Stream<Arguments> rows() {
        List<Arguments> rows = new ArrayList<>();
        for (String label : LABELS) {
            for (String entity : ENTITIES) {
                String text = "pay with " + entity + " today";
                int half = text.length() / 2;
                rows.add(Arguments.of("text/event-stream; charset=" + label,
                        sse(text.substring(0, half), text.substring(half)).getBytes(StandardCharsets.UTF_8)));
                rows.add(Arguments.of("application/x-ndjson; charset=" + label,
                        ndjson(text.substring(0, half), text.substring(half)).getBytes(StandardCharsets.UTF_8)));
            }
        }
        return rows.stream();
    }

    /** The stream as the caller gets it (UTF-8, relabelled), pushed whole or one byte at a time. */
    static String run(String contentType, byte[] body, boolean bytewise, List<Redaction> reports) {
        AnswerMasker.Streaming s = AnswerMasker.streaming(contentType, MASKER, reports::add);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (bytewise) {
            for (byte b : body) {
                out.writeBytes(s.push(new byte[] {b}));
            }
        } else {
            out.writeBytes(s.push(body));
        }
        out.writeBytes(s.finish());
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Every digit a reader sees, of any script, in order (separators of every kind and mojibake between them dropped). */
    static String digits(String read) {
        return Normalized.of(read).text().replaceAll("[^0-9]", "");
    }

    @ParameterizedTest
    @MethodSource("rows")
    void should_mask_a_utf8_entity_under_a_multi_byte_label_whole_and_byte_by_byte(String contentType, byte[] body) {
        for (boolean bytewise : new boolean[] {false, true}) {
            List<Redaction> reports = new ArrayList<>();
            String read = run(contentType, body, bytewise, reports);
            assertThat(digits(read)).as("%s (bytewise %s): %s", contentType, bytewise, read)
                    .doesNotContain("4111").doesNotContain("1111").doesNotContain("536904399");
            assertThat(read).as("%s (bytewise %s)", contentType, bytewise).contains("pay with ").contains(" today");
            assertThat(reports).as("%s (bytewise %s)", contentType, bytewise).isNotEmpty();
        }
    }

    /** Text really in the label's charset is still read by the label: its card masked, its words readable. */
    @Test
    void should_read_text_in_the_labels_charset_by_the_label() {
        Map<String, String> texts = Map.of(
                "Shift_JIS", "カード番号は４１１１　１１１１　１１１１　１１１１です。ありがとう",
                "EUC-JP", "カード番号は４１１１　１１１１　１１１１　１１１１です。ありがとう",
                "GBK", "卡号是４１１１　１１１１　１１１１　１１１１，谢谢您的耐心",
                "GB18030", "卡号是4111\u00a01111\u00a01111\u00a01111，谢谢您的耐心",
                "Big5", "卡號是４１１１　１１１１　１１１１　１１１１，謝謝您",
                "EUC-KR", "카드 번호는 ４１１１　１１１１　１１１１　１１１１ 입니다 감사합니다");
        texts.forEach((label, text) -> {
            Charset cs = Charset.forName(label);
            int half = text.length() / 2;
            byte[] body = sse(text.substring(0, half), text.substring(half)).getBytes(cs);
            for (boolean bytewise : new boolean[] {false, true}) {
                List<Redaction> reports = new ArrayList<>();
                String read = run("text/event-stream; charset=" + label, body, bytewise, reports);
                assertThat(digits(read)).as("%s (bytewise %s): %s", label, bytewise, read).doesNotContain("1111");
                assertThat(LabelledCharsetStreamTest.text(read)).as("%s (bytewise %s)", label, bytewise)
                        .contains("[CARD]").startsWith(text.substring(0, 2))
                        .endsWith(text.substring(text.length() - 3));
            }
        });
    }

    /**
     * A buffered answer (a held call's, or a live answer read whole) labelled so, with one byte that is not UTF-8
     * elsewhere in it: the UTF-8 pass over the whole body was skipped, and the label's reading alone went out.
     */
    @Test
    void should_mask_a_buffered_stream_under_a_multi_byte_label_with_a_stray_byte() {
        for (String label : LABELS) {
            byte[] head = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x".getBytes(StandardCharsets.UTF_8);
            byte[] rest = ("\"}}]}\n\n" + sse("card 4111\u00a01111\u00a01111\u00a01111 ok"))
                    .getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.writeBytes(head);
            body.write(0xFF); // no character of UTF-8
            body.writeBytes(rest);
            List<Redaction> reports = new ArrayList<>();
            String ct = "text/event-stream; charset=" + label;
            byte[] out = AnswerMasker.mask(body.toByteArray(), ct, MASKER, reports::add);
            String read = new String(out, StandardCharsets.UTF_8);
            assertThat(AnswerMasker.maskedContentType(ct)).isEqualTo("text/event-stream; charset=utf-8");
            assertThat(digits(read)).as("%s: %s", label, read).doesNotContain("4111").doesNotContain("1111");
            assertThat(read).as(label).contains("[CARD] ok");
        }
    }

    /** A label whose escape sequences make ASCII bytes other characters is read as it says, as before: masked so. */
    @Test
    void should_read_an_escaping_label_as_it_says() {
        String text = "カード４１１１　１１１１　１１１１　１１１１です";
        byte[] body = sse(text).getBytes(Charset.forName("ISO-2022-JP"));
        List<Redaction> reports = new ArrayList<>();
        String read = run("text/event-stream; charset=ISO-2022-JP", body, false, reports);
        assertThat(digits(read)).as(read).doesNotContain("1111");
        assertThat(LabelledCharsetStreamTest.text(read)).isEqualTo("カード[CARD]です");
        assertThat(AnswerMasker.LabelReader.of(Charset.forName("ISO-2022-JP"))).isNull();
        assertThat(AnswerMasker.LabelReader.of(StandardCharsets.UTF_16LE)).isNull();
        assertThat(AnswerMasker.LabelReader.of(Charset.forName("GBK"))).isNotNull();
    }
}
