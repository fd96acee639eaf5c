package attest.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.openai;
import static attest.e2e.E2E.post;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Every answer a caller can receive is masked, whatever its shape, through the gateway with the OpenAI Java
 * SDK: a held streamed call after approval, logprobs, reasoning, tool-call arguments split across chunks,
 * Responses API streams, and a gzip-encoded answer. The demo model splits every entity across events.
 */
class MaskingFormatsE2EIT {
    /** Pieces of the demo's regulated data that must never reach the caller (the stream splits them). */
    static final List<String> RAW = List.of("4111 1111 1111 1111", "1111 1111", "536-90-4399", "4399",
            "jane.doe@example.com", "jane.doe", "415 555 2671", "2671", "DE89 3704 0044 0532 0130 00", "0130 00",
            "192.168.10.7", "168.10");

    @BeforeAll
    static void up() {
        stack();
    }

    @AfterAll
    static void logsHoldNoSecrets() {
        E2E.assertLogsClean();
    }

    static void assertNoRaw(String text) {
        String data = withoutIds(text);
        for (String raw : RAW) {
            assertThat(data).as("leaked %s in %s", raw, text).doesNotContain(raw);
        }
    }

    /**
     * The text without what the gateway and the demo make up per call: request ids (UUIDs), the demo's hex ids
     * (chatcmpl-/cmpl-/resp_/msg_ + nanoTime) and its epoch seconds. A random id holds "4399" or "2671" often
     * enough to fail a run (CI at 3a0cc64: request_id 161198f4-...-b9439923ff8f); none of them can hold a masked
     * entity's text, which has spaces, dots, '@' or dashes between digit groups no id has.
     */
    static String withoutIds(String text) {
        return text.replaceAll("(?i)\\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\b", "<uuid>")
                .replaceAll("\\b(chatcmpl-|cmpl-|resp_|msg_)[0-9a-f]+\\b", "$1<id>")
                .replaceAll("\"(created|created_at)\"\\s*:\\s*\\d+", "\"$1\":0");
    }

    @Test
    void should_tell_an_id_from_a_leak() {
        assertNoRaw("{\"request_id\":\"161198f4-55ad-464f-af0b-b9439923ff8f\",\"id\":\"chatcmpl-19a4399f2671\","
                + "\"created\":1764399267}");
        assertThatThrownBy(() -> assertNoRaw("{\"request_id\":\"161198f4-55ad-464f-af0b-b9439923ff8f\","
                + "\"content\":\"SSN 4399\"}")).isInstanceOf(AssertionError.class).hasMessageContaining("leaked 4399");
        assertThatThrownBy(() -> assertNoRaw("chatcmpl-ab 415 555 2671")).isInstanceOf(AssertionError.class);
    }

    static void assertMasked(String text) {
        assertNoRaw(text);
        assertThat(text).contains("[CARD ****1111]", "[SSN]", "[EMAIL]", "[PHONE]", "[IBAN]", "[IP_ADDRESS]")
                .contains("Order 12345 ships on 2026-11-25.");
    }

