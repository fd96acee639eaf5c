package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link SseMasker#lines} cuts a text at SSE line ends exactly as the regular expression it replaced did, with and
 * without trailing empty lines: every text of up to 6 characters over an alphabet of line ends and others, and
 * 200,000 random longer ones.
 */
class SseLinesTest {
    private static final Pattern LINES = Pattern.compile("\r\n|\r|\n");
    private static final char[] ALPHABET = {'a', '\r', '\n', ' ', 'é', ':'};

    private static void same(String text) {
        assertThat(SseMasker.lines(text, false)).as("%s", text.replace("\r", "\\r").replace("\n", "\\n"))
                .isEqualTo(Arrays.asList(LINES.split(text)));
        assertThat(SseMasker.lines(text, true)).as("%s (trailing kept)", text.replace("\r", "\\r").replace("\n", "\\n"))
                .isEqualTo(Arrays.asList(LINES.split(text, -1)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a", "\n", "\r", "\r\n", "\n\r", "\r\r\n", "data: x\n\n", "\nx", "x\r", "a\r\nb\rc\nd",
            "\n\n\n", "data: {\"a\":1}\r\ndata: 2\r\n\r\n"})
    void should_cut_lines_as_the_regular_expression_did(String text) {
        same(text);
    }

    @org.junit.jupiter.api.Test
    void should_cut_every_short_text_as_the_regular_expression_did() {
        // every text of 0..6 characters over the alphabet (6^6 = 46,656 of the longest)
        for (int length = 0; length <= 6; length++) {
            for (long k = 0, n = (long) Math.pow(ALPHABET.length, length); k < n; k++) {
                long v = k;
                char[] c = new char[length];
                for (int i = 0; i < length; i++) {
                    c[i] = ALPHABET[(int) (v % ALPHABET.length)];
                    v /= ALPHABET.length;
                }
                same(new String(c));
            }
        }
    }

    @org.junit.jupiter.api.Test
    void should_cut_random_longer_texts_as_the_regular_expression_did() {
        Random random = new Random(20261130);
        for (int k = 0; k < 200_000; k++) {
            char[] c = new char[7 + random.nextInt(40)];
            for (int i = 0; i < c.length; i++) {
                c[i] = ALPHABET[random.nextInt(ALPHABET.length)];
            }
            same(new String(c));
        }
        assertThat(SseMasker.lines("a\r\nb", true)).isEqualTo(List.of("a", "b"));
    }
}
