package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

import static attest.masking.BinaryAnswersTest.CARD;
import static attest.masking.BinaryAnswersTest.EMAIL;
import static attest.masking.BinaryAnswersTest.ENTITIES;
import static attest.masking.BinaryAnswersTest.JUNK;
import static attest.masking.BinaryAnswersTest.MASKER;
import static attest.masking.BinaryAnswersTest.SSN;
import static attest.masking.BinaryAnswersTest.cat;
import static attest.masking.BinaryAnswersTest.random;
import static attest.masking.BinaryAnswersTest.sentence;
import static attest.masking.BinaryAnswersTest.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Answers whose {@code Content-Type} is in neither list: not a text type the masker knows, not a binary type it
 * scans, not media, PDF or an archive ({@code application/x-foo}, a vendor type, {@code model/*}, or no type at all).
 * They were masked as text only, so an entity that text masking does not read (UTF-16, base64) went out: a client that knows the type reads it all the same. Such an answer
 * is now masked as text and then read as binary is: refused when an entity is still found; masked, or passed byte for
 * byte, otherwise. Known text types keep the text path alone (their cost and behaviour unchanged).
 * <p>
 * Labels: LEAK (went out before the fix in the same commit), OK.
 */
class UnknownTypeAnswersTest {
    static final List<String> UNKNOWN = List.of("application/x-foo", "application/vnd.acme.result.v2",
            "model/gltf-binary", "x-custom/thing", "");

    enum Expect { REFUSED, MASKED, NOT_OUT, PASSED }

    record Row(String label, String name, byte[] body, Expect expect) {
    }

    static byte[] utf16le(String s) {
        return s.getBytes(StandardCharsets.UTF_16LE);
    }

    static List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        // UTF-16 is read by the text path already (its NULs skipped): masked in place, or refused, never out
        rows.add(new Row("OK", "a card in UTF-16LE between binary bytes", cat(JUNK, utf16le(sentence(CARD)), JUNK),
                Expect.NOT_OUT));
        rows.add(new Row("OK", "an SSN in UTF-16BE", cat(JUNK, sentence(SSN).getBytes(StandardCharsets.UTF_16BE)),
                Expect.NOT_OUT));
        rows.add(new Row("LEAK", "base64 of a sentence with a card", utf8("payload="
                + Base64.getEncoder().encodeToString(utf8(sentence(CARD))) + "\n"), Expect.REFUSED));
        rows.add(new Row("LEAK", "base64 of an email in a JSON string", utf8("{\"blob\":\""
                + Base64.getEncoder().encodeToString(utf8(sentence(EMAIL))) + "\"}"), Expect.REFUSED));
        rows.add(new Row("LEAK", "base64 of UTF-16 with an SSN", utf8(Base64.getEncoder().encodeToString(
                sentence(SSN).getBytes(StandardCharsets.UTF_16LE))), Expect.REFUSED));
        // binary by its bytes (tags and lengths): read as binary is and refused; it was masked as text before
        // 2026-12-02, its framing broken, and random bytes were rewritten so too (UnknownTypeHostileReviewTest)
        rows.add(new Row("OK", "a card in a protobuf string", BinaryAnswersTest.protobuf(sentence(CARD)),
                Expect.REFUSED));
        rows.add(new Row("OK", "a card in plain text", utf8("result: " + sentence(CARD)), Expect.MASKED));
        rows.add(new Row("OK", "an email in JSON", utf8("{\"text\":\"" + sentence(EMAIL) + "\"}"), Expect.MASKED));
        rows.add(new Row("OK", "clean text", utf8("The forecast is sunny, 21 degrees, order 1234567."),
                Expect.PASSED));
        rows.add(new Row("OK", "random binary", random(7, 4096), Expect.PASSED));
        return rows;
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> cases() {
        List<org.junit.jupiter.params.provider.Arguments> all = new ArrayList<>();
        for (String type : UNKNOWN) {
            for (Row r : rows()) {
                all.add(org.junit.jupiter.params.provider.Arguments.of(type, r));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "[{0}] {1}")
    @MethodSource("cases")
    void should_read_an_answer_of_an_unknown_type_as_text_and_as_binary(String type, Row row) {
        String contentType = type.isEmpty() ? null : type;
        List<Redaction> report = new ArrayList<>();
        switch (row.expect()) {
            case REFUSED -> {
                assertThatThrownBy(() -> AnswerMasker.mask(row.body(), contentType, MASKER, report::add))
                        .isInstanceOf(MaskingFailedException.class);
                assertThat(report).anySatisfy(r -> assertThat(r.action()).isEqualTo("refuse"));
            }
            case MASKED -> {
                String text = new String(AnswerMasker.mask(row.body(), contentType, MASKER, report::add),
                        StandardCharsets.UTF_8);
                for (String e : ENTITIES) {
                    assertThat(text).doesNotContain(e);
                }
                assertThat(text).contains("as requested.");
                assertThat(report).isNotEmpty().noneSatisfy(r -> assertThat(r.action()).isEqualTo("refuse"));
            }
            case NOT_OUT -> {
                byte[] out;
                try {
                    out = AnswerMasker.mask(row.body(), contentType, MASKER, report::add);
                } catch (MaskingFailedException refused) {
                    return;
                }
                for (java.nio.charset.Charset cs : List.of(StandardCharsets.UTF_8, StandardCharsets.UTF_16LE,
                        StandardCharsets.UTF_16BE, StandardCharsets.ISO_8859_1)) {
                    String text = new String(out, cs).replace("\0", "");
                    for (String e : ENTITIES) {
                        assertThat(text).as(cs.name()).doesNotContain(e);
                    }
                }
                assertThat(report).isNotEmpty();
            }
            case PASSED -> {
                assertThat(AnswerMasker.mask(row.body(), contentType, MASKER, report::add)).isEqualTo(row.body());
                assertThat(report).isEmpty();
            }
        }
    }

    /** Known text types keep the text path alone: base64 in a text/plain answer is text, as before. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"text/plain", "application/json", "text/html",
            "application/xml", "application/problem+json"})
    void should_leave_known_text_types_on_the_text_path(String type) {
        byte[] body = utf8("payload=" + Base64.getEncoder().encodeToString(utf8(sentence(CARD))));
        List<Redaction> report = new ArrayList<>();
        assertThat(AnswerMasker.mask(body, type, MASKER, report::add)).isEqualTo(body);
        assertThat(report).isEmpty();
    }
}
