package attest.e2e;

import attest.demo.DemoModelServer;
import attest.stack.Gateway;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.sentAs;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.openai;
import static attest.e2e.E2E.post;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Masking through the gateway: plain and streamed, exempt callers, block rules and injected faults. */
class MaskingE2EIT {
    static final List<String> RAW = List.of("4111 1111 1111 1111", "536-90-4399", "jane.doe@example.com",
            "+1 415 555 2671", "DE89 3704 0044 0532 0130 00", "192.168.10.7");
    static final String PII = "{\"model\":\"demo-pii\",\"messages\":[{\"role\":\"user\",\"content\":\"details\"}]}";
    static final String PII_STREAM = PII.replace("{\"model\"", "{\"stream\":true,\"model\"");

    @BeforeAll
    static void up() {
        stack();
    }

    @AfterAll
    static void logsHoldNoSecrets() {
        E2E.assertLogsClean();
    }

    static void assertMasked(String text) {
        for (String raw : RAW) {
            assertThat(text).doesNotContain(raw);
        }
        assertThat(text).contains("[CARD ****1111]", "[SSN]", "[EMAIL]", "[PHONE]", "[IBAN]", "[IP_ADDRESS]")
                .contains("Order 12345 ships on 2026-11-25.");
    }

    @Test
    void should_mask_a_plain_answer_and_record_what_was_hidden() throws Exception {
        String rid = newRequestId();
        ChatCompletion c = openai("/llm", stack().userToken("alice"), rid).chat().completions()
                .create(ChatCompletionCreateParams.builder().model("demo-pii").addUserMessage("details").build());
        String content = c.choices().get(0).message().content().orElseThrow();
        assertMasked(content);
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("masking_rule_set")).isEqualTo("e2e");
        assertThat(row.get("masking_exempt")).isEqualTo(false);
        String report = (String) row.get("masking_report");
        assertThat(report).contains("\"entity_type\":\"CARD\"", "\"action\":\"partial\"", "\"entity_type\":\"SSN\"",
                "/choices/0/message/content");
        for (String raw : RAW) {
            assertThat(report).doesNotContain(raw);
        }
        assertMasked(new String((byte[]) row.get("response_body"), StandardCharsets.UTF_8));
        assertThat(row.get("raw_response_sha256")).isNotNull().isNotEqualTo(row.get("response_sha256"));
        // the answer before masking is evidence too: encrypted at rest, it holds the raw values, and its digest
        byte[] raw = (byte[]) row.get("raw_response_body");
        assertThat(new String(raw, StandardCharsets.UTF_8)).contains(RAW.get(0));
        assertThat(attest.evidence.EvidenceAssembler.sha256(raw)).isEqualTo(row.get("raw_response_sha256"));
        assertThat(new String((byte[]) row.get("raw_response_body_sealed"), StandardCharsets.ISO_8859_1))
                .doesNotContain(RAW.get(0));
    }

    @Test
    void should_mask_a_stream_that_the_sdk_parses() throws Exception {
        String rid = newRequestId();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = openai("/llm", stack().userToken("alice"), rid).chat()
                .completions().createStreaming(ChatCompletionCreateParams.builder().model("demo-pii")
                        .addUserMessage("details").build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append)));
        }
        assertMasked(text.toString());
        assertThat(text.toString()).isEqualTo(expectedMasked());
        await().atMost(Duration.ofSeconds(10)).until(() -> "terminal".equals(evidence(rid).get("state")));
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("outcome")).isEqualTo("completed");
        assertThat((String) row.get("masking_report")).contains("\"entity_type\":\"IBAN\"");
        assertThat(row.get("raw_response_sha256")).isNotEqualTo(row.get("response_sha256"));
        String delivered = new String((byte[]) row.get("response_body"), StandardCharsets.UTF_8);
        for (String raw : RAW) {
            assertThat(delivered).doesNotContain(raw);
        }
        // the stream as the upstream sent it, before masking: kept encrypted, matching its digest
        byte[] rawStream = (byte[]) row.get("raw_response_body");
        assertThat(attest.evidence.EvidenceAssembler.sha256(rawStream)).isEqualTo(row.get("raw_response_sha256"));
        assertThat(new String(rawStream, StandardCharsets.UTF_8)).contains("data:");
    }

    /** The same answer, masked in one go (the stream must deliver exactly this). */
    static String expectedMasked() throws Exception {
        HttpResponse<String> plain = post("/llm/v1/chat/completions", stack().userToken("alice"), newRequestId(), PII);
        return E2E.JSON.readTree(plain.body()).path("choices").get(0).path("message").path("content").asText();
    }

    @Test
    void should_show_raw_values_to_an_exempt_role_and_record_the_exemption() throws Exception {
        String rid = newRequestId();
        HttpResponse<String> r = post("/llm/v1/chat/completions", stack().userToken("paula"), rid, PII);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("4111 1111 1111 1111", "jane.doe@example.com");
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("masking_exempt")).isEqualTo(true);
        assertThat(row.get("masking_rule_set")).isEqualTo("e2e");
    }

    @Test
    void should_refuse_an_answer_that_a_block_rule_matches() throws Exception {
        String rid = newRequestId();
        HttpResponse<String> r = post("/llm/v1/chat/completions", stack().userToken("alice"), rid,
                PII.replace("demo-pii", "demo-secret"));
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.body()).contains("response_blocked").doesNotContain("AKIA");
        assertThat(evidence(rid).get("outcome")).isEqualTo("blocked");

        String sid = newRequestId();
        HttpResponse<String> s = sendTolerant(stack().dataPort, stack().userToken("alice"), sid,
                PII_STREAM.replace("demo-pii", "demo-secret"));
        assertThat(s == null ? "" : s.body()).doesNotContain("AKIA").doesNotContain("[DONE]");
        await().atMost(Duration.ofSeconds(10)).until(() -> "terminal".equals(evidence(sid).get("state")));
        assertThat(evidence(sid).get("outcome")).isEqualTo("blocked");
    }

    @Test
    void should_fail_closed_when_masking_fails() throws Exception {
        // a gateway whose masking can never meet its time budget: every masking pass fails
        var s = stack();
        Map<String, String> p = s.extraGatewaySettings();
        p.put("attest.masking.time-budget-ms", "0");
        int port = Integer.parseInt(p.get("attest.data.port"));
        try (Gateway g = new Gateway(p).start()) {
            String token = s.userToken("alice");
            String rid = newRequestId();
            HttpResponse<String> plain = send(port, token, rid, PII);
            assertThat(plain.statusCode()).isEqualTo(502);
            assertThat(plain.body()).contains("masking_failed");
            for (String raw : RAW) {
                assertThat(plain.body()).doesNotContain(raw);
            }
            assertThat(evidence(rid).get("outcome")).isEqualTo("masking_failed");

            String sid = newRequestId();
            HttpResponse<String> stream = sendTolerant(port, token, sid, PII_STREAM);
            for (String raw : RAW) {
                assertThat(stream == null ? "" : stream.body()).doesNotContain(raw);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> "terminal".equals(evidence(sid).get("state")));
            assertThat(evidence(sid).get("outcome")).isEqualTo("masking_failed");
        }
    }

    @Test
    void should_mask_requests_before_the_upstream_sees_them_when_a_rule_set_says_so() throws Exception {
        var s = stack();
        java.nio.file.Path dir = s.work.resolve("masking-both");
        java.nio.file.Files.createDirectories(dir);
        java.nio.file.Files.writeString(dir.resolve("both.yaml"),
                "rule-sets:\n  - id: both\n    scope: {direction: both}\n");
        Map<String, String> p = s.extraGatewaySettings();
        p.put("attest.masking.rules-dir", dir.toString());
        int port = Integer.parseInt(p.get("attest.data.port"));
        try (Gateway g = new Gateway(p).start()) {
            String rid = newRequestId();
            HttpResponse<String> r = send(port, s.userToken("alice"), rid, "{\"model\":\"demo-model\",\"messages\":"
                    + "[{\"role\":\"user\",\"content\":\"my mail is jane.doe@example.com\"}]}");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("You said: my mail is [EMAIL]");
            DemoModelServer.Received got = s.demo.received().stream()
                    .filter(sentAs(rid)).findFirst().orElseThrow();
            assertThat(got.body()).contains("[EMAIL]").doesNotContain("jane.doe@example.com");
            // the evidence keeps the request as the caller sent it
            assertThat(new String((byte[]) evidence(rid).get("request_body"), StandardCharsets.UTF_8))
                    .contains("jane.doe@example.com");
            // and the digest of what the upstream got, which differs
            assertThat(evidence(rid).get("forwarded_sha256")).isEqualTo(attest.evidence.EvidenceAssembler.sha256(
                    got.body().getBytes(StandardCharsets.UTF_8)));
        }
    }

    static HttpResponse<String> send(int port, String token, String rid, String body) throws Exception {
        return E2E.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/llm/v1/chat/completions"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .header("X-Request-Id", rid).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A cut stream may end in an I/O error on the client side; that is the expected outcome. */
    static HttpResponse<String> sendTolerant(int port, String token, String rid, String body) throws Exception {
        try {
            return send(port, token, rid, body);
        } catch (java.io.IOException cut) {
            return null;
        }
    }

}
