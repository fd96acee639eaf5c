package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An entity split by one line break (a soft line break: a markdown renderer shows it as a space, so a chat UI shows the
 * card whole; or a hard-wrapped run, {@code 4111111111\n111111}) was not masked: the detectors took the line break as
 * the end of a value. Each single line break is now also read as a space and as nothing, one break at a time; the
 * entity's characters on both sides of it are masked and the break itself is kept. A blank line (a paragraph) is a real
 * separation, and a column of numbers (a table, a CSV, a list, code) is not joined into an entity unless the joined
 * reading passes the entity's check.
 */
class SoftLineBreaksTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    /** Text before the break, text after it, and the entity type; the raw parts must not survive. */
    static Stream<Arguments> split() {
        List<Arguments> out = new ArrayList<>();
        String[][] cases = {
            {"Card 4111 1111", "1111 1111 ok", "CARD"},
            {"Card 4111 1111 1111", "1111 ok", "CARD"},
            {"card: 4111111111", "111111 ok", "CARD"},
            {"pay with 5555-5555-", "5555-4444 ok", "CARD"},
            {"amex 3782 822463", "10005 ok", "CARD"},
            {"wrapped 411111111111", "1111, ok", "CARD"},
            {"IBAN DE89 3704 0044", "0532 0130 00 ok", "IBAN"},
            {"account DE89370400440532", "013000 ok", "IBAN"},
            {"to GB82 WEST", "1234 5698 7654 32 ok", "IBAN"},
            {"SSN 536-90-", "4399 ok", "SSN"},
            {"her number is 536 90", "4399 ok", "SSN"},
            {"SSN: 53690", "4399 ok", "SSN"},
            {"phone +44 20 7946", "0958 ok", "PHONE"},
            {"call (415) 555-", "2671 ok", "PHONE"},
            {"call me at 415555", "2671 ok", "PHONE"},
            {"write to jane.doe@exam", "ple.com ok", "EMAIL"},
            {"write to jane.doe@", "example.com ok", "EMAIL"},
            {"write to jane.doe", "@example.com ok", "EMAIL"},
        };
        for (String[] c : cases) {
            for (String br : new String[] {"\n", "\r\n", " \n", "\n  "}) {
                out.add(Arguments.of(c[0], br, c[1], c[2]));
            }
        }
        return out.stream();
    }

    /** The raw characters of the entity on each side of the break (the last / first token with digits). */
    static String[] parts(String before, String after) {
        String head = before.substring(before.lastIndexOf(' ') + 1);
        if (!head.matches(".*\\d.*") || head.length() < 4) {
            // grouped: the last two tokens
            String trimmed = before.substring(0, before.lastIndexOf(' '));
            head = before.substring(trimmed.lastIndexOf(' ') + 1);
        }
        String tail = after.substring(0, after.indexOf(" ok")).replace(",", "");
        return new String[] {head, tail};
    }

    static void assertMaskedAcross(String masked, String before, String br, String after, String type) {
        String[] p = parts(before, after);
        assertThat(masked).as(InvisibleSeparatorsTest.escape(before + br + after))
                .doesNotContain(p[0]).doesNotContain(p[1]).contains("[" + type + "]").contains(br.strip().isEmpty()
                        ? br.replace(" ", "") : br).endsWith(" ok");
    }

    @ParameterizedTest
    @MethodSource("split")
    void should_mask_an_entity_split_by_one_line_break_in_one_text(String before, String br, String after,
                                                                   String type) {
        String masked = MASKER.mask(before + br + after, null, r -> { });
        assertMaskedAcross(masked, before, br, after, type);
    }

    @ParameterizedTest
    @MethodSource("split")
    void should_mask_it_in_a_stream_whatever_the_chunks(String before, String br, String after, String type) {
        String text = before + br + after;
        String whole = MASKER.mask(text, null, r -> { });
        // the break alone in a chunk, then the rest later
        List<List<String>> splits = new ArrayList<>();
        splits.add(List.of(before, br, after));
        splits.add(List.of(before + br, after));
        splits.add(List.of(before, br + after));
        for (int i = 1; i < text.length(); i++) {
            splits.add(List.of(text.substring(0, i), text.substring(i)));
        }
        for (List<String> chunks : splits) {
            StreamingTextMasker m = new StreamingTextMasker(MASKER, "/t", r -> { });
            StringBuilder out = new StringBuilder();
            for (String c : chunks) {
                out.append(m.push(c));
            }
            out.append(m.finish());
            assertThat(out.toString()).as("%s", chunks.stream().map(InvisibleSeparatorsTest::escape).toList())
                    .isEqualTo(whole);
        }
        assertMaskedAcross(whole, before, br, after, type);
    }

    @ParameterizedTest
    @MethodSource("split")
    void should_mask_it_in_a_json_answer_and_in_streamed_chunks(String before, String br, String after, String type)
            throws Exception {
        String text = before + br + after;
        var answer = JSON.createObjectNode();
        answer.putArray("choices").addObject().putObject("message").put("role", "assistant").put("content", text);
        byte[] masked = AnswerMasker.mask(JSON.writeValueAsBytes(answer), "application/json", MASKER, r -> { });
        String content = JSON.readTree(masked).path("choices").path(0).path("message").path("content").asText();
        assertMaskedAcross(content, before, br, after, type);

        String upstream = SseMaskerTest.event(before, false) + SseMaskerTest.event(br, false)
                + SseMaskerTest.event(after, false) + SseMaskerTest.event(null, true) + "data: [DONE]\n\n";
        SseMasker m = new SseMasker(MASKER, r -> { });
        String out = new String(m.push(upstream.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8)
                + new String(m.finish(), StandardCharsets.UTF_8);
        assertMaskedAcross(SseMaskerTest.content(out), before, br, after, type);
    }

    @ParameterizedTest
    @MethodSource("split")
    void should_mask_it_across_two_data_lines_of_a_plain_event(String before, String br, String after, String type) {
        if (!br.strip().isEmpty() || br.startsWith(" ") || br.endsWith(" ")) {
            return; // the event's lines end the data line; the spaces are the lines' own
        }
        String upstream = "data: " + before + "\r\ndata: " + after + "\n\n";
        SseMasker m = new SseMasker(MASKER, r -> { });
        String out = new String(m.push(upstream.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8)
                + new String(m.finish(), StandardCharsets.UTF_8);
        String[] p = parts(before, after);
        assertThat(out).doesNotContain(p[0]).doesNotContain(p[1]).contains("[" + type + "]");
        // the client joins the lines with a line feed: the break is kept
        assertThat(out.lines().filter(l -> l.startsWith("data:")).count()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void should_keep_the_line_break_and_mask_both_sides() {
        assertThat(MASKER.mask("Card 4111 1111\n1111 1111 ok", null, r -> { })).isEqualTo("Card [CARD]\n ok");
        assertThat(MASKER.mask("Card 4111 1111\r\n1111 1111 ok", null, r -> { })).isEqualTo("Card [CARD]\r\n ok");
        List<Redaction> found = new ArrayList<>();
        MASKER.mask("a 4111111111\n111111 b", null, found::add);
        assertThat(found).hasSize(1).first().extracting(Redaction::entityType).isEqualTo("CARD");
    }

    @Test
    void should_show_only_the_last_four_of_a_split_card_when_partial() {
        Masker partial = new Masker(MaskingEngine.builtIn(), Map.of("CARD", Action.PARTIAL), Action.REDACT,
                "k".repeat(32).getBytes(StandardCharsets.UTF_8));
        assertThat(partial.mask("Card 5555 5555\n5555 4444 ok", null, r -> { }))
                .isEqualTo("Card [CARD ****4444]\n ok");
    }

    /** Text that has numbers on successive lines but no entity across a break: unchanged, whole and streamed. */
    @ParameterizedTest
    @ValueSource(strings = {
        // a blank line is a paragraph: a real separation
        "Card 4111 1111\n\n1111 1111 ok",
        "Card 4111 1111\r\n\r\n1111 1111 ok",
        "Card 4111 1111\n   \n1111 1111 ok",
        // joined, not a valid card
        "Card 4111 1111\n1111 1112 ok",
        "ref 4111111111\n111112 ok",
        // a markdown table
        "| order | amount |\n|---|---|\n| 4111 1111 | 1111 1111 |\n| 4111 1111 | 1111 1111 |",
        "| order |\n|---|\n| 41111111 |\n| 11111111 |",
        // a CSV, a number per line
        "order_id\n22222222\n41111111\n11111111\n",
        "22222222\n41111111\n11111111",
        "order_id\n41111111\n11111112\n",
        // a list of order numbers, one per line
        "Orders:\n- 4111 1111\n- 1111 1111\n- 2222 2222",
        "Orders:\n1. 41111111\n2. 11111111",
        "Orders:\n* 4111 1111\n* 1111 1111",
        // code with numbers on successive lines
        "int[] ids = {\n    41111111,\n    11111111,\n    22222222\n};",
        "a = 4111 1111\nb = 1111 1111",
        "    22222222\n    41111111\n    11111111",
        // dates, versions, times
        "released 2024-01-15\n2024-02-20 and 1.2.3\n4.5.6 at 10:30\n11:45",
        "total 1234\n5678 items",
        "phone list:\n030 1234\n030 5678",
    })
    void should_leave_columns_and_paragraphs_alone(String text) {
        assertThat(MASKER.mask(text, null, r -> { })).as(InvisibleSeparatorsTest.escape(text)).isEqualTo(text);
        for (int i = 1; i < text.length(); i++) {
            StreamingTextMasker m = new StreamingTextMasker(MASKER, "/t", r -> { });
            String out = m.push(text.substring(0, i)) + m.push(text.substring(i)) + m.finish();
            assertThat(out).as("split at %d", i).isEqualTo(text);
        }
    }

    @Test
    void should_join_one_break_at_a_time() {
        // four lines of four digits: no two of them make a card, and the four are never read as one
        String text = "4111\n1111\n1111\n1111";
        assertThat(MASKER.mask(text, null, r -> { })).isEqualTo(text);
        // a card on one line next to a number on the next is masked as itself, the number is left
        assertThat(MASKER.mask("card 4111 1111 1111 1111\n2024 ok", null, r -> { }))
                .isEqualTo("card [CARD]\n2024 ok");
    }

    @Test
    void should_not_hold_more_than_the_runs_around_one_break_in_a_stream() {
        StreamingTextMasker m = new StreamingTextMasker(MASKER, "/t", r -> { });
        String released = m.push("Some prose.\nCard 4111 1111\n");
        assertThat(released).isEqualTo("Some prose.\nCard ");
        assertThat(m.held()).isEqualTo("4111 1111\n".length());
        released += m.push("1111 1111 ok then more");
        released += m.finish();
        assertThat(released).isEqualTo("Some prose.\nCard [CARD]\n ok then more");
        // a blank line: nothing is held for it
        StreamingTextMasker p = new StreamingTextMasker(MASKER, "/t", r -> { });
        assertThat(p.push("Card 4111 1111\n\n")).isEqualTo("Card 4111 1111\n\n");
    }

    @Test
    void should_scan_many_short_lines_in_linear_time() {
        String small = "a 4111 1111\n".repeat(400);
        String large = "a 4111 1111\n".repeat(6400);
        LinearTimeTest.bestNanos(small);
        LinearTimeTest.bestNanos(large);
        long t1 = Math.max(LinearTimeTest.bestNanos(small), 50_000);
        long t16 = LinearTimeTest.bestNanos(large);
        assertThat(t16).as("%d ns for 4k, %d ns for 64k", t1, t16).isLessThan(t1 * 48);
        String longLine = "1 ".repeat(20_000) + "\n" + "1 ".repeat(20_000);
        long t = LinearTimeTest.bestNanos(longLine);
        assertThat(t).isLessThan(250_000_000L);
    }
}
