package attest.masking;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A terminal hyperlink (OSC 8: {@code ESC ] 8 ; params ; URI ST}, ST being BEL or {@code ESC \}) between a card's
 * groups: a terminal shows nothing of it, so its reader reads the card; but its text (the link's target) was left in
 * for detection, which split the card. Terminal strings (OSC, DCS, SOS, PM, APC) are now removed for detection like a
 * CSI colour sequence, and what they hold (the link's target) is scanned on its own: an entity in it is masked too.
 */
class TerminalEscapesTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final String ESC = "\u001b";

    static String link(String uri, String st) {
        return ESC + "]8;;" + uri + st;
    }

    @ParameterizedTest
    @ValueSource(strings = {"\u0007", "\u001b\\"})
    void should_mask_a_card_whose_groups_are_joined_by_hyperlinks(String st) {
        assertMasked("card 4111" + link("https://example.com/a", st) + " 1111" + link("", st) + " 1111 1111 ok");
        assertMasked("card 4111 " + link("https://example.com/a", st) + "1111 " + link("", st) + "1111 1111 ok");
        assertMasked("card 4111 1111" + ESC + "]8;id=x:y;https://example.com/" + st + " 1111 1111 ok");
        // a hyperlink and a colour together
        assertMasked("card 4111" + link("https://e.example", st) + ESC + "[1;31m 1111" + ESC + "[0m" + link("", st)
                + " 1111 1111 ok");
        // the C1 forms
        assertMasked("card 4111\u009d8;;https://e.example\u009c1111 1111 1111 ok");
    }

    @ParameterizedTest
    @ValueSource(strings = {ESC + "P1$r0m" + ESC + "\\", ESC + "_apc" + ESC + "\\", ESC + "^pm" + ESC + "\\",
        ESC + "X" + "sos" + ESC + "\\", ESC + "]0;title\u0007", ESC + "[0m", ESC + "[38;5;196m"})
    void should_mask_a_card_split_by_any_other_invisible_sequence(String seq) {
        assertMasked("card 4111" + seq + "1111" + seq + "1111" + seq + "1111 ok");
        assertMasked("card 4111 " + seq + "1111 " + seq + "1111 1111 ok");
    }

    @ParameterizedTest
    @ValueSource(strings = {"\u0007", "\u001b\\"})
    void should_mask_what_the_link_target_holds(String st) {
        String text = "pay " + link("https://pay.example/checkout?pan=4111111111111111", st) + "here"
                + link("", st) + " ok";
        String masked = MASKER.mask(text, null, r -> { });
        assertThat(masked).doesNotContain("4111111111111111").contains("[CARD]").endsWith(" ok")
                .contains("here");
        String mail = "mail " + link("mailto:jane.doe@example.com", st) + "me" + link("", st) + " ok";
        assertThat(MASKER.mask(mail, null, r -> { })).doesNotContain("jane.doe@example.com").contains("[EMAIL]");
        assertMasked(text);
        assertMasked(mail);
    }

    @Test
    void should_report_a_card_split_by_a_link_once() {
        List<Redaction> found = new ArrayList<>();
        String masked = MASKER.mask("card 4111" + link("https://example.com", "\u0007") + "1111 1111 1111 ok", null,
                found::add);
        assertThat(masked).isEqualTo("card [CARD] ok");
        assertThat(found).extracting(Redaction::entityType).containsExactly("CARD");
    }

    @Test
    void should_leave_links_without_entities_unchanged() {
        String text = "see " + link("https://example.com/docs/2024/12", "\u0007") + "the docs" + link("", "\u0007")
                + " and " + link("https://example.com", ESC + "\\") + "home" + link("", ESC + "\\") + ", 42 ok";
        assertThat(MASKER.mask(text, null, r -> { })).isEqualTo(text);
        for (int i = 1; i < text.length(); i++) {
            StreamingTextMasker m = new StreamingTextMasker(MASKER, "/t", r -> { });
            assertThat(m.push(text.substring(0, i)) + m.push(text.substring(i)) + m.finish()).as("split %d", i)
                    .isEqualTo(text);
        }
    }

    @Test
    void should_read_an_unterminated_or_overlong_string_as_text() {
        // no terminator: the digits after it are read as they stand (here: a card)
        assertMasked("card " + ESC + "]8;;4111 1111 1111 1111 ok");
        String overlong = "card 4111" + ESC + "]8;;" + "x".repeat(4096) + "\u00071111 1111 1111 ok";
        assertThat(MASKER.mask(overlong, null, r -> { })).contains("4111").contains("1111 1111 1111");
    }

    @Test
    void should_scan_many_hyperlinks_in_linear_time() {
        String small = (ESC + "]8;;https://e.example/1" + "\u0007" + "a 4111 ").repeat(150);
        String large = (ESC + "]8;;https://e.example/1" + "\u0007" + "a 4111 ").repeat(2400);
        String starts = ESC + "]" + "a".repeat(64_000);
        LinearTimeTest.bestNanos(small);
        LinearTimeTest.bestNanos(large);
        long t1 = Math.max(LinearTimeTest.bestNanos(small), 50_000);
        assertThat(LinearTimeTest.bestNanos(large)).isLessThan(t1 * 48);
        String c1 = "\u009da".repeat(32_000);
        assertThat(LinearTimeTest.bestNanos(c1)).isLessThan(250_000_000L);
        assertThat(LinearTimeTest.bestNanos(starts)).isLessThan(250_000_000L);
    }

    static void assertMasked(String text) {
        String plain = MASKER.mask(text, null, r -> { });
        assertThat(plain).as(InvisibleSeparatorsTest.escape(text)).doesNotContain("4111").doesNotContain("1111")
                .doesNotContain("jane.doe").endsWith(" ok");
        for (int split = 1; split < text.length(); split++) {
            StreamingTextMasker m = new StreamingTextMasker(MASKER, "/t", r -> { });
            String out = m.push(text.substring(0, split)) + m.push(text.substring(split)) + m.finish();
            assertThat(out).as("split %d of %s", split, InvisibleSeparatorsTest.escape(text)).isEqualTo(plain);
        }
    }
}
