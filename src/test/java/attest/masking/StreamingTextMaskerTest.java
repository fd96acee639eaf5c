package attest.masking;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Entities split across stream pieces at every position, in 2 and in 3 pieces. Released text is never
 * taken back, so "the concatenation of everything released equals the text masked in one go" proves that
 * no piece of an entity was ever released raw.
 */
class StreamingTextMaskerTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    static String oneShot(String text) {
        return MASKER.mask(text, null, r -> { });
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "536-90-4399",
            "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "jane.doe@example.com",
            "(415) 555-2671", "+44 20 7946 0958", "192.168.10.7", "2001:db8:85a3::8a2e:370:7334",
            "sk-proj-abcdefghijklmnopqrstuvwxyz012345", "AKIAIOSFODNN7EXAMPLE",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"})
    void should_never_release_part_of_an_entity_split_in_two_or_three(String entity) {
        everySplitMatchesThePlainRun(entity);
    }

    /** Full-width and other Unicode forms of digits, plus signs, separators and spaces, split anywhere. */
    static java.util.stream.Stream<String> unicodeForms() {
        return java.util.stream.Stream.of(
                "\uFF15\uFF11\uFF11\uFF16\uFF0D\uFF14\uFF18\uFF16\uFF13\uFF0D\uFF12\uFF19\uFF18\uFF10"
                        + "\uFF0D\uFF13\uFF14\uFF11\uFF16",                         // ５１１６－４８６３－２９８０－３４１６
                fw("4111") + "\u3000" + fw("1111") + "\u3000" + fw("1111") + "\u3000" + fw("1111"),
                fw("3782") + "\u2009" + fw("822463") + "\u2009" + fw("10005"),
                "4111\u20131111\u20141111\u22121111",                                // en dash, em dash, minus
                "6011\u202F0009\u202F9013\u202F9424",                                // narrow NBSP
                digits("4111 1111 1111 1111", 0x0660),                                  // Arabic-Indic
                digits("4111-1111-1111-1111", 0x0966),                                  // Devanagari
                digits("4111111111111111", 0x1D7CE),                                    // mathematical bold
                "4111\u200B1111\u200B1111\u200B1111",                                // zero-width spaces
                "\uFF0B" + fw("18524514784"),                                          // ＋１８５２４５１４７８４
                "\uFE62" + fw("44") + "\u3000" + fw("20") + "\u3000" + fw("7946") + "\u3000" + fw("0958"),
                fw("(415)") + " " + fw("555") + "\uFF0D" + fw("2671"),
                fw("415") + "\uFF0E" + fw("555") + "\uFF0E" + fw("2671"),               // full-width dots
                fw("536") + "\uFF0D" + fw("90") + "\uFF0D" + fw("4399"),
                "536\u00A090\u00A04399",
                fw("NL91ABNA0417164300"),
                "NL91\u00A0ABNA\u00A00417\u00A01643\u00A000",
                "NL29\u202FARIA\u202F2456\u202F1630\u202F18",
                fw("NL29") + "\u3000" + fw("ARIA") + "\u3000" + fw("2456") + "\u3000" + fw("1630") + "\u3000" + fw("18"),
                fw("192.168.10.7"),
                fw("jane.doe") + "\uFF20" + fw("example.com"));
    }

