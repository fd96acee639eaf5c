package attest.usage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UsageTapTest {
    static final String CHUNK = "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
    static final String USAGE = "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,"
            + "\"total_tokens\":10,\"prompt_tokens_details\":{\"cached_tokens\":2},"
            + "\"completion_tokens_details\":{\"reasoning_tokens\":1}}}\n\n";
    static final String DONE = "data: [DONE]\n\n";

    /** Feeds the stream in pieces of {@code n} bytes, as a network would. */
    static String run(String stream, int n, UsageMeter meter, boolean strip) {
        UsageTap tap = new UsageTap(meter, strip);
        byte[] all = stream.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < all.length; i += n) {
            byte[] piece = java.util.Arrays.copyOfRange(all, i, Math.min(all.length, i + n));
            out.writeBytes(tap.push(piece));
        }
        out.writeBytes(tap.finish());
        return out.toString(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 5, 7, 64, 4096})
    void should_read_the_usage_and_remove_the_chunk_the_gateway_asked_for_at_every_split(int n) {
        UsageMeter meter = new UsageMeter();
        String out = run(CHUNK + USAGE + DONE, n, meter, true);
        assertEquals(CHUNK + DONE, out);
        assertEquals(new TokenUsage(7L, 3L, 10L, 2L, 1L), meter.reported());
        assertEquals(UsageMeter.REPORTED, meter.status());
        assertNull(meter.estimate());
    }

    @Test
    void should_pass_the_usage_chunk_byte_for_byte_when_the_caller_asked_for_it() {
        UsageMeter meter = new UsageMeter();
        assertEquals(CHUNK + USAGE + DONE, run(CHUNK + USAGE + DONE, 3, meter, false));
        assertEquals(10L, meter.reported().total());
    }

    @ParameterizedTest
    @ValueSource(strings = {"\r\n", "\r"})
    void should_cut_events_on_every_line_end_the_grammar_allows(String eol) {
        UsageMeter meter = new UsageMeter();
        String s = (CHUNK + USAGE + DONE).replace("\n", eol);
        assertEquals((CHUNK + DONE).replace("\n", eol), run(s, 1, meter, true));
        assertEquals(10L, meter.reported().total());
    }

    @Test
    void should_keep_a_content_chunk_that_carries_usage_as_well() {
        // some servers put usage on the last content chunk: the caller's text must never be removed
        String both = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"end\"}}],\"usage\":{\"prompt_tokens\":1,"
                + "\"completion_tokens\":1,\"total_tokens\":2}}\n\n";
        UsageMeter meter = new UsageMeter();
        assertEquals(both + DONE, run(both + DONE, 4, meter, true));
        assertEquals(2L, meter.reported().total());
    }

    @Test
    void should_say_unknown_and_estimate_when_the_stream_reports_nothing() {
        UsageMeter meter = new UsageMeter();
        String out = run(CHUNK + DONE, 5, meter, true);
        assertEquals(CHUNK + DONE, out);
        assertEquals(UsageMeter.UNKNOWN, meter.status());
        assertNull(meter.reported());
        assertEquals((long) Math.ceil((CHUNK + DONE).length() / 4.0), meter.estimate());
        assertEquals(meter.estimate(), meter.billable());
    }

    @Test
    void should_read_the_responses_api_usage_from_the_completed_event() {
        String completed = "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":"
                + "\"completed\",\"usage\":{\"input_tokens\":5,\"output_tokens\":4,\"total_tokens\":9,"
                + "\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens_details\":{\"reasoning_tokens\":3}}}}\n\n";
        UsageMeter meter = new UsageMeter();
        assertEquals(completed, run(completed, 6, meter, true));
        assertEquals(new TokenUsage(5L, 4L, 9L, 0L, 3L), meter.reported());
    }

    @Test
    void should_not_be_fooled_by_usage_in_the_text_or_a_usage_that_is_not_numbers() {
        String text = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\\"usage\\\": 99\"}}]}\n\n";
        String bogus = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":\"7\",\"total_tokens\":-1}}\n\n";
        UsageMeter meter = new UsageMeter();
        String out = run(text + bogus + DONE, 3, meter, true);
        assertTrue(out.startsWith(text));
        assertTrue(out.contains("\"prompt_tokens\":\"7\""), "an event that reports no usable count is not removed");
        assertEquals(UsageMeter.UNKNOWN, meter.status());
    }

    @Test
    void should_release_a_trailing_event_without_its_blank_line_at_the_end() {
        UsageMeter meter = new UsageMeter();
        String cut = CHUNK + USAGE.trim();
        assertEquals(CHUNK, run(cut, 9, meter, true));
        assertEquals(10L, meter.reported().total());
    }

    @Test
    void should_strip_a_buffered_stream_whole() {
        UsageMeter meter = new UsageMeter();
        byte[] out = UsageTap.whole((CHUNK + USAGE + DONE).getBytes(StandardCharsets.UTF_8), meter, true);
        assertEquals(CHUNK + DONE, new String(out, StandardCharsets.UTF_8));
        assertFalse(meter.reported() == null);
    }

    /**
     * A stream that asked for usage carries {@code "usage":null} in every chunk but the last: those pass byte for
     * byte and report nothing, however the null is spaced; a usage elsewhere in the same event is still read.
     */
    @ParameterizedTest
    @ValueSource(strings = {"\"usage\":null", "\"usage\" : null", "\"usage\":\tnull", "\"usage\":\r\n null"})
    void should_read_nothing_from_a_null_usage_and_pass_its_chunk(String usage) {
        String chunk = "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]," + usage
                + "}\n\n";
        UsageMeter meter = new UsageMeter();
        assertEquals(chunk + chunk + USAGE.replace("c1", "c2") + DONE,
                run(chunk + chunk + USAGE.replace("c1", "c2") + DONE, 5, meter, false));
        assertEquals(10L, meter.reported().total());
        UsageMeter none = new UsageMeter();
        assertEquals(chunk + DONE, run(chunk + DONE, 3, none, true));
        assertNull(none.reported());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"usage\":null,\"response\":{\"usage\":{\"input_tokens\":4,\"output_tokens\":5,\"total_tokens\":9}}}",
        "{\"response\":{\"usage\":{\"input_tokens\":4,\"output_tokens\":5,\"total_tokens\":9}},\"usage\":null}",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5,\"total_tokens\":9},\"x\":{\"usage\":null}}"})
    void should_still_read_a_usage_beside_a_null_one(String json) {
        UsageMeter meter = new UsageMeter();
        run("data: " + json + "\n\n" + DONE, 4, meter, false);
        assertEquals(9L, meter.reported().total());
    }

    @Test
    void should_tell_a_null_usage_from_look_alikes() {
        assertTrue(UsageTap.onlyNullUsage("{\"usage\":null}".getBytes(StandardCharsets.UTF_8)));
        assertTrue(UsageTap.onlyNullUsage("{\"a\":{\"usage\" :null},\"usage\": null }".getBytes(StandardCharsets.UTF_8)));
        for (String s : new String[] {"{\"usage\":nullx}", "{\"usage\":{}}", "{\"usage\":\"null\"}", "{\"usage\"}",
            "{\"usage\":nul", "{\"usage\":null,\"usage\":{\"total_tokens\":1}}", "{\"usage\": [null]}"}) {
            assertFalse(UsageTap.onlyNullUsage(s.getBytes(StandardCharsets.UTF_8)), s);
        }
    }

    // ---- NDJSON (Ollama's native API) ------------------------------------------------------------------------------

    static final String OLLAMA = "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
            + "\"done\":false}\n{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
            + "\"done_reason\":\"stop\",\"done\":true,\"total_duration\":5,\"prompt_eval_count\":26,"
            + "\"eval_count\":290}\n";

    static String runNdjson(String stream, int n, UsageMeter meter, ByteArrayOutputStream perPush) {
        UsageTap tap = UsageTap.ndjson(meter, false);
        byte[] all = stream.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < all.length; i += n) {
            byte[] got = tap.push(java.util.Arrays.copyOfRange(all, i, Math.min(all.length, i + n)));
            out.writeBytes(got);
            if (perPush != null) {
                perPush.writeBytes(got);
            }
        }
        out.writeBytes(tap.finish());
        return out.toString(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7, 64, 4096})
    void should_read_ollamas_last_line_counts_from_an_ndjson_stream_at_every_split(int n) {
        UsageMeter meter = new UsageMeter();
        assertEquals(OLLAMA, runNdjson(OLLAMA, n, meter, null));
        assertEquals(new TokenUsage(26L, 290L, 316L, null, null), meter.reported());
        assertEquals(UsageMeter.REPORTED, meter.status());
    }

    @Test
    void should_pass_every_ndjson_line_at_its_line_end_not_at_the_streams_end() {
        UsageMeter meter = new UsageMeter();
        ByteArrayOutputStream pushed = new ByteArrayOutputStream();
        runNdjson(OLLAMA, 5, meter, pushed);
        // an event stream's tap would hold NDJSON (no blank lines) to its end: every line must pass as it ends
        assertEquals(OLLAMA, pushed.toString(StandardCharsets.UTF_8));
    }

    @Test
    void should_not_take_counts_from_a_line_that_is_not_done_nor_from_text() {
        UsageMeter meter = new UsageMeter();
        runNdjson("{\"response\":\"\\\"eval_count\\\":9\",\"done\":false,\"eval_count\":4}\n"
                + "{\"response\":\"x\",\"done\":\"true\",\"eval_count\":4}\n", 3, meter, null);
        assertNull(meter.reported());
        assertEquals(UsageMeter.UNKNOWN, meter.status());
    }

    @Test
    void should_release_and_read_a_last_ndjson_line_whose_line_end_never_came_at_a_break_off() {
        UsageMeter meter = new UsageMeter();
        UsageTap tap = UsageTap.ndjson(meter, false);
        String last = "{\"response\":\"\",\"done\":true,\"prompt_eval_count\":3,\"eval_count\":4}";
        assertEquals("", new String(tap.push(last.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8));
        assertEquals(last, new String(tap.abandon(new byte[0]), StandardCharsets.UTF_8));
        assertEquals(7L, meter.reported().total());
    }

    @Test
    void should_read_a_buffered_ndjson_answer_and_ollamas_whole_json_answer() {
        UsageMeter meter = new UsageMeter();
        byte[] body = OLLAMA.getBytes(StandardCharsets.UTF_8);
        assertEquals(OLLAMA, new String(UsageTap.wholeNdjson(body, meter, false), StandardCharsets.UTF_8));
        assertEquals(316L, meter.reported().total());
        assertEquals(new TokenUsage(5L, null, null, null, null), TokenUsage.in(new com.fasterxml.jackson.databind
                .ObjectMapper().createObjectNode().put("done", true).put("prompt_eval_count", 5)));
    }
}
