package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A live stream whose body does not match its declared type is cut ({@link StreamShape}); well-formed streams of the
 * servers we front are never cut, whole or split into small pieces, and their entities are still masked.
 */
class StreamShapeTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final String SSE = "text/event-stream";
    static final String NDJSON = "application/x-ndjson";

    static String chunk(String delta, String finish) {
        return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1764540000,\"model\":\"gpt-4o\","
                + "\"system_fingerprint\":\"fp_1\",\"service_tier\":\"default\",\"choices\":[{\"index\":0,\"delta\":" + delta
                + ",\"logprobs\":null,\"finish_reason\":" + finish + "}],\"usage\":null}\n\n";
    }

    static String responses(String type, String json) {
        return "event: " + type + "\ndata: {\"type\":\"" + type + "\"," + json + "}\n\n";
    }

    static String ollama(String content, boolean done) {
        return "{\"model\":\"llama3.2\",\"created_at\":\"2026-11-30T21:00:00.000Z\",\"message\":{\"role\":\"assistant\","
                + "\"content\":\"" + content + "\"},\"done\":" + done
                + (done ? ",\"done_reason\":\"stop\",\"total_duration\":123,\"prompt_eval_count\":9,\"eval_count\":5" : "")
                + "}\n";
    }

    static Stream<Arguments> wellFormed() {
        return Stream.of(
                Arguments.of("OpenAI chat chunks", SSE, chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null")
                        + chunk("{\"content\":\"card 4111 1111\"}", "null") + chunk("{\"content\":\" 1111 1111 ok\"}", "null")
                        + chunk("{}", "\"stop\"")
                        + "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1764540000,"
                        + "\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":5,"
                        + "\"total_tokens\":14}}\n\ndata: [DONE]\n\n"),
                Arguments.of("OpenAI chat chunks, CRLF, BOM, data: without a space", SSE, "\uFEFF"
                        + (chunk("{\"content\":\"card 4111 1111\"}", "null") + chunk("{\"content\":\" 1111 1111 ok\"}", "\"stop\"")
                        + "data:[DONE]\n\n").replace("\n", "\r\n")),
                Arguments.of("Responses API", SSE,
                        responses("response.created", "\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":"
                                + "\"response\",\"status\":\"in_progress\",\"output\":[]}")
                        + responses("response.output_item.added", "\"sequence_number\":1,\"output_index\":0,\"item\":"
                                + "{\"id\":\"msg_1\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\","
                                + "\"content\":[]}")
                        + responses("response.output_text.delta", "\"sequence_number\":2,\"item_id\":\"msg_1\","
                                + "\"output_index\":0,\"content_index\":0,\"delta\":\"card 4111 1111\",\"logprobs\":[]")
                        + responses("response.output_text.delta", "\"sequence_number\":3,\"item_id\":\"msg_1\","
                                + "\"output_index\":0,\"content_index\":0,\"delta\":\" 1111 1111 ok\",\"logprobs\":[]")
                        + responses("response.output_text.done", "\"sequence_number\":4,\"item_id\":\"msg_1\","
                                + "\"output_index\":0,\"content_index\":0,\"text\":\"card 4111 1111 1111 1111 ok\"")
                        + responses("response.completed", "\"sequence_number\":5,\"response\":{\"id\":\"resp_1\","
                                + "\"status\":\"completed\",\"usage\":{\"input_tokens\":9,\"output_tokens\":5}}")),
                Arguments.of("SSE with comments, retry, id and named events", SSE, ": keep-alive\n\nretry: 3000\n\n"
                        + "id: 1\nevent: message\n" + chunk("{\"content\":\"card 4111 1111\"}", "null") + ":ping\n\n"
                        + "id: 2\n" + chunk("{\"content\":\" 1111 1111 ok\"}", "\"stop\"") + ": done\n\ndata: [DONE]\n\n"),
                Arguments.of("SSE data over several lines, an array as data", SSE, "data: {\"choices\":[{\"index\":0,\n"
                        + "data: \"delta\":{\"content\":\"card 4111 1111\"}}]}\n\ndata: [\"x\"]\n\n"
                        + chunk("{\"content\":\" 1111 1111 ok\"}", "\"stop\"")),
                Arguments.of("TGI", SSE, "data:{\"index\":1,\"token\":{\"id\":1,\"text\":\"card 4111 1111\",\"logprob\":-0.1,"
                        + "\"special\":false},\"generated_text\":null,\"details\":null}\n\n"
                        + "data:{\"index\":2,\"token\":{\"id\":2,\"text\":\" 1111 1111 ok\",\"logprob\":-0.1,\"special\":false},"
                        + "\"generated_text\":\"card 4111 1111 1111 1111 ok\",\"details\":null}\n\n"),
                Arguments.of("Anthropic", SSE, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
                        + "{\"id\":\"msg_1\",\"content\":[]}}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n"
                        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                        + "{\"type\":\"text_delta\",\"text\":\"card 4111 1111\"}}\n\n"
                        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                        + "{\"type\":\"text_delta\",\"text\":\" 1111 1111 ok\"}}\n\n"
                        + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
                Arguments.of("Ollama /api/chat", NDJSON, ollama("card 4111 1111", false) + ollama(" 1111 1111 ok", false)
                        + ollama("", true)),
                Arguments.of("Ollama /api/generate with its context array", NDJSON,
                        "{\"model\":\"llama3.2\",\"created_at\":\"2026-11-30T21:00:00Z\",\"response\":\"card 4111 1111\","
                        + "\"done\":false}\n{\"model\":\"llama3.2\",\"created_at\":\"2026-11-30T21:00:01Z\",\"response\":"
                        + "\" 1111 1111 ok\",\"done\":false}\n{\"model\":\"llama3.2\",\"response\":\"\",\"done\":true,"
                        + "\"context\":[1,2,3],\"eval_count\":5}\n"),
                Arguments.of("NDJSON with CRLF, blank lines, a BOM, indentation", NDJSON, "\uFEFF" + (ollama("card 4111 1111", false)
                        + "\n  " + ollama(" 1111 1111 ok", false) + "\n" + ollama("", true)).replace("\n", "\r\n")),
                Arguments.of("JSON text sequence", "application/json-seq", "\u001e" + ollama("card 4111 1111", false)
                        + "\u001e" + ollama(" 1111 1111 ok", false)),
                Arguments.of("JSON Lines of strings and scalars", NDJSON, "\"card 4111 1111\"\n\" 1111 1111 ok\"\n42\ntrue\nnull\n"),
                Arguments.of("NDJSON with a value that only looks like SSE", NDJSON,
                        "{\"message\":{\"content\":\"data: card 4111 1111\"},\"done\":false}\n"
                        + "{\"message\":{\"content\":\" 1111 1111 ok\"},\"done\":true}\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("wellFormed")
    void should_not_cut_a_well_formed_stream(String what, String contentType, String body) {
        byte[] all = body.getBytes(StandardCharsets.UTF_8);
        for (int size : new int[] {all.length, 1, 7, 64}) {
            List<Redaction> reports = new ArrayList<>();
            String out = run(contentType, all, size, reports);
            assertThat(reports).as(what + " in pieces of " + size).noneMatch(r -> r.entityType().equals(StreamShape.ENTITY));
            assertThat(out.replaceAll("[^0-9]", "")).as(what + ": " + out).doesNotContain("4111111111111111");
            assertThat(out).as(what).contains("[CARD]");
        }
    }

    static Stream<Arguments> mislabelled() {
        return Stream.of(
                Arguments.of("NDJSON under an event-stream label", SSE, "{\"message\":{\"content\":\"hi\"}}\n", "json_line_in_event_stream"),
                Arguments.of("a JSON array line in an event stream", SSE, "data: {\"a\":\"b\"}\n[\"hi\"]\n\n", "json_line_in_event_stream"),
                Arguments.of("a JSON line after a BOM and spaces", SSE, "\uFEFF  \t{\"a\":\"b\"}\n\n", "json_line_in_event_stream"),
                Arguments.of("SSE data under an NDJSON label", NDJSON, "data: {\"a\":\"b\"}\n\n", "sse_line_in_ndjson"),
                Arguments.of("an SSE comment under an NDJSON label", NDJSON, ": keep-alive\n", "sse_line_in_ndjson"),
                Arguments.of("an SSE event name under an NDJSON label", NDJSON, "event: message\n", "sse_line_in_ndjson"),
                Arguments.of("an SSE retry under an NDJSON label", NDJSON, "retry: 10\n", "sse_line_in_ndjson"),
                Arguments.of("an SSE id under an NDJSON label", NDJSON, "id: 1\n", "sse_line_in_ndjson"),
                Arguments.of("a repeated name", NDJSON, "{\"a\":\"x\",\"a\":\"y\"}\n", "duplicate_member_name"),
                Arguments.of("a nested repeated name", NDJSON, "{\"m\":{\"c\":\"x\",\"c\":\"y\"}}\n", "duplicate_member_name"),
                Arguments.of("two objects on one line", NDJSON, "{\"a\":\"x\"}{\"a\":\"y\"}\n", "trailing_data_after_json"),
                Arguments.of("two objects with a space", NDJSON, "{\"a\":\"x\"} {\"a\":\"y\"}\n", "trailing_data_after_json"),
                Arguments.of("text after an object", NDJSON, "{\"a\":\"x\"} more\n", "trailing_data_after_json"),
                Arguments.of("an array of strings", NDJSON, "[\"x\"]\n", "json_array_line"),
                Arguments.of("an array of objects", NDJSON, "[{\"a\":\"x\"}]\n", "json_array_line"),
                Arguments.of("an array with text after it", NDJSON, "[\"x\"] y\n", "json_array_line"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mislabelled")
    void should_cut_a_body_that_does_not_match_its_type(String what, String contentType, String body, String why) {
        List<Redaction> reports = new ArrayList<>();
        AnswerMasker.Streaming s = AnswerMasker.streaming(contentType, MASKER, reports::add);
        assertThatThrownBy(() -> {
            s.push(body.getBytes(StandardCharsets.UTF_8));
            s.finish();
        }).as(what).isInstanceOf(MaskingFailedException.class);
        assertThat(reports).as(what).extracting(Redaction::entityType, Redaction::action, Redaction::detector)
                .contains(org.assertj.core.groups.Tuple.tuple(StreamShape.ENTITY, StreamShape.ACTION, why));
        // a buffered answer of that type is withheld the same way
        assertThatThrownBy(() -> AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), contentType, MASKER, r -> { }))
                .as(what).isInstanceOf(MaskingFailedException.class);
    }

    static String run(String contentType, byte[] all, int size, List<Redaction> reports) {
        AnswerMasker.Streaming s = AnswerMasker.streaming(contentType, MASKER, reports::add);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < all.length; i += size) {
            out.writeBytes(s.push(Arrays.copyOfRange(all, i, Math.min(all.length, i + size))));
        }
        out.writeBytes(s.finish());
        return out.toString(StandardCharsets.UTF_8);
    }
}
