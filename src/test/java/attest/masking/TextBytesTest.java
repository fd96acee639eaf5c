package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A text answer as its reader decodes it: one byte that is not UTF-8 does not hide the Unicode forms around it
 * (a UTF-8 reader shows the byte as U+FFFD and the rest as written), and every byte but the finding comes back.
 */
class TextBytesTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    static byte[] withStrayByte(String text) {
        byte[] b = (text + " ~").getBytes(StandardCharsets.UTF_8);
        b[b.length - 1] = (byte) 0xFF;
        return b;
    }

    @ParameterizedTest
    @ValueSource(strings = {"card 4111\u00a01111\u00a01111\u00a01111 ok",
        "card \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 ok",
        "mail j\u00fcrgen@k\u00f6ln-messe.example ok", "ssn 536\u201190\u20114399 ok", "card 4111 1111 1111 1111 ok"})
    void should_mask_unicode_forms_beside_a_byte_that_is_not_utf8(String text) {
        byte[] body = withStrayByte("\u2603 " + text);
        byte[] out = AnswerMasker.mask(body, "text/plain", MASKER, r -> { });
        String read = new String(out, StandardCharsets.UTF_8);
        assertThat(read).as(read).contains("[").doesNotContain("1111").doesNotContain("\uff11\uff11").doesNotContain("@")
                .doesNotContain("4399").startsWith("\u2603 ").endsWith(" ok \uFFFD");
        assertThat(out[out.length - 1]).as("the stray byte comes back as it came").isEqualTo((byte) 0xFF);
    }

    @ParameterizedTest
    @ValueSource(strings = {"UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32", "Shift_JIS", "windows-1252"})
    void should_mask_a_text_answer_in_the_charset_it_declares(String charset) {
        Charset cs = Charset.forName(charset);
        String text = "card 4111 1111 1111 1111 mail jane.doe@example.com ssn 536-90-4399 ok";
        byte[] out = AnswerMasker.mask(text.getBytes(cs), "text/plain; charset=\"" + charset + "\"", MASKER, r -> { });
        assertThat(new String(out, cs)).isEqualTo("card [CARD] mail [EMAIL] ssn [SSN] ok");
        byte[] json = ("{\"content\":\"" + text + "\"}").getBytes(cs);
        assertThat(new String(AnswerMasker.mask(json, "application/json; charset=" + charset, MASKER, r -> { }), cs))
                .isEqualTo("{\"content\":\"card [CARD] mail [EMAIL] ssn [SSN] ok\"}");
    }

    @ParameterizedTest
    @ValueSource(strings = {"jane.doe&#64;example.com", "jane.doe&#x40;example.com", "jane.doe&commat;example.com",
        "jane.doe&#64example.com", "4111&nbsp;1111&nbsp;1111&nbsp;1111", "&#52;111 1111 1111 1111", "536&#45;90&#45;4399"})
    void should_mask_an_entity_written_with_html_character_references(String entity) {
        String page = "<p>Contact: " + entity + ".</p>";
        String out = new String(AnswerMasker.mask(page.getBytes(StandardCharsets.UTF_8), "text/html", MASKER, r -> { }),
                StandardCharsets.UTF_8);
        assertThat(out).startsWith("<p>Contact: [").endsWith("].</p>").doesNotContain("&");
        // a stream, cut at every point
        for (int cut = 1; cut < page.length(); cut++) {
            StringBuilder joined = new StringBuilder();
            String sse = "data: " + page.substring(0, cut) + "\n\ndata: " + page.substring(cut) + "\n\n";
            AnswerMasker.Streaming m = AnswerMasker.streaming("text/event-stream", MASKER, r -> { });
            String got = new String(m.push(sse.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8)
                    + new String(m.finish(), StandardCharsets.UTF_8);
            for (String line : got.split("\n")) {
                if (line.startsWith("data: ")) {
                    joined.append(line.substring(6));
                }
            }
            assertThat(joined.toString()).as("cut at %d", cut).startsWith("<p>Contact: [").endsWith("].</p>");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jane\\.doe\\@example\\.com", "4111\\-1111\\-1111\\-1111", "jane.doe%40example.com",
        "4111%201111%201111%201111", "536%2D90%2D4399", "jane\\_doe@example.com"})
    void should_mask_an_entity_a_markdown_renderer_or_a_browser_decodes(String entity) {
        String text = "Contact: " + entity + " today";
        String out = MASKER.mask(text, null, r -> { });
        assertThat(out).startsWith("Contact: [").endsWith("] today");
    }
}
