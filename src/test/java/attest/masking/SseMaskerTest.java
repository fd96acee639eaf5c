package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SseMaskerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    static String event(String content, boolean last) throws Exception {
        var chunk = JSON.createObjectNode();
        chunk.put("id", "chatcmpl-1");
        chunk.put("object", "chat.completion.chunk");
        var c = chunk.putArray("choices").addObject();
        c.put("index", 0);
        if (content != null) {
            c.putObject("delta").put("content", content);
        } else {
            c.putObject("delta");
        }
        if (last) {
            c.put("finish_reason", "stop");
        } else {
            c.putNull("finish_reason");
        }
        return "data: " + JSON.writeValueAsString(chunk) + "\n\n";
    }

    /** Parses the masked stream: every data event is valid JSON (or [DONE]); returns the joined content. */
    static String content(String stream) throws Exception {
        StringBuilder text = new StringBuilder();
        List<String> events = new ArrayList<>(List.of(stream.split("\n\n")));
        assertThat(events.get(events.size() - 1)).isEqualTo("data: [DONE]");
        for (String e : events.subList(0, events.size() - 1)) {
            assertThat(e).startsWith("data: ");
            JsonNode json = JSON.readTree(e.substring(6));
            for (JsonNode c : json.path("choices")) {
                text.append(c.path("delta").path("content").asText(""));
            }
        }
        return text.toString();
    }

    static final String[] ENTITIES = {"4111 1111 1111 1111", "4111-1111-1111-1111", "536-90-4399",
        "DE89 3704 0044 0532 0130 00", "jane.doe@example.com", "+44 20 7946 0958", "(415) 555-2671", "192.168.10.7",
        "2001:db8:85a3::8a2e:370:7334", "sk-proj-abcdefghijklmnopqrstuvwxyz012345", "AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"};

    static String[] entities() {
        return ENTITIES;
    }

    /** Every pair of cuts inside or at the edges of the entity: the text arrives in three events. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("entities")
    void should_mask_an_entity_split_across_three_events_at_every_pair_of_positions(String entity) throws Exception {
        String text = "Sure, it is " + entity + " as requested.";
        String expected = MASKER.mask(text, null, r -> { });
        int start = text.indexOf(entity);
        for (int i = start; i <= start + entity.length(); i++) {
            for (int j = i + 1; j <= start + entity.length() + 1 && j < text.length(); j++) {
                String upstream = event(text.substring(0, i), false) + event(text.substring(i, j), false)
                        + event(text.substring(j), false) + event(null, true) + "data: [DONE]\n\n";
                SseMasker m = new SseMasker(MASKER, r -> { });
                String out = new String(m.push(upstream.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8)
                        + new String(m.finish(), StandardCharsets.UTF_8);
                assertThat(out).as("cuts at %d and %d", i, j).doesNotContain(entity);
                assertThat(content(out)).as("cuts at %d and %d", i, j).isEqualTo(expected);
            }
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("entities")
    void should_mask_an_entity_split_across_events_at_every_position(String entity) throws Exception {
        String text = "Sure, it is " + entity + " as requested.";
        String expected = MASKER.mask(text, null, r -> { });
        for (int i = 1; i < text.length(); i++) {
            String upstream = event(text.substring(0, i), false) + event(text.substring(i), false)
                    + event(null, true) + "data: [DONE]\n\n";
            // the bytes themselves also arrive cut anywhere
            byte[] raw = upstream.getBytes(StandardCharsets.UTF_8);
            SseMasker m = new SseMasker(MASKER, r -> { });
            StringBuilder out = new StringBuilder();
            int cut = Math.min(raw.length - 1, i * 3 % raw.length + 1);
            out.append(new String(m.push(java.util.Arrays.copyOfRange(raw, 0, cut)), StandardCharsets.UTF_8));
            out.append(new String(m.push(java.util.Arrays.copyOfRange(raw, cut, raw.length)), StandardCharsets.UTF_8));
            out.append(new String(m.finish(), StandardCharsets.UTF_8));
            assertThat(out.toString()).as("split at %d", i).doesNotContain(entity);
            assertThat(content(out.toString())).as("split at %d", i).isEqualTo(expected);
        }
    }

    @Test
    void should_drop_a_held_entity_when_the_stream_breaks_off() throws Exception {
        SseMasker m = new SseMasker(MASKER, r -> { });
        String out = new String(m.push(event("card: 4111 1111 11", false).getBytes(StandardCharsets.UTF_8)),
                StandardCharsets.UTF_8);
        m.abandon();
        assertThat(out).doesNotContain("4111");
        assertThat(new String(m.finish(), StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void should_mask_completions_text_and_tool_call_arguments() throws Exception {
        String upstream = "data: {\"choices\":[{\"index\":0,\"text\":\"mail jane@exa\",\"finish_reason\":null}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"text\":\"mple.com ok\",\"finish_reason\":\"stop\"}]}\n\n"
                + "data: {\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
                + "{\"arguments\":\"{\\\"ssn\\\":\\\"536-90-\"}}]},\"finish_reason\":null}]}\n\n"
                + "data: {\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
                + "{\"arguments\":\"4399\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"
                + "data: [DONE]\n\n";
        SseMasker m = new SseMasker(MASKER, r -> { });
        String out = new String(m.push(upstream.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8)
                + new String(m.finish(), StandardCharsets.UTF_8);
        assertThat(out).doesNotContain("jane").doesNotContain("4399").contains("[EMAIL]").contains("[SSN]");
    }

    /** A chunk of choice 0 with this content and finish reason (null: none yet). */
    static String finishing(String content, String finishReason) throws Exception {
        var chunk = JSON.createObjectNode();
        var c = chunk.putArray("choices").addObject();
        c.put("index", 0);
        c.putObject("delta").put("content", content);
        if (finishReason == null) {
            c.putNull("finish_reason");
        } else {
            c.put("finish_reason", finishReason);
        }
        return "data: " + JSON.writeValueAsString(chunk) + "\n\n";
    }

    /**
     * Hostile (a helper's attack): an upstream that sends more text after a choice's finish_reason, which OpenAI's
     * protocol does not do. The text held back at the finish was released with it, so a card split across the finish
     * went out in halves, both unmasked. The finishing chunk now waits for the next event, at every cut of the bytes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"4111 1111 1111 1111", "536-90-4399", "jane.doe@example.com"})
    void should_mask_an_entity_split_across_a_finish_that_the_upstream_goes_on_after(String entity) throws Exception {
        for (int at = 1; at < entity.length(); at++) {
            String upstream = finishing("x " + entity.substring(0, at), "length")
                    + finishing(entity.substring(at) + " ok", "stop") + "data: [DONE]\n\n";
            for (int cut : new int[] {1, upstream.indexOf("\n\n") + 1, upstream.indexOf("\n\n") + 2,
                upstream.length() - 3}) {
                String out = run(upstream, cut);
                assertThat(out).as("split at %d, cut at %d", at, cut).doesNotContain(entity);
                String text = content(out);
                assertThat(text).as("split at %d, cut at %d", at, cut).startsWith("x ").endsWith(" ok")
                        .contains("[");
                // no piece of it outside the redaction (a card's redaction shows its last four digits)
                String bare = text.replaceAll("\\[[A-Z_]+[^\\]]*\\]", "");
                assertThat(bare).as("split at %d, cut at %d", at, cut).doesNotContainPattern("[0-9]{3}")
                        .doesNotContain("@").doesNotContain("doe");
                // both finish reasons still reach the caller, in order
                assertThat(out.indexOf("\"length\"")).isPositive().isLessThan(out.indexOf("\"stop\""));
            }
        }
    }

    /** Which events are parsed to see whether they finish a choice: not the common chunk (finish_reason null). */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":null}]}|false",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\" : null}]}|false",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}|true",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\": \"length\"}]}|true",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"fin\\u0069sh_reason\":\"stop\"}]}|true",
        "data: {\"choices\":[{\"index\":0,\"finish_reason\":null,\"x\":{\"finish_reason\":1}}]}|true",
        "data: [DONE]|false"})
    void should_look_for_a_finish_only_where_one_may_be(String event, boolean parsed) {
        assertThat(SseMasker.mayFinish(event)).isEqualTo(parsed);
    }

    /** Hostile: the finish reason's name written with an escape still holds the finishing chunk back. */
    @Test
    void should_hold_back_a_finish_written_with_an_escape() throws Exception {
        String upstream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x 4111 1111\"},"
                + "\"fin\\u0069sh_reason\":\"length\"}]}\n\n" + finishing(" 1111 1111 ok", "stop") + "data: [DONE]\n\n";
        String out = run(upstream, 5);
        assertThat(content(out)).isEqualTo("x [CARD] ok");
    }

    /** A finish that ends its choice's text: the stream's bytes are as before, the finishing chunk before [DONE]. */
    @Test
    void should_release_held_text_at_a_finish_the_stream_ends_after() throws Exception {
        String upstream = finishing("card 4111 1111 1111", null) + finishing(" 1111 done", "stop") + "data: [DONE]\n\n";
        for (int cut = 1; cut < upstream.length(); cut += 7) {
            String out = run(upstream, cut);
            assertThat(content(out)).isEqualTo("card [CARD] done");
            assertThat(out).endsWith("\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
        }
        SseMasker m = new SseMasker(MASKER, r -> { });
        String out = new String(m.push(finishing("the end", "stop").getBytes(StandardCharsets.UTF_8)),
                StandardCharsets.UTF_8);
        assertThat(out).as("held until the next event shows the text ended").isEmpty();
        assertThat(new String(m.finish(), StandardCharsets.UTF_8)).isEqualTo(finishing("the end", "stop"));
    }

    static String run(String upstream, int cut) {
        byte[] raw = upstream.getBytes(StandardCharsets.UTF_8);
        SseMasker m = new SseMasker(MASKER, r -> { });
        return new String(m.push(java.util.Arrays.copyOfRange(raw, 0, cut)), StandardCharsets.UTF_8)
                + new String(m.push(java.util.Arrays.copyOfRange(raw, cut, raw.length)), StandardCharsets.UTF_8)
                + new String(m.finish(), StandardCharsets.UTF_8);
    }

    /** Hostile: the fields nobody streamed through the masker before (reasoning, refusal, transcripts). */
    @ParameterizedTest
    @ValueSource(strings = {"reasoning_content", "reasoning", "refusal"})
    void should_mask_every_streamed_text_field_split_across_chunks(String field) throws Exception {
        String a = "{\"choices\":[{\"index\":0,\"delta\":{\"" + field + "\":\"ssn 536-9\"},\"finish_reason\":null}]}";
        String b = "{\"choices\":[{\"index\":0,\"delta\":{\"" + field + "\":\"0-4399 ok\"},\"finish_reason\":null}]}";
        String c = "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}";
        String out = run("data: " + a + "\n\ndata: " + b + "\n\ndata: " + c + "\n\ndata: [DONE]\n\n", 10);
        assertThat(out).doesNotContain("4399").doesNotContain("536-9");
        StringBuilder text = new StringBuilder();
        for (String e : out.split("\n\n")) {
            if (e.startsWith("data: {")) {
                text.append(JSON.readTree(e.substring(6)).path("choices").path(0).path("delta").path(field).asText(""));
            }
        }
        assertThat(text.toString()).isEqualTo("ssn [SSN] ok");
    }

    /** Hostile: the Responses API's events, and a non-OpenAI event stream, split mid-entity. */
    @Test
    void should_mask_responses_api_and_other_event_streams_split_across_events() {
        String responses = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
                + "\"item_id\":\"m\",\"output_index\":0,\"content_index\":0,\"delta\":\"mail jane.d\"}\n\n"
                + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
                + "\"item_id\":\"m\",\"output_index\":0,\"content_index\":0,\"delta\":\"oe@example.com\"}\n\n"
                + "event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"item_id\":\"m\","
                + "\"text\":\"mail jane.doe@example.com\"}\n\n";
        String anthropic = "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
                + "\"text\":\"card 4111 1111\"}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                + "{\"type\":\"text_delta\",\"text\":\" 1111 1111 ok\"}}\n\ndata: {\"type\":\"content_block_stop\","
                + "\"index\":0}\n\n";
        assertThat(run(responses, 7)).doesNotContain("jane.d").doesNotContain("oe@example").contains("[EMAIL]");
        assertThat(run(anthropic, 7)).doesNotContain("4111 1111").doesNotContain(" 1111 1111 ok").contains("[CARD]");
    }

    /**
     * The Responses API numbers its events; the extra event that releases held text took the number of the event its
     * text came in, so a client saw a number twice (a helper's outside attack). The numbers still rise one by one.
     */
    @Test
    void should_keep_a_responses_streams_sequence_numbers_rising_one_by_one_when_held_text_is_released() throws Exception {
        String responses = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n"
                + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,"
                + "\"item_id\":\"m\",\"output_index\":0,\"content_index\":0,\"delta\":\"mail jane.d\"}\n\n"
                + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,"
                + "\"item_id\":\"m\",\"output_index\":0,\"content_index\":0,\"delta\":\"oe@example.com now\"}\n\n"
                + "event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"sequence_number\":3,"
                + "\"item_id\":\"m\",\"text\":\"mail jane.doe@example.com now\"}\n\n"
                + "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":4}\n\n";
        for (int cut : new int[]{7, responses.getBytes(StandardCharsets.UTF_8).length}) {
            String out = run(responses, cut);
            assertThat(out).doesNotContain("jane.d").contains("[EMAIL]");
            List<Long> numbers = new ArrayList<>();
            for (String e : out.split("\n\n")) {
                for (String line : e.split("\n")) {
                    if (line.startsWith("data: ")) {
                        numbers.add(JSON.readTree(line.substring(6)).path("sequence_number").asLong());
                    }
                }
            }
            assertThat(numbers).as("cut %d: %s", cut, out).hasSizeGreaterThanOrEqualTo(5);
            for (int i = 0; i < numbers.size(); i++) {
                assertThat(numbers.get(i)).as("event %d of %s", i, numbers).isEqualTo(i);
            }
        }
    }

    /** Hostile: a multi-byte character cut between network chunks must not become U+FFFD. */
    @Test
    void should_reassemble_a_character_split_between_chunks() throws Exception {
        // the cut falls in the second event while the first is complete (and in the first, before it is)
        String upstream = event("Grüße 🙂 ok", false) + event(" Grüße 🙂 ok", false) + event(null, true)
                + "data: [DONE]\n\n";
        int at = upstream.getBytes(StandardCharsets.UTF_8).length;
        for (int cut = 1; cut < at; cut++) {
            String out = run(upstream, cut);
            assertThat(out).as("cut %d", cut).doesNotContain("\uFFFD");
            assertThat(content(out)).isEqualTo("Grüße 🙂 ok Grüße 🙂 ok");
        }
    }

    /**
     * An event masking leaves alone (no text held back for the next one) is passed as the upstream's bytes: compact
     * JSON (compared as text), JSON with spaces, escapes and CRLF framing of its own (compared as JSON), an event
     * with a name and an id. An event whose text masking changes is never taken for an unchanged one.
     */
    @Test
    void should_pass_unchanged_events_as_received_and_never_an_event_it_masked() {
        String compact = "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                + "\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
        String spaced = "data:{ \"id\": \"c\\u0031 \\/\", \"choices\": [ { \"index\": 0, \"delta\": { }, "
                + "\"finish_reason\": \"stop\" } ] }\r\n\r\n";
        String named = "event: delta\nid: 7\ndata: {\"choices\":[{\"index\":0,\"delta\":{}}]}\n\n";
        for (String event : List.of(compact, spaced, named)) {
            for (int cut = 1; cut < event.length(); cut += 7) {
                assertThat(run(event, cut)).as("cut %d of %s", cut, event).isEqualTo(event);
            }
        }
        String secret = "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ssn 536-90-4399 "
                + "ok\"},\"finish_reason\":null}]}\n\ndata: [DONE]\n\n";
        String out = run(secret, 3);
        assertThat(out).doesNotContain("4399").isNotEqualTo(secret);
    }
}
