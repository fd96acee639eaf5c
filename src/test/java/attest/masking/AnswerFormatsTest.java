package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every answer format, with the entity split across fields, parts, events and bytes at every position: the
 * text a caller reassembles is exactly the whole text masked in one go, and no piece of the entity leaks.
 */
class AnswerFormatsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final String[] ENTITIES = {"4111 1111 1111 1111", "536-90-4399", "jane.doe@example.com",
        "DE89 3704 0044 0532 0130 00", "+1 415 555 2671"};

    static String text(String entity) {
        return "Sure, it is " + entity + " as requested.";
    }

    static String expected(String entity) {
        return MASKER.mask(text(entity), null, r -> { });
    }

    /** A stream format: events carrying the given pieces, and how to read the text back from the output. */
    record Format(String name, String contentType, Function<List<String>, String> body,
                  Function<String, String> read) {
        @Override
        public String toString() {
            return name;
        }
    }

    static String sse(Object... events) {
        StringBuilder b = new StringBuilder();
        for (Object e : events) {
            b.append("data: ").append(e).append("\n\n");
        }
        return b.toString();
    }

    static ObjectNode chunk(String deltaField, String piece) {
        ObjectNode c = JSON.createObjectNode();
        c.put("id", "chatcmpl-1").put("object", "chat.completion.chunk");
        ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        if (deltaField.equals("audio")) {
            delta.putObject("audio").put("transcript", piece);
        } else if (deltaField.equals("tool")) {
            delta.putArray("tool_calls").addObject().put("index", 0).putObject("function").put("arguments", piece);
        } else if (deltaField.equals("text")) {
            choice.remove("delta");
            choice.put("text", piece);
        } else {
            delta.put(deltaField, piece);
        }
        choice.putNull("finish_reason");
        return c;
    }

    static Function<List<String>, String> openAi(String field) {
        return pieces -> {
            List<Object> events = new ArrayList<>();
            for (String p : pieces) {
                events.add(chunk(field, p));
            }
            ObjectNode last = chunk(field, "");
            ((ObjectNode) last.get("choices").get(0)).put("finish_reason", "stop");
            events.add(last);
            events.add("[DONE]");
            return sse(events.toArray());
        };
    }

    /** Joins the string at {@code pointer} of every JSON data event (SSE) or line (NDJSON). */
    static Function<String, String> joined(String pointer) {
        return out -> {
            StringBuilder text = new StringBuilder();
            for (JsonNode e : events(out)) {
                JsonNode v = e.at(pointer);
                if (v.isTextual()) {
                    text.append(v.asText());
                }
            }
            return text.toString();
        };
    }

    /** Joins the {@code delta} of the Responses events of one type. */
    static Function<String, String> deltas(String type) {
        return out -> {
            StringBuilder text = new StringBuilder();
            for (JsonNode e : events(out)) {
                if (e.path("type").asText().equals(type)) {
                    text.append(e.path("delta").asText());
                }
            }
            return text.toString();
        };
    }

    static List<JsonNode> events(String out) {
        List<JsonNode> events = new ArrayList<>();
        for (String line : out.split("\r\n|\r|\n")) {
            String payload = line.startsWith("data:") ? line.substring(5).strip() : line.strip();
            if (payload.startsWith("{")) {
                try {
                    events.add(JSON.readTree(payload));
                } catch (Exception e) {
                    throw new AssertionError("not JSON: " + payload, e);
                }
            }
        }
        return events;
    }

    static Function<List<String>, String> responses(String type) {
        return pieces -> {
            List<Object> events = new ArrayList<>();
            int seq = 0;
            for (String p : pieces) {
                ObjectNode e = JSON.createObjectNode().put("type", type).put("sequence_number", seq++)
                        .put("item_id", "item_1").put("output_index", 0).put("content_index", 0).put("delta", p);
                events.add(e);
            }
            events.add(JSON.createObjectNode().put("type", type.replace(".delta", ".done")).put("item_id", "item_1")
                    .put("text", String.join("", pieces)));
            return sse(events.toArray());
        };
    }

    static Stream<Format> formats() {
        return Stream.of(
                new Format("chat content", "text/event-stream", openAi("content"),
                        joined("/choices/0/delta/content")),
                new Format("chat reasoning_content", "text/event-stream", openAi("reasoning_content"),
                        joined("/choices/0/delta/reasoning_content")),
                new Format("chat reasoning", "text/event-stream", openAi("reasoning"),
                        joined("/choices/0/delta/reasoning")),
                new Format("chat refusal", "text/event-stream", openAi("refusal"),
                        joined("/choices/0/delta/refusal")),
                new Format("chat audio transcript", "text/event-stream", openAi("audio"),
                        joined("/choices/0/delta/audio/transcript")),
                new Format("chat tool-call arguments", "text/event-stream", openAi("tool"),
                        joined("/choices/0/delta/tool_calls/0/function/arguments")),
                new Format("legacy completions", "text/event-stream", openAi("text"), joined("/choices/0/text")),
                new Format("responses output_text", "text/event-stream", responses("response.output_text.delta"),
                        deltas("response.output_text.delta")),
                new Format("responses reasoning summary", "text/event-stream",
                        responses("response.reasoning_summary_text.delta"),
                        deltas("response.reasoning_summary_text.delta")),
                new Format("responses function-call arguments", "text/event-stream",
                        responses("response.function_call_arguments.delta"),
                        deltas("response.function_call_arguments.delta")),
                new Format("anthropic-style events", "text/event-stream", pieces -> {
                    List<Object> events = new ArrayList<>();
                    for (String p : pieces) {
                        ObjectNode e = JSON.createObjectNode().put("type", "content_block_delta").put("index", 0);
                        e.putObject("delta").put("type", "text_delta").put("text", p);
                        events.add(e);
                    }
                    events.add(JSON.createObjectNode().put("type", "content_block_stop").put("index", 0));
                    return sse(events.toArray());
                }, joined("/delta/text")),
                new Format("non-JSON events", "text/event-stream", pieces -> {
                    StringBuilder b = new StringBuilder();
                    for (String p : pieces) {
                        // CRLF, and no space after the colon (unless the piece starts with one: SSE eats one space)
                        b.append(p.startsWith(" ") ? "data: " : "data:").append(p).append("\r\n\r\n");
                    }
                    return b.toString();
                }, out -> {
                    StringBuilder text = new StringBuilder();
                    for (String line : out.split("\r\n|\r|\n")) {
                        if (line.startsWith("data: ")) {
                            text.append(line.substring(6));
                        }
                    }
                    return text.toString();
                }),
                new Format("ollama NDJSON", "application/x-ndjson", pieces -> {
                    StringBuilder b = new StringBuilder();
                    for (String p : pieces) {
                        ObjectNode e = JSON.createObjectNode().put("model", "m");
                        e.putObject("message").put("role", "assistant").put("content", p);
                        b.append(e.put("done", false)).append('\n');
                    }
                    ObjectNode done = JSON.createObjectNode().put("model", "m");
                    done.putObject("message").put("role", "assistant").put("content", "");
                    return b.append(done.put("done", true)).append('\n').toString();
                }, joined("/message/content")));
    }

    static Stream<Object[]> formatsAndEntities() {
        return formats().flatMap(f -> Arrays.stream(ENTITIES).map(e -> new Object[] {f, e}));
    }

    static String run(Format f, byte[] upstream, int... cuts) {
        List<Redaction> report = new ArrayList<>();
        AnswerMasker.Streaming m = AnswerMasker.streaming(f.contentType(), MASKER, report::add);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int from = 0;
        for (int cut : cuts) {
            out.writeBytes(m.push(Arrays.copyOfRange(upstream, from, cut)));
            from = cut;
        }
        out.writeBytes(m.push(Arrays.copyOfRange(upstream, from, upstream.length)));
        out.writeBytes(m.finish());
        return out.toString(StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("formatsAndEntities")
    void should_find_an_entity_split_across_two_events_at_every_position(Format f, String entity) {
        splitInTwo(f, entity);
    }

    /** The entity's text split in two events at every position of the entity (and its bytes cut elsewhere). */
    static void splitInTwo(Format f, String entity) {
        String text = text(entity);
        int start = text.indexOf(entity);
        for (int i = start; i <= start + entity.length(); i++) {
            byte[] upstream = f.body().apply(List.of(text.substring(0, i), text.substring(i)))
                    .getBytes(StandardCharsets.UTF_8);
            // the bytes arrive cut as well, somewhere else
            String out = run(f, upstream, (i * 7) % upstream.length);
            assertThat(f.read().apply(out)).as("%s split at %d: %s", f, i, out).isEqualTo(expected(entity));
            assertThat(out).doesNotContain(entity);
        }
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("formatsAndEntities")
    void should_find_an_entity_split_across_three_events_at_every_pair_of_positions(Format f, String entity) {
        splitInThree(f, entity);
    }

    /** The entity's text split in three events at every pair of positions inside the entity. */
    static void splitInThree(Format f, String entity) {
        String text = text(entity);
        int start = text.indexOf(entity);
        for (int i = start + 1; i < start + entity.length(); i++) {
            for (int j = i + 1; j < start + entity.length(); j++) {
                byte[] upstream = f.body().apply(List.of(text.substring(0, i), text.substring(i, j),
                        text.substring(j))).getBytes(StandardCharsets.UTF_8);
                String out = run(f, upstream);
                assertThat(f.read().apply(out)).as("%s cuts %d %d", f, i, j).isEqualTo(expected(entity));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void should_mask_a_buffered_stream_exactly_as_a_live_one(Format f) {
        // a held call is executed buffered: its whole event stream is one body
        for (String entity : ENTITIES) {
            String text = text(entity);
            int mid = text.indexOf(entity) + entity.length() / 2;
            byte[] upstream = f.body().apply(List.of(text.substring(0, mid), text.substring(mid)))
                    .getBytes(StandardCharsets.UTF_8);
            List<Redaction> report = new ArrayList<>();
            String out = new String(AnswerMasker.mask(upstream, f.contentType() + "; charset=utf-8", MASKER,
                    report::add), StandardCharsets.UTF_8);
            assertThat(f.read().apply(out)).as(f.name()).isEqualTo(expected(entity));
            assertThat(report).isNotEmpty();
        }
    }

    @Test
    void should_reassemble_a_multi_byte_character_split_between_network_chunks() {
        String text = "Grüße — ｆｕｌｌ ４１１１ １１１１ １１１１ １１１１ 🙂 done";
        byte[] upstream = openAi("content").apply(List.of(text.substring(0, 9), text.substring(9)))
                .getBytes(StandardCharsets.UTF_8);
        Format f = formats().findFirst().orElseThrow();
        for (int cut = 1; cut < upstream.length; cut++) {
            String out = run(f, upstream, cut);
            assertThat(out).as("cut at byte %d", cut).doesNotContain("\uFFFD");
            assertThat(f.read().apply(out)).isEqualTo(MASKER.mask(text, null, r -> { }));
        }
    }

    @Test
    void should_decode_escapes_split_across_events() {
        // the card's digits arrive as JSON escapes, split over two events
        String upstream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card \\u0034\\u0031\\u00311 11\"},"
                + "\"finish_reason\":null}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"11 \\u0031111 1111 ok\"},"
                + "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        String out = run(formats().findFirst().orElseThrow(), upstream.getBytes(StandardCharsets.UTF_8));
        assertThat(joined("/choices/0/delta/content").apply(out)).isEqualTo("card [CARD] ok");
    }

    @Test
    void should_read_multi_line_data_cr_line_ends_and_comments() {
        String upstream = ": keep-alive jane.doe@example.com\r"
                + "event: message\rdata: {\"choices\":[{\"index\":0,\"delta\":\r"
                + "data: {\"content\":\"mail jane.d\"},\"finish_reason\":null}]}\r\r"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"oe@example.com\"},\"finish_reason\":\"stop\"}]}"
                + "\r\rdata: [DONE]\r\r";
        String out = run(formats().findFirst().orElseThrow(), upstream.getBytes(StandardCharsets.UTF_8));
        assertThat(out).doesNotContain("jane").contains(": keep-alive [EMAIL]");
        assertThat(joined("/choices/0/delta/content").apply(out)).isEqualTo("mail [EMAIL]");
    }

    @Test
    void should_not_let_text_after_the_json_of_an_event_through() {
        String upstream = "data: {\"x\":1} card 4111 1111 1111 1111\n\n";
        String out = run(formats().findFirst().orElseThrow(), upstream.getBytes(StandardCharsets.UTF_8));
        assertThat(out).doesNotContain("4111 1111");
    }

    @Test
    void should_hold_logprobs_with_their_text_and_null_them_where_an_entity_touches() throws Exception {
        String[] tokens = {"mail ", "jane", ".doe", "@exa", "mple.com", " today", " ok"};
        StringBuilder upstream = new StringBuilder();
        for (String t : tokens) {
            ObjectNode c = chunk("content", t);
            ObjectNode lp = ((ObjectNode) c.get("choices").get(0)).putObject("logprobs");
            ObjectNode entry = lp.putArray("content").addObject().put("token", t).put("logprob", -0.1);
            var bytes = entry.putArray("bytes");
            for (byte b : t.getBytes(StandardCharsets.UTF_8)) {
                bytes.add(b & 0xff);
            }
            entry.putArray("top_logprobs").addObject().put("token", t).put("logprob", -0.1);
            lp.putNull("refusal");
            upstream.append("data: ").append(c).append("\n\n");
        }
        ObjectNode last = chunk("content", "");
        ((ObjectNode) last.get("choices").get(0)).put("finish_reason", "stop");
        upstream.append("data: ").append(last).append("\n\ndata: [DONE]\n\n");
        Format f = formats().findFirst().orElseThrow();
        String out = run(f, upstream.toString().getBytes(StandardCharsets.UTF_8));
        assertThat(f.read().apply(out)).isEqualTo("mail [EMAIL] today ok");
        StringBuilder released = new StringBuilder();
        boolean nulled = false;
        for (JsonNode e : events(out)) {
            JsonNode lp = e.path("choices").path(0).path("logprobs");
            nulled |= lp.isNull();
            for (JsonNode entry : lp.path("content")) {
                released.append(entry.path("token").asText());
            }
        }
        assertThat(out).doesNotContain("jane").doesNotContain("exa").doesNotContain("[106,97,110,101]");
        assertThat(nulled).as(out).isTrue();
        assertThat(released.toString()).contains("mail ").endsWith(" ok");
    }

    @Test
    void should_mask_the_done_and_completed_events_of_the_responses_api() {
        String upstream = sse(
                "{\"type\":\"response.output_text.delta\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,"
                        + "\"delta\":\"ssn 536-9\",\"logprobs\":[{\"token\":\"ssn 536-9\",\"logprob\":-1}]}",
                "{\"type\":\"response.output_text.delta\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,"
                        + "\"delta\":\"0-4399 ok\",\"logprobs\":[{\"token\":\"0-4399 ok\",\"logprob\":-1}]}",
                "{\"type\":\"response.output_text.done\",\"item_id\":\"m1\",\"text\":\"ssn 536-90-4399 ok\","
                        + "\"logprobs\":[{\"token\":\"ssn 536-9\"},{\"token\":\"0-4399 ok\"}]}",
                "{\"type\":\"response.completed\",\"response\":{\"id\":\"r1\",\"output\":[{\"type\":\"message\","
                        + "\"content\":[{\"type\":\"output_text\",\"text\":\"ssn 536-9\",\"annotations\":[{\"type\":"
                        + "\"url_citation\",\"url\":\"https://example.com/?mail=jane.doe@example.com\"}]},"
                        + "{\"type\":\"output_text\",\"text\":\"0-4399 ok\"}]}],"
                        + "\"output_text\":\"ssn 536-90-4399 ok\"}}");
        String out = run(formats().findFirst().orElseThrow(), upstream.getBytes(StandardCharsets.UTF_8));
        assertThat(out).doesNotContain("4399").doesNotContain("536-9").doesNotContain("jane");
        assertThat(deltas("response.output_text.delta").apply(out)).isEqualTo("ssn [SSN] ok");
    }

    // ---- buffered documents ---------------------------------------------------------------------------

    @Test
    void should_map_an_entity_split_across_content_parts_onto_every_part() throws Exception {
        String text = "card 4111 1111 1111 1111 ok";
        for (int i = 6; i < 24; i++) {
            ObjectNode doc = JSON.createObjectNode();
            var parts = doc.putArray("choices").addObject().putObject("message").putArray("content");
            parts.addObject().put("type", "text").put("text", text.substring(0, i));
            parts.addObject().put("type", "text").put("text", text.substring(i));
            List<Redaction> report = new ArrayList<>();
            JsonNode out = JSON.readTree(AnswerMasker.mask(JSON.writeValueAsBytes(doc), "application/json", MASKER,
                    report::add));
            JsonNode p = out.at("/choices/0/message/content");
            assertThat(p.get(0).path("text").asText() + p.get(1).path("text").asText()).as("split %d", i)
                    .isEqualTo("card [CARD] ok");
            assertThat(report).hasSize(1);
        }
    }

    @Test
    void should_redact_logprobs_whole_when_an_entity_touches_their_tokens() throws Exception {
        String body = "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"[already masked]\"},\"logprobs\":{"
                + "\"content\":[{\"token\":\"536\",\"bytes\":[53,51,54]},{\"token\":\"-90-\",\"bytes\":[45,57,48,45]},"
                + "{\"token\":\"4399\",\"bytes\":[52,51,57,57],\"top_logprobs\":[]}],\"refusal\":null}},"
                + "{\"index\":1,\"text\":\"fine\",\"logprobs\":{\"tokens\":[\"fi\",\"ne\"],\"token_logprobs\":[-1,-1],"
                + "\"top_logprobs\":[{\"fi\":-1},{\"ne\":-1}],\"text_offset\":[0,2]}}]}";
        List<Redaction> report = new ArrayList<>();
        JsonNode out = JSON.readTree(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), "application/json",
                MASKER, report::add));
        assertThat(out.at("/choices/0/logprobs").isNull()).isTrue();
        assertThat(out.at("/choices/1/logprobs/tokens/0").asText()).isEqualTo("fi");
        assertThat(report).extracting(Redaction::action, Redaction::location)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("redact_field", "/choices/0/logprobs"));
    }

    @Test
    void should_redact_logprobs_when_only_their_bytes_or_alternatives_carry_the_entity() throws Exception {
        // legacy completions: the alternative tokens are map keys
        String legacy = "{\"choices\":[{\"text\":\"x\",\"logprobs\":{\"tokens\":[\"x\"],\"top_logprobs\":"
                + "[{\"jane.doe@example.com\":-0.5}]}}]}";
        // tokens empty, bytes carry the text
        String bytes = "{\"choices\":[{\"logprobs\":{\"content\":[{\"token\":\"\",\"bytes\":"
                + Arrays.toString("536-90-4399".getBytes(StandardCharsets.UTF_8)) + "}]}}]}";
        for (String body : List.of(legacy, bytes)) {
            JsonNode out = JSON.readTree(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), null, MASKER,
                    r -> { }));
            assertThat(out.at("/choices/0/logprobs").isNull()).as(body).isTrue();
        }
    }

    @Test
    void should_mask_fields_nobody_thought_of() throws Exception {
        String body = "{\"x_debug\":{\"trace\":[[\"ok\",{\"note\":\"ssn 536-90-4399\"}]]},"
                + "\"choices\":[{\"message\":{\"reasoning_content\":\"she said jane.doe@example.com\","
                + "\"refusal\":\"no: 4111 1111 1111 1111\",\"audio\":{\"transcript\":\"call +1 415 555 2671\"},"
                + "\"annotations\":[{\"type\":\"url_citation\",\"url_citation\":{\"url\":"
                + "\"https://x.example/?ip=192.168.10.7\"}}]}}],\"n\":\"4111111111111111\",\"card\":4111111111111111}";
        List<Redaction> report = new ArrayList<>();
        String out = new String(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), "application/json", MASKER,
                report::add), StandardCharsets.UTF_8);
        assertThat(out).doesNotContain("4399").doesNotContain("jane").doesNotContain("1111 1111")
                .doesNotContain("2671").doesNotContain("192.168").doesNotContain("\"4111111111111111\"")
                .contains("\"card\":4111111111111111"); // a JSON number is not text: left alone
        assertThat(report).extracting(Redaction::location).contains("/x_debug/trace/0/1/note",
                "/choices/0/message/annotations/0/url_citation/url", "/n");
    }

    @Test
    void should_mask_every_line_of_ndjson_not_only_the_first() {
        String body = "{\"response\":\"a\"}\n{\"response\":\"mail jane.doe@example.com\"}\n{\"x\":\"536-90-4399\"}\n";
        String out = new String(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), "application/json", MASKER,
                r -> { }), StandardCharsets.UTF_8);
        assertThat(out).doesNotContain("jane").doesNotContain("4399");
        // each line keeps its own values: the lines are independent records as much as pieces of one text
        assertThat(out).isEqualTo("{\"response\":\"a\"}\n{\"response\":\"mail [EMAIL]\"}\n{\"x\":\"[SSN]\"}\n");
    }

    @Test
    void should_return_bytes_with_no_finding_byte_for_byte() {
        byte[] json = "{ \"a\" : \"caf\\u00e9\",\n  \"n\": 1.50 }".getBytes(StandardCharsets.UTF_8);
        assertThat(AnswerMasker.mask(json, "application/json", MASKER, r -> { })).isSameAs(json);
        byte[] sse = "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n"
                .getBytes(StandardCharsets.UTF_8);
        assertThat(AnswerMasker.mask(sse, "text/event-stream", MASKER, r -> { })).isEqualTo(sse);
        byte[] binary = new byte[256];
        for (int i = 0; i < binary.length; i++) {
            binary[i] = (byte) i;
        }
        byte[] png = Arrays.copyOf(binary, 300);
        System.arraycopy("4111 1111 1111 1111".getBytes(StandardCharsets.US_ASCII), 0, png, 260, 19);
        assertThat(AnswerMasker.mask(png, "image/png", MASKER, r -> { })).isEqualTo(png);
    }

    @Test
    void should_mask_text_that_is_not_utf8_and_keep_every_other_byte() {
        byte[] latin1 = "caf\u00e9 \u00ff mail jane.doe@example.com \u00e9t\u00e9".getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = AnswerMasker.mask(latin1, "text/plain", MASKER, r -> { });
        assertThat(out).isEqualTo("caf\u00e9 \u00ff mail [EMAIL] \u00e9t\u00e9".getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void should_mask_tf_serving_and_kserve_string_outputs() throws Exception {
        String tf = "{\"predictions\":[\"call +1 415 555 2671\",[\"nested 536-90-4399\"],0.93]}";
        String kserve = "{\"outputs\":[{\"name\":\"t\",\"datatype\":\"BYTES\",\"shape\":[2],"
                + "\"data\":[\"iban DE89370400440532013000\",\"clean\"]}]}";
        for (String body : List.of(tf, kserve)) {
            String out = new String(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), "application/json",
                    MASKER, r -> { }), StandardCharsets.UTF_8);
            assertThat(out).doesNotContain("2671").doesNotContain("4399").doesNotContain("3000");
            JSON.readTree(out);
        }
    }
}