    static ChatCompletionCreateParams.Builder chat(String model, String prompt) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage(prompt);
    }

    @Test
    void should_mask_an_approved_streamed_call_with_pii_split_across_events() throws Exception {
        String rid = newRequestId();
        CompletableFuture<String> caller = CompletableFuture.supplyAsync(() -> {
            StringBuilder text = new StringBuilder();
            try (StreamResponse<ChatCompletionChunk> s = openai("/llm", stack().userToken("alice"), rid).chat()
                    .completions().createStreaming(chat("demo-split", ApprovalE2EIT.RISKY).build())) {
                s.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(text::append)));
            }
            return text.toString();
        });
        String bob = stack().userToken("bob");
        // bob sees it pending in his list (the held call is stored), then approves it
        String id = await().atMost(Duration.ofSeconds(15)).until(() -> {
            Map<String, Object> row = evidence(rid);
            if (row == null || row.get("approval_id") == null) {
                return null;
            }
            String held = String.valueOf(row.get("approval_id"));
            for (JsonNode n : JSON.readTree(ApprovalE2EIT.get(ApprovalE2EIT.control() + "/approvals", bob).body())
                    .path("approvals")) {
                if (n.path("id").asText().equals(held) && n.path("state").asText().equals("pending")) {
                    return held;
                }
            }
            return null;
        }, v -> v != null);
        HttpResponse<String> decided = ApprovalE2EIT.decide(ApprovalE2EIT.control(), id, bob, "approve");
        assertThat(decided.statusCode()).as(decided.body()).isEqualTo(200);

        String text = caller.get();
        if (text.isEmpty()) {
            // the approval came after the held connection's window: the requester reads the stored result
            HttpResponse<String> r = await().atMost(Duration.ofSeconds(20)).until(() -> ApprovalE2EIT.get(
                    stack().gatewayUrl() + "/approvals/" + id + "/result", stack().userToken("alice")),
                    x -> x.statusCode() != 202);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
            StringBuilder joined = new StringBuilder();
            for (String line : r.body().split("\n")) {
                if (line.startsWith("data: {")) {
                    JSON.readTree(line.substring(6)).path("choices").forEach(c -> joined.append(
                            c.path("delta").path("content").asText("")));
                }
            }
            text = joined.toString();
        }
        assertMasked(text);
        await().atMost(Duration.ofSeconds(10)).until(() -> "terminal".equals(evidence(rid).get("state")));
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("outcome")).isEqualTo("completed");
        // its evidence records the masking report like any call
        String report = (String) row.get("masking_report");
        assertThat(report).contains("\"entity_type\":\"CARD\"", "\"entity_type\":\"SSN\"", "\"entity_type\":\"IBAN\"",
                "/choices/0/delta/content");
        String delivered = new String((byte[]) row.get("response_body"), StandardCharsets.UTF_8);
        assertNoRaw(delivered);
        assertThat(delivered).contains("data:");
    }

    @Test
    void should_mask_or_redact_logprobs_buffered_and_streamed() throws Exception {
        ChatCompletion c = openai("/llm", stack().userToken("alice"), newRequestId()).chat().completions()
                .create(chat("demo-split", "details").logprobs(true).build());
        assertMasked(c.choices().get(0).message().content().orElseThrow());
        // the tokens would give the answer back: the field is redacted whole
        assertThat(c.choices().get(0).logprobs()).isEmpty();

        String rid = newRequestId();
        StringBuilder tokens = new StringBuilder();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = openai("/llm", stack().userToken("alice"), rid).chat()
                .completions().createStreaming(chat("demo-split", "details").logprobs(true).build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> {
                ch.delta().content().ifPresent(text::append);
                ch.logprobs().flatMap(ChatCompletionChunk.Choice.Logprobs::content).ifPresent(l -> l.forEach(t -> {
                    tokens.append(t.token());
                    t.bytes().ifPresent(b -> b.forEach(x -> tokens.append((char) x.intValue())));
                    t.topLogprobs().forEach(alt -> tokens.append(alt.token()));
                }));
            }));
        }
        assertMasked(text.toString());
        assertNoRaw(tokens.toString());
        assertThat(tokens.toString()).as("clean tokens still come through").contains("Here");
        await().atMost(Duration.ofSeconds(10)).until(() -> "terminal".equals(evidence(rid).get("state")));
        assertThat((String) evidence(rid).get("masking_report")).contains("redact_field");
    }

    @Test
    void should_mask_reasoning_content_split_across_chunks() throws Exception {
        StringBuilder reasoning = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = openai("/llm", stack().userToken("alice"), newRequestId()).chat()
                .completions().createStreaming(chat("demo-reasoning", "details").build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> {
                JsonValue v = ch.delta()._additionalProperties().get("reasoning_content");
                if (v != null && !v.isNull()) {
                    reasoning.append(v.convert(String.class));
                }
            }));
        }
        assertMasked(reasoning.toString());
        ChatCompletion c = openai("/llm", stack().userToken("alice"), newRequestId()).chat().completions()
                .create(chat("demo-reasoning", "details").build());
        assertMasked(c.choices().get(0).message()._additionalProperties().get("reasoning_content")
                .convert(String.class));
    }

    @Test
    void should_mask_tool_call_arguments_split_across_chunks() throws Exception {
        StringBuilder arguments = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = openai("/llm", stack().userToken("alice"), newRequestId()).chat()
                .completions().createStreaming(chat("demo-tools", "details").build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().toolCalls().ifPresent(calls ->
                    calls.forEach(call -> call.function().flatMap(f -> f.arguments()).ifPresent(arguments::append)))));
        }
        assertNoRaw(arguments.toString());
        JsonNode args = JSON.readTree(arguments.toString());
        assertThat(args.path("card").asText()).isEqualTo("[CARD ****1111]");
        assertThat(args.path("ssn").asText()).isEqualTo("[SSN]");
        assertThat(args.path("email").asText()).isEqualTo("[EMAIL]");
    }

    @Test
    void should_mask_a_responses_api_stream_and_answer() throws Exception {
        StringBuilder text = new StringBuilder();
        String rid = newRequestId();
        try (StreamResponse<ResponseStreamEvent> s = openai("/llm", stack().userToken("alice"), rid).responses()
                .createStreaming(ResponseCreateParams.builder().model("demo-split").input("details").build())) {
            s.stream().forEach(e -> e.outputTextDelta().ifPresent(d -> text.append(d.delta())));
        } catch (RuntimeException e) {
            await().atMost(Duration.ofSeconds(10)).until(() -> "terminal".equals(evidence(rid).get("state")));
            throw new AssertionError("the stream broke off; evidence outcome " + evidence(rid).get("outcome")
                    + ", received " + text, e);
        }
        assertMasked(text.toString());
        await().atMost(Duration.ofSeconds(10)).until(() -> "terminal".equals(evidence(rid).get("state")));
        String delivered = new String((byte[]) evidence(rid).get("response_body"), StandardCharsets.UTF_8);
        assertNoRaw(delivered); // the .done events and response.completed carry the whole text: masked too
        assertThat(delivered).contains("response.completed");

        HttpResponse<String> plain = post("/llm/v1/responses", stack().userToken("alice"), newRequestId(),
                "{\"model\":\"demo-split\",\"input\":\"details\"}");
        assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);
        assertMasked(JSON.readTree(plain.body()).at("/output/0/content/0/text").asText());
    }

    @Test
    void should_decode_a_gzip_answer_mask_it_and_label_it_correctly() throws Exception {
        String rid = newRequestId();
        ChatCompletion c = openai("/llm", stack().userToken("alice"), rid).chat().completions()
                .create(chat("demo-gzip", "details").build());
        assertMasked(c.choices().get(0).message().content().orElseThrow());
        // the upstream was asked for identity, whatever the client accepts
        var got = stack().demo.received().stream().filter(E2E.sentAs(rid)).findFirst()
                .orElseThrow();
        assertThat(got.header("Accept-Encoding")).isEqualTo("identity");

        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = openai("/llm", stack().userToken("alice"), newRequestId()).chat()
                .completions().createStreaming(chat("demo-gzip", "details").build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append)));
        }
        assertMasked(text.toString());

        // a raw client that accepts gzip gets plain, correctly labelled bytes
        HttpResponse<byte[]> raw = E2E.HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                        stack().gatewayUrl() + "/llm/v1/chat/completions")).header("Authorization", "Bearer "
                        + stack().userToken("alice")).header("Content-Type", "application/json")
                        .header("Accept-Encoding", "gzip").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"demo-gzip\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(raw.statusCode()).isEqualTo(200);
        assertThat(raw.headers().firstValue("Content-Encoding")).isEmpty();
        String body = new String(raw.body(), StandardCharsets.UTF_8);
        assertMasked(JSON.readTree(body).at("/choices/0/message/content").asText());
        raw.headers().firstValue("Content-Length").ifPresent(l -> assertThat(Long.parseLong(l))
                .isEqualTo(raw.body().length));
    }

    @Test
    void should_refuse_an_answer_it_cannot_decode() throws Exception {
        String rid = newRequestId();
        HttpResponse<String> r = post("/llm/v1/chat/completions", stack().userToken("alice"), rid,
                "{\"model\":\"demo-br\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertThat(r.statusCode()).isEqualTo(502);
        assertNoRaw(r.body());
        await().atMost(Duration.ofSeconds(10)).until(() -> "terminal".equals(evidence(rid).get("state")));
        assertThat(evidence(rid).get("outcome")).isEqualTo("upstream_error");
    }
}