    /** Full-width: ASCII 0x21..0x7E to U+FF01..U+FF5E. */
    static String fw(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c > 0x20 && c < 0x7F ? (char) (c - 0x20 + 0xFF00) : c);
        }
        return sb.toString();
    }

    static String digits(String s, int zero) {
        return MaskingCorpus.digitForm(s, zero);
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("unicodeForms")
    void should_find_unicode_forms_split_at_every_point_in_two_or_three_exactly_as_the_plain_run(String entity) {
        everySplitMatchesThePlainRun(entity);
    }

    static void everySplitMatchesThePlainRun(String entity) {
        everySplitMatchesThePlainRun("Here it is: ", entity, ", and that is all.");
    }

    /** Cards in their usual groupings (13: 4-4-5, 14: 4-6-4, 15: 4-6-5, 16: 4-4-4-4, 19: 4-4-4-4-3). */
    static final String[][] CARD_GROUPS = {
        {"4222", "2222", "22222"}, {"3622", "720627", "1667"}, {"3782", "822463", "10005"},
        {"5434", "5865", "9288", "0432"}, {"4111", "1111", "1111", "1111", "110"}};

    /** Every grouping joined by every space and dash form a model writes; full-width digits too. */
    static java.util.stream.Stream<String> groupedCards() {
        return cards(" ", "\u00A0", "\u202F", "\u2009", "\u3000", "\uFF0D", "\u2013");
    }

    /** Cards grouped by spaces only (a dash joins the groups into one token, which was always held). */
    static java.util.stream.Stream<String> spaceGroupedCards() {
        return cards(" ", "\u00A0", "\u202F", "\u2009", "\u3000");
    }

    static java.util.stream.Stream<String> cards(String... separators) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String[] g : CARD_GROUPS) {
            for (String sep : separators) {
                out.add(String.join(sep, g));
                out.add(fw(String.join(sep, g)));
            }
        }
        return out.stream();
    }

    /**
     * A card glued to its label ({@code pan=}): the hold-back judged the whole token "pan=5434" and, seeing a
     * lower-case letter, released it with the space after it before the rest of the card arrived.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("spaceGroupedCards")
    void should_never_release_the_first_group_of_a_card_glued_to_its_label(String card) {
        everySplitMatchesThePlainRun("payment declined pan=", card, "  ts=1");
    }

    /** A card after a Japanese label and before an ideographic full stop, split anywhere. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("groupedCards")
    void should_mask_a_card_in_japanese_text_split_anywhere(String card) {
        everySplitMatchesThePlainRun("\u30AB\u30FC\u30C9\u756A\u53F7\u306F", card, "\u3002\u3088\u308D\u3057\u304F");
    }

    /**
     * A private-key block: its END line looks like a run of upper-case groups, so the hold-back kept only that
     * line and released the body before it; the detector, which matches only whole blocks, then missed both.
     */
    @ParameterizedTest
    @ValueSource(strings = {"RSA ", "EC ", "OPENSSH ", ""})
    void should_never_release_part_of_a_private_key_block_split_in_two_or_three(String kind) {
        everySplitMatchesThePlainRun("credential ", "-----BEGIN " + kind + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA+b3/x"
                + "\nQ9dZ==\n-----END " + kind + "PRIVATE KEY-----", "\nthanks");
    }

    static void everySplitMatchesThePlainRun(String before, String entity, String after) {
        String text = before + entity + after;
        String expected = oneShot(text);
        assertThat(expected).as("plain run of %s", text).doesNotContain(entity).contains(before + "[")
                .endsWith("]" + after);
        for (int i = 1; i < text.length(); i++) {
            StreamingTextMasker m = new StreamingTextMasker(MASKER, null, r -> { });
            String got = m.push(text.substring(0, i)) + m.push(text.substring(i)) + m.finish();
            assertThat(got).as("split at %d", i).isEqualTo(expected);
        }
        int start = text.indexOf(entity);
        for (int i = 1; i < text.length(); i++) {
            for (int j = i + 1; j < text.length(); j++) {
                // every pair of cuts that touches the entity (cuts elsewhere are covered above)
                if (j < start || i > start + entity.length()) {
                    continue;
                }
                StreamingTextMasker m = new StreamingTextMasker(MASKER, null, r -> { });
                String got = m.push(text.substring(0, i)) + m.push(text.substring(i, j)) + m.push(text.substring(j))
                        + m.finish();
                assertThat(got).as("splits at %d and %d", i, j).isEqualTo(expected);
            }
        }
    }

    @Test
    void should_release_plain_text_at_once_and_hold_only_the_open_tail() {
        StreamingTextMasker m = new StreamingTextMasker(MASKER, null, r -> { });
        assertThat(m.push("Hello there, my card is ")).isEqualTo("Hello there, my card is ");
        assertThat(m.push("4111 1111")).isEmpty();
        assertThat(m.held()).isEqualTo("4111 1111".length());
        assertThat(m.push(" 1111 1111 and more")).isEqualTo("[CARD] and ");
        assertThat(m.finish()).isEqualTo("more");
    }

    @Test
    void should_drop_the_held_tail_when_the_stream_breaks_off_mid_entity() {
        StreamingTextMasker m = new StreamingTextMasker(MASKER, null, r -> { });
        String released = m.push("my card is 4111 1111 11");
        m.abandon();
        assertThat(released).isEqualTo("my card is ").doesNotContain("41");
        assertThat(m.finish()).isEmpty();
    }

    @Test
    void should_use_context_words_released_earlier() {
        StreamingTextMasker m = new StreamingTextMasker(MASKER, null, r -> { });
        String got = m.push("Your social security number is ") + m.push("53690") + m.push("4399.") + m.finish();
        assertThat(got).isEqualTo("Your social security number is [SSN].");
    }

    @Test
    void should_hold_an_unterminated_private_key_block() {
        StreamingTextMasker m = new StreamingTextMasker(MASKER, null, r -> { });
        String a = m.push("key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow IBAAKCAQEA ab cd\n");
        String b = m.push("more lines here\n-----END RSA PRIVATE KEY-----\ndone");
        assertThat(a + b + m.finish()).isEqualTo("key:\n[SECRET]\ndone");
    }
}
