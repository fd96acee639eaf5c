package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The common chat-completions chunk is masked without a tree ({@link EventTexts#chunk}). Against the tree path
 * (the same masker with it switched off), on streams it was not written for: every output event must be the
 * same JSON (numbers within a double's range: beyond it the tree rewrote them), with the same redactions, whatever the stream holds (entities split across events, escapes,
 * surrogate pairs, other fields and layouts, logprobs, tool calls, repeated names, text after the JSON).
 */
class PlainChunkTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Masker MASKER = SseMaskerTest.MASKER;

    record Run(List<Object> events, List<String> reports) {
    }

    static Run run(String stream, boolean plain, int[] cuts) {
        List<String> reports = new ArrayList<>();
        SseMasker m = new SseMasker(MASKER, r -> reports.add(r.entityType() + "@" + r.location()), plain);
        byte[] in = stream.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder();
        int at = 0;
        for (int cut : cuts) {
            int to = Math.min(in.length, Math.max(at, cut));
            out.append(new String(m.push(java.util.Arrays.copyOfRange(in, at, to)), StandardCharsets.UTF_8));
            at = to;
        }
        out.append(new String(m.push(java.util.Arrays.copyOfRange(in, at, in.length)), StandardCharsets.UTF_8));
        out.append(new String(m.finish(), StandardCharsets.UTF_8));
        return new Run(events(out.toString()), reports);
    }

    /** Each event as its other lines and its data, parsed when it is JSON (names in any order). */
    static List<Object> events(String out) {
        List<Object> events = new ArrayList<>();
        for (String e : out.split("\n\n")) {
            StringBuilder data = null;
            StringBuilder rest = new StringBuilder();
            for (String line : e.split("\n")) {
                if (line.startsWith("data:")) {
                    String v = line.substring(line.startsWith("data: ") ? 6 : 5);
                    data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
                } else {
                    rest.append(line).append('|');
                }
            }
            String d = data == null ? "" : data.toString();
            Object parsed = d;
            try {
                parsed = JSON.readTree(d);
            } catch (Exception notJson) {
                // as it is
            }
            events.add(List.of(rest.toString(), parsed));
        }
        return events;
    }

    static String sameAsTree(String stream, int[] cuts) {
        Run plain = run(stream, true, cuts);
        Run tree = run(stream, false, cuts);
        for (int i = 0; i < Math.min(plain.events().size(), tree.events().size()); i++) {
            assertThat(plain.events().get(i)).as("event %d of %s", i, stream).isEqualTo(tree.events().get(i));
        }
        assertThat(plain.events()).as("events of %s", stream).isEqualTo(tree.events());
        assertThat(plain.reports()).as("redactions of %s", stream).isEqualTo(tree.reports());
        return plain.events().toString();
    }

    static final String[] WORDS = {"the", "card", "is", "ssn:", "order", "12345", "mail", "at", "on", "2026-11-25",
        "ok.", "Sure,", "naïve", "😀", "日本語", "tab\there", "quote\"d", "back\\slash", "line\nbreak", "é"};

    /** A chunk: the common shape mostly, sometimes one with something else in it. */
    static String chunk(Random r, String content, boolean last) {
        StringBuilder c = new StringBuilder("{");
        String sp = r.nextInt(4) == 0 ? " " : "";
        List<String> top = new ArrayList<>();
        top.add("\"id\":" + sp + (r.nextInt(40) == 0 ? "\"chatcmpl-jane.doe@example.com\"" : "\"chatcmpl-B9MBs8Cj\""));
        top.add("\"object\":" + sp + "\"chat.completion.chunk\"");
        top.add("\"created\":" + sp + "1732963200");
        if (r.nextBoolean()) {
            top.add("\"model\":\"gpt-4o-mini\"");
        }
        if (r.nextInt(3) == 0) {
            top.add("\"system_fingerprint\":null,\"usage\":null");
        }
        if (r.nextInt(30) == 0) {
            top.add("\"usage\":{\"total_tokens\":3}");
        }
        StringBuilder choice = new StringBuilder("{");
        if (r.nextInt(10) != 0) {
            choice.append("\"index\":").append(r.nextInt(15) == 0 ? "1" : "0").append(',');
        }
        StringBuilder delta = new StringBuilder("{");
        if (r.nextInt(8) == 0) {
            delta.append("\"role\":\"assistant\",");
        }
        if (content != null) {
            delta.append("\"content\":").append(sp).append(quote(content, r));
        } else {
            delta.append("\"content\":null");
        }
        if (r.nextInt(40) == 0) {
            delta.append(",\"content\":\"4111 1111 1111 1111\""); // a repeated name
        }
        if (r.nextInt(40) == 0) {
            delta.append(",\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":1}\"}}]");
        }
        delta.append('}');
        choice.append("\"delta\":").append(delta);
        if (r.nextInt(25) == 0) {
            choice.append(",\"logprobs\":{\"content\":[{\"token\":").append(quote(content == null ? "" : content, r))
                    .append(",\"logprob\":-0.1,\"top_logprobs\":[]}],\"refusal\":null}");
        } else if (r.nextBoolean()) {
            choice.append(",\"logprobs\":null");
        }
        choice.append(",\"finish_reason\":").append(last ? "\"stop\"" : "null").append('}');
        String choices = "\"choices\":" + sp + "[" + choice + (r.nextInt(40) == 0 ? ",{\"index\":1,\"delta\":{}}" : "")
                + "]";
        top.add(r.nextInt(5) == 0 ? 0 : top.size(), choices);
        c.append(String.join("," + sp, top)).append('}');
        if (r.nextInt(60) == 0) {
            c.append(" card 4111 1111 1111 1111"); // text after the JSON
        }
        return c.toString();
    }

    /** A JSON string, sometimes with escapes a writer may choose (\\u for plain letters and digits, \\/). */
    static String quote(String s, Random r) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '"' || ch == '\\') {
                b.append('\\').append(ch);
            } else if (ch < 0x20 || r.nextInt(30) == 0 || (ch >= 0xD800 && ch <= 0xDFFF && r.nextBoolean())) {
                b.append(String.format("\\u%04x", (int) ch));
            } else {
                b.append(ch);
            }
        }
        return b.append('"').toString();
    }

    static String stream(Random r) {
        StringBuilder text = new StringBuilder();
        int words = 1 + r.nextInt(40);
        for (int i = 0; i < words; i++) {
            text.append(' ').append(r.nextInt(6) == 0
                    ? SseMaskerTest.ENTITIES[r.nextInt(SseMaskerTest.ENTITIES.length)] : WORDS[r.nextInt(WORDS.length)]);
        }
        StringBuilder s = new StringBuilder();
        int at = 0;
        while (at < text.length()) {
            int n = Math.min(text.length() - at, 1 + r.nextInt(8));
            if (Character.isHighSurrogate(text.charAt(at + n - 1)) && r.nextBoolean()) {
                n++; // mostly whole pairs; sometimes a pair split across events (each half escaped or raw)
            }
            n = Math.min(n, text.length() - at);
            String piece = text.substring(at, at + n);
            at += n;
            boolean last = at >= text.length();
            s.append(r.nextInt(20) == 0 ? "event: message\n" : "").append("data: ")
                    .append(chunk(r, r.nextInt(20) == 0 ? null : piece, last && r.nextBoolean())).append("\n\n");
            if (r.nextInt(20) == 0) {
                s.append("data: ").append(chunk(r, null, false)).append("\n\n");
            }
        }
        return s.append("data: [DONE]\n\n").toString();
    }

    @Test
    void should_give_what_the_tree_path_gives_on_random_streams() {
        Random r = new Random(20261130);
        int plainEvents = 0;
        for (int i = 0; i < 3000; i++) {
            String s = stream(r);
            int bytes = s.getBytes(StandardCharsets.UTF_8).length;
            int[] cuts = r.nextBoolean() ? new int[0] : r.ints(1 + r.nextInt(6), 0, bytes).sorted().toArray();
            sameAsTree(s, cuts);
            plainEvents += s.split("\n\n").length;
        }
        assertThat(plainEvents).isGreaterThan(10_000);
    }

    @Test
    void should_keep_the_upstreams_layout_when_only_the_text_changes() {
        // the plain path puts the masked text in place; the tree path would write the whole event anew
        String s = "data: {\"id\": \"c1\", \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"card 4111 1111 1111 "
                + "1111 ok. \"}, \"finish_reason\": null}]}\n\ndata: [DONE]\n\n";
        SseMasker m = new SseMasker(MASKER, x -> { });
        String out = new String(m.push(s.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8)
                + new String(m.finish(), StandardCharsets.UTF_8);
        assertThat(out).startsWith("data: {\"id\": \"c1\", \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"card [CARD] ok. \"}")
                .doesNotContain("4111");
        sameAsTree(s, new int[0]);
    }

    @Test
    void should_mask_every_value_of_a_repeated_content_name() {
        String s = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"4111 1111 1111 1111\","
                + "\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n";
        assertThat(sameAsTree(s, new int[0])).doesNotContain("4111");
    }

    @Test
    void should_mask_an_entity_written_with_escapes_and_keep_escapes_it_needs() {
        String s = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a \\\"q\\\" \\\\ \\u0034111 1111 \"}}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"1111 1111\\n\\ud83d\\ude00 \"}}]}\n\n"
                + "data: [DONE]\n\n";
        String out = sameAsTree(s, new int[0]);
        assertThat(out).doesNotContain("4111").doesNotContain("1111").contains("\\\"q\\\"").contains("\\\\")
                .contains("[CARD]").contains("😀");
    }

    /** Held text released at the end is carried by an event with the choice's own index, whatever it is. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"99999999999", "12345678901234567890123", "\"x\"", "1.5",
        "-1"})
    void should_release_held_text_of_a_choice_with_an_index_past_an_int_or_no_number(String index) throws Exception {
        String s = "data: {\"choices\":[{\"index\":" + index + ",\"delta\":{\"content\":\"card 4111 1111\"}}]}\n\n"
                + "data: {\"choices\":[{\"index\":" + index + ",\"delta\":{\"content\":\" 1111 1111\"}}]}\n\n"
                + "data: [DONE]\n\n";
        String out = sameAsTree(s, new int[0]);
        assertThat(out).doesNotContain("1111").contains("[CARD]");
        for (Object e : run(s, true, new int[0]).events()) {
            if (((List<?>) e).get(1) instanceof JsonNode json && json.has("choices")) {
                assertThat(json.at("/choices/0/index")).isEqualTo(JSON.readTree(index));
            }
        }
    }

    /**
     * A hostile upstream's choice index, a string: its text never reaches a channel's key or a redaction's reported
     * location (an entity in it went into the report; a slash in it put the text back under another field).
     */
    @Test
    void should_keep_a_string_index_out_of_keys_and_reports() throws Exception {
        for (String index : List.of("\"4111 1111 1111 1111\"", "\"0/tool/5\"", "{\"a\":\"536-90-4399\"}")) {
            String s = "data: {\"choices\":[{\"index\":" + index + ",\"delta\":{\"content\":\"mail jane.d\"}}]}\n\n"
                    + "data: {\"choices\":[{\"index\":" + index + ",\"delta\":{\"content\":\"oe@example.com ok. \"}}]}"
                    + "\n\ndata: [DONE]\n\n";
            Run r = run(s, true, new int[0]);
            String out = r.events().toString();
            assertThat(out).doesNotContain("jane").doesNotContain("4111").doesNotContain("536-90").contains("[EMAIL]")
                    .doesNotContain("tool_calls");
            assertThat(r.reports()).anySatisfy(x -> assertThat(x).startsWith("EMAIL@/choices/#"))
                    .allSatisfy(x -> assertThat(x).doesNotContain("4111").doesNotContain("536-90").doesNotContain("/tool/"));
        }
    }

    @Test
    void should_keep_a_responses_event_type_out_of_reports() {
        String type = "response.536-90-4399.delta";
        String s = "data: {\"type\":\"" + type + "\",\"item_id\":\"i1\",\"delta\":\"mail jane.doe@example.com ok. \"}\n\n"
                + "data: [DONE]\n\n";
        Run r = run(s, true, new int[0]);
        assertThat(r.events().toString()).doesNotContain("jane").doesNotContain("536-90");
        assertThat(r.reports()).anySatisfy(x -> assertThat(x).startsWith("EMAIL@/response.#"))
                .allSatisfy(x -> assertThat(x).doesNotContain("536-90"));
    }

    @Test
    void should_mask_an_id_or_model_with_an_entity_as_the_tree_path_does() {
        String s = "data: {\"id\":\"jane.doe@example.com\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi \"}}]}"
                + "\n\ndata: {\"model\":\"536-90-4399\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"there \"}}]}"
                + "\n\ndata: [DONE]\n\n";
        assertThat(sameAsTree(s, new int[0])).doesNotContain("jane.doe").doesNotContain("536-90");
    }
}
