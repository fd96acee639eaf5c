package attest.masking;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Characters that a reader does not show although they are not format characters: ASCII controls (NUL, BEL, DEL),
 * C1 controls, the combining grapheme joiner, variation selectors, the Hangul fillers, the Khmer inherent vowels;
 * the braille blank, shown as a blank cell; a combining mark on a digit (the keycap of {@code 4️⃣}, an accent); a
 * terminal's control sequence ({@code ESC[31m}), which a command-line client does not show. Between
 * a card's groups, or its digits, each hid the card from the detectors while the reader read every digit of it: only
 * format characters were removed for detection. Masked now, plain and split at every point of a stream.
 */
class InvisibleSeparatorsTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    @ParameterizedTest
    @ValueSource(strings = {"\u0000", "\u0007", "\u007f", "\u0080", "\u009b", "\u034f", "\u115f", "\u1160", "\u3164",
        "\uffa0", "\ufe0f", "\u17b4", "\u180b", "\u2800", "\u0000 ", " \u0007", "\u001b[0m", "\u001b[1;31m",
        " \u001b[38;5;196m"})
    void should_mask_a_card_whose_groups_are_joined_by_what_a_reader_does_not_show(String sep) {
        String text = "card 4111" + sep + "1111" + sep + "1111" + sep + "1111 ok";
        assertMasked(text);
    }

    @Test
    void should_mask_keycap_and_accented_digits() {
        StringBuilder keycaps = new StringBuilder("card ");
        for (char c : "4111 1111 1111 1111".toCharArray()) {
            keycaps.append(c == ' ' ? " " : c + "\ufe0f\u20e3");
        }
        assertMasked(keycaps.append(" ok").toString());
        assertMasked("card 4\u03011\u03011\u03011\u0301 1111 1111 1111 ok");
        assertMasked("SSN 5\u03003\u03006-90-4399 ok");
    }

    @Test
    void should_leave_text_with_such_characters_but_no_entity_unchanged() {
        String text = "version 1\ufe0f\u20e3 of 2\u0301, tab\there, bell\u0007, café \u3164 ok";
        assertThat(MASKER.mask(text, null, r -> { })).isEqualTo(text);
    }

    static void assertMasked(String text) {
        String plain = MASKER.mask(text, null, r -> { });
        assertThat(plain).as(escape(text)).doesNotContain("4111").doesNotContain("1111").doesNotContain("4399")
                .endsWith(" ok");
        for (int split = 1; split < text.length(); split++) {
            StreamingTextMasker m = new StreamingTextMasker(MASKER, "/t", r -> { });
            String out = m.push(text.substring(0, split)) + m.push(text.substring(split)) + m.finish();
            assertThat(out).as("split %d of %s", split, escape(text)).isEqualTo(plain);
        }
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> b.append(c < 0x20 || c >= 0x7f ? String.format("\\u%04x", c) : String.valueOf((char) c)));
        return b.toString();
    }
}
