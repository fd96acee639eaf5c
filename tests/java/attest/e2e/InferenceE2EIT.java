package attest.e2e;

import attest.demo.DemoModelServer;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.core.http.StreamResponse;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static attest.e2e.E2E.CHAT;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.gatewayId;
import static attest.e2e.E2E.sentAs;
import static attest.e2e.E2E.events;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.openai;
import static attest.e2e.E2E.post;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The data path against the real stack: Keycloak tokens, the official OpenAI Java SDK as the client,
 * evidence in PostgreSQL and events in Kafka.
 */
class InferenceE2EIT {
    static final ChatCompletionCreateParams HELLO = ChatCompletionCreateParams.builder().model("demo-model")
            .addUserMessage("hello").build();

    @BeforeAll
    static void up() {
        stack();
    }

    @org.junit.jupiter.api.AfterAll
    static void logsHoldNoSecrets() {
        E2E.assertLogsClean();
    }

    static void assertEvidenceAndEvent(String requestId, String outcome, int status) throws Exception {
        // a refusal of the HTTP layer (401 on the headers) is answered at once and its evidence committed after
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(requestId) != null);
        Map<String, Object> row = evidence(requestId);
        assertThat(row).as("evidence row for %s", requestId).isNotNull();
        assertThat(row.get("state")).isEqualTo("terminal");
        assertThat(row.get("outcome")).isEqualTo(outcome);
        assertThat(row.get("status")).isEqualTo(status);
        assertThat(row.get("request_sha256")).isNotNull();
        if (status != 401) {
            // a request without a valid token is refused on its headers: the gateway's own fixed 401 body is no evidence
            assertThat(row.get("response_sha256")).isNotNull();
        }
        assertThat(row.get("completed_at")).isNotNull();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(events()).containsKey(requestId));
        JsonNode event = events().get(requestId);
        assertThat(event.path("schema_version").asInt()).isEqualTo(2);
        // the raw answer's digest is keyed on the topic: never the chain's plain SHA-256 (issue 10)
        assertThat(event.path("record").path("response").has("raw_sha256")).isFalse();
        Object raw = row.get("raw_response_sha256");
        if (raw != null) {
            assertThat(event.path("record").path("response").path("raw_hmac_sha256").asText())
                    .hasSize(64).isNotEqualTo(raw.toString());
        }
        assertThat(event.path("event_id").asText()).isNotBlank();
        assertThat(event.path("record").path("outcome").asText()).isEqualTo(outcome);
        assertThat(event.path("record").path("id").asText()).isEqualTo(row.get("id").toString());
    }

    @Test
    @SuppressWarnings("unchecked")
    void should_complete_a_chat_call_for_a_user_with_evidence_and_event() throws Exception {
        String rid = newRequestId();
        String token = stack().userToken("alice");
        ChatCompletion c = openai("/llm", token, rid).chat().completions().create(HELLO);
        assertThat(c.choices().get(0).message().content()).hasValue("Hello from the demo model. You said: hello");
        assertEvidenceAndEvent(rid, "completed", 200);
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("username")).isEqualTo("alice");
        assertThat(row.get("principal_type")).isEqualTo("user");
        assertThat(row.get("client_id")).isEqualTo("attest-cli");
        assertThat((List<Object>) row.get("realm_roles")).contains((Object) "inference-user");
        assertThat((List<Object>) row.get("groups")).contains((Object) "/team-a");
        assertThat(row.get("decision")).isEqualTo("ALLOW");
        assertThat(row.get("rule_id")).isEqualTo("inference-user-chat");
        assertThat(row.get("model")).isEqualTo("demo-model");
        assertThat(row.get("upstream")).isEqualTo("llm");
        assertThat(row.get("source_address")).isEqualTo("127.0.0.1");
        assertThat(row.get("forwarded_at")).isNotNull();
        assertThat(row.get("first_byte_at")).isNotNull();
        assertThat(new String((byte[]) row.get("request_body"), StandardCharsets.UTF_8)).contains("hello");
        assertThat(new String((byte[]) row.get("response_body"), StandardCharsets.UTF_8)).contains("You said: hello");
        // the credential travels in a header, which evidence never stores
        assertThat(new String((byte[]) row.get("request_body"), StandardCharsets.UTF_8)).doesNotContain(token);
        // at rest the payloads are ciphertext (AES-256-GCM under the day's data key)
        assertThat(row.get("payload_key_id")).asString().startsWith("dk-");
        assertThat(new String((byte[]) row.get("request_body_sealed"), StandardCharsets.ISO_8859_1)).doesNotContain("hello");
        assertThat(new String((byte[]) row.get("response_body_sealed"), StandardCharsets.ISO_8859_1))
                .doesNotContain("You said");
    }

    @Test
    void should_stream_a_chat_call_through_the_sdk() throws Exception {
        String rid = newRequestId();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = openai("/llm", stack().userToken("alice"), rid).chat()
                .completions().createStreaming(HELLO)) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append)));
        }
        assertThat(text.toString()).isEqualTo("Hello from the demo model. You said: hello");
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(rid) != null
                && "terminal".equals(evidence(rid).get("state")));
        assertEvidenceAndEvent(rid, "completed", 200);
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("streamed")).isEqualTo(true);
        assertThat(new String((byte[]) row.get("response_body"), StandardCharsets.UTF_8)).contains("data: [DONE]");
        assertThat((Long) row.get("response_size")).isEqualTo(((byte[]) row.get("response_body")).length);
        // when each piece arrived: [[ms after the first byte, bytes], ...], for the replay timeline
        JsonNode timings = E2E.JSON.readTree((String) row.get("stream_timings"));
        assertThat(timings.isArray()).isTrue();
        assertThat(timings.size()).isGreaterThanOrEqualTo(1);
        assertThat(timings.get(0).get(0).asLong()).isZero();
    }

    @Test
    void should_accept_the_batch_job_service_account() throws Exception {
        String rid = newRequestId();
        ChatCompletion c = openai("/llm", stack().serviceAccountToken(), rid).chat().completions().create(HELLO);
        assertThat(c.choices()).hasSize(1);
        assertEvidenceAndEvent(rid, "completed", 200);
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("principal_type")).isEqualTo("service_account");
        assertThat(row.get("client_id")).isEqualTo("batch-job");
        assertThat(row.get("username")).isEqualTo("service-account-batch-job");
    }

    @Test
    void should_inject_the_upstream_credential_and_never_pass_the_callers_token() throws Exception {
        String rid = newRequestId();
        String token = stack().userToken("alice");
        DemoModelServer demo = stack().demo;
        HttpResponse<String> r = post("/llm/v1/chat/completions", token, rid, CHAT);
        assertThat(r.statusCode()).isEqualTo(200);
        DemoModelServer.Received got = demo.received().stream()
                .filter(sentAs(rid)).findFirst().orElseThrow();
        assertThat(got.header("Authorization")).isEqualTo("Bearer " + stack().demoKey);
        assertThat(got.header("X-Attest-Subject")).isEqualTo(evidence(rid).get("subject"));
        assertThat(got.path()).isEqualTo("/v1/chat/completions");
        for (DemoModelServer.Received any : demo.received()) {
            assertThat(any.headers().toString()).doesNotContain(token);
        }
        // and the response never echoes the request's headers
        assertThat(r.headers().map().keySet()).noneMatch(k -> k.equalsIgnoreCase("Authorization"));
        // the caller's X-Request-Id is a correlation id only: the call's id is the gateway's
        assertThat(r.headers().firstValue("X-Request-Id")).hasValue(gatewayId(rid)).isNotEqualTo(java.util.Optional.of(rid));
        assertThat(r.body()).doesNotContain(token);
    }

    @Test
    void should_present_a_short_lived_oauth2_token_to_an_oauth2_upstream() throws Exception {
        String rid = newRequestId();
        ChatCompletion c = openai("/llm-oauth", stack().userToken("alice"), rid).chat().completions().create(HELLO);
        assertThat(c.choices()).hasSize(1);
        DemoModelServer.Received got = stack().oauthDemo.received().stream()
                .filter(sentAs(rid)).findFirst().orElseThrow();
        // the oauth demo accepts only a valid Keycloak token issued to attest-gateway
        assertThat(got.header("Authorization")).startsWith("Bearer ey");
        assertEvidenceAndEvent(rid, "completed", 200);
    }

    static String tampered(String token) {
        String[] p = token.split("\\.");
        char[] sig = p[2].toCharArray();
        sig[10] = sig[10] == 'A' ? 'B' : 'A';
        return p[0] + "." + p[1] + "." + new String(sig);
    }

    static String algNone(String token) {
        String[] p = token.split("\\.");
        String header = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}"
                .getBytes(StandardCharsets.UTF_8));
        return header + "." + p[1] + ".";
    }

    @ParameterizedTest(name = "401 for {0}")
    @ValueSource(strings = {"no token", "another client", "alg none", "tampered signature", "id token",
            "refresh token", "garbage"})
    void should_refuse_invalid_tokens_with_401_and_record_them(String kind) throws Exception {
        String token = switch (kind) {
            case "no token" -> null;
            case "another client" -> stack().userToken("other-app", "alice");
            case "alg none" -> algNone(stack().userToken("alice"));
            case "tampered signature" -> tampered(stack().userToken("alice"));
            case "id token" -> stack().otherToken("alice", "id_token");
            case "refresh token" -> stack().otherToken("alice", "refresh_token");
            default -> "not.a.jwt";
        };
        String rid = newRequestId();
        int before = stack().demo.calls();
        HttpResponse<String> r = post("/llm/v1/chat/completions", token, rid, CHAT);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer error=\"invalid_token\"");
        assertThat(JSON_ERROR(r).path("code").asText()).isEqualTo("invalid_token");
        if (token != null) {
            assertThat(r.body()).doesNotContain(token.substring(0, Math.min(token.length(), 40)));
        }
        assertThat(stack().demo.calls()).isEqualTo(before);
        // refused on its headers: recorded under the gateway's id, which the 401 names (never the caller's)
        String gid = r.headers().firstValue("X-Request-Id").orElseThrow();
        assertThat(gid).isNotEqualTo(rid);
        assertEvidenceAndEvent(gid, "unauthenticated", 401);
        assertThat(evidence(gid).get("auth_error")).isNotNull();
    }

    @Test
    void should_refuse_an_expired_token_with_401() throws Exception {
        // attest-cli-short issues 2-second tokens; the e2e gateway allows 1 s of clock skew
        String token = stack().userToken("attest-cli-short", "alice");
        String rid = newRequestId();
        assertThat(post("/llm/v1/chat/completions", token, newRequestId(), CHAT).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).until(() ->
                post("/llm/v1/chat/completions", token, rid + "-" + System.nanoTime(), CHAT).statusCode() == 401);
        HttpResponse<String> r = post("/llm/v1/chat/completions", token, rid, CHAT);
        assertThat(r.statusCode()).isEqualTo(401);
        String gid = r.headers().firstValue("X-Request-Id").orElseThrow();
        assertEvidenceAndEvent(gid, "unauthenticated", 401);
        assertThat(evidence(gid).get("auth_error").toString()).contains("expired");
    }

    @Test
    void should_refuse_the_sdk_with_401_for_a_bad_token() {
        assertThatThrownBy(() -> openai("/llm", "not-a-token", newRequestId()).chat().completions().create(HELLO))
                .isInstanceOf(OpenAIServiceException.class)
                .satisfies(e -> assertThat(((OpenAIServiceException) e).statusCode()).isEqualTo(401));
    }

    @Test
    void should_deny_dave_with_403_and_record_it() throws Exception {
        String rid = newRequestId();
        int before = stack().demo.calls();
        assertThatThrownBy(() -> openai("/llm", stack().userToken("dave"), rid).chat().completions().create(HELLO))
                .isInstanceOf(OpenAIServiceException.class)
                .satisfies(e -> assertThat(((OpenAIServiceException) e).statusCode()).isEqualTo(403));
        assertThat(stack().demo.calls()).isEqualTo(before);
        assertEvidenceAndEvent(rid, "denied", 403);
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("username")).isEqualTo("dave");
        assertThat(row.get("decision")).isEqualTo("DENY");
        assertThat(row.get("rule_id")).isEqualTo("default-deny");
    }

    @Test
    void should_answer_502_for_an_upstream_error_without_its_details() throws Exception {
        String rid = newRequestId();
        HttpResponse<String> r = post("/llm/v1/chat/completions", stack().userToken("alice"), rid,
                CHAT.replace("demo-model", "demo-error"));
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).doesNotContain("IllegalStateException").doesNotContain("exploded");
        assertEvidenceAndEvent(rid, "upstream_error", 502);
        assertThat(evidence(rid).get("upstream_status")).isEqualTo(500);
    }

    @Test
    void should_answer_504_when_the_upstream_is_too_slow() throws Exception {
        String rid = newRequestId();
        HttpResponse<String> r = post("/llm/v1/chat/completions", stack().userToken("alice"), rid,
                CHAT.replace("demo-model", "demo-slow"));
        assertThat(r.statusCode()).isEqualTo(504);
        assertEvidenceAndEvent(rid, "timeout", 504);
    }

    @Test
    void should_cut_a_stream_that_goes_silent_and_record_a_timeout() throws Exception {
        String rid = newRequestId();
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(stack().gatewayUrl()
                        + "/llm/v1/chat/completions")).header("Authorization", "Bearer " + stack().userToken("alice"))
                .header("Content-Type", "application/json").header("X-Request-Id", rid)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"demo-hang-stream\",\"stream\":true,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")).build();
        HttpResponse<java.io.InputStream> r = E2E.HTTP.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        boolean cut = false;
        try (var in = r.body()) {
            in.transferTo(got);
        } catch (java.io.IOException e) {
            cut = true;
        }
        // the first event came through, then the stream was cut: no terminating chunk, no [DONE]
        assertThat(cut).as("the chunked stream ends without its last chunk").isTrue();
        assertThat(got.toString(StandardCharsets.UTF_8)).contains("data: {").doesNotContain("[DONE]");
        await().atMost(Duration.ofSeconds(15)).until(() -> "terminal".equals(evidence(rid).get("state")));
        assertThat(evidence(rid).get("outcome")).isEqualTo("timeout");
    }

    @Test
    void should_keep_a_stream_open_in_evidence_and_record_a_caller_that_leaves() throws Exception {
        String rid = newRequestId();
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(stack().gatewayUrl()
                        + "/llm/v1/chat/completions")).header("Authorization", "Bearer " + stack().userToken("alice"))
                .header("Content-Type", "application/json").header("X-Request-Id", rid)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"demo-hang-stream\",\"stream\":true,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")).build();
        HttpResponse<java.io.InputStream> r = E2E.HTTP.send(req, HttpResponse.BodyHandlers.ofInputStream());
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            assertThat(in.readLine()).startsWith("data: {");
            // while the stream runs, its record is already committed, and open
            assertThat(evidence(rid).get("state")).isEqualTo("open");
            assertThat(evidence(rid).get("forwarded_at")).isNotNull();
        }
        // the caller hung up before the upstream finished
        await().atMost(Duration.ofSeconds(10)).until(() -> "terminal".equals(evidence(rid).get("state")));
        assertThat(evidence(rid).get("outcome")).isEqualTo("client_aborted");
    }

    @Test
    void should_deliver_the_first_stream_event_before_the_upstream_finishes() throws Exception {
        DemoModelServer demo = stack().demo;
        demo.setStreamDelayMillis(150);
        try {
            long[] direct = firstAndLast(demo.baseUrl() + "/v1/chat/completions", "Bearer " + stack().demoKey);
            long[] through = firstAndLast(stack().gatewayUrl() + "/llm/v1/chat/completions",
                    "Bearer " + stack().userToken("alice"));
            // the stream takes over a second; through the gateway the first event comes about as soon as direct
            assertThat(direct[1]).isGreaterThan(1000);
            assertThat(through[0]).isLessThan(through[1] / 3);
            assertThat(through[0]).isLessThan(direct[0] + 500);
        } finally {
            demo.setStreamDelayMillis(20);
        }
    }

    /** Milliseconds to the first data event and to the end of the stream. */
    static long[] firstAndLast(String url, String auth) throws Exception {
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).header("Authorization", auth)
                .header("Content-Type", "application/json").header("X-Request-Id", newRequestId())
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"demo-model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":"
                                + "\"one two three four five six seven eight\"}]}")).build();
        long start = System.nanoTime();
        HttpResponse<java.io.InputStream> r = E2E.HTTP.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        long first = -1;
        List<String> lines = new ArrayList<>();
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("data:") && first < 0) {
                    first = (System.nanoTime() - start) / 1_000_000;
                }
                lines.add(line);
            }
        }
        assertThat(lines).contains("data: [DONE]");
        return new long[] {first, (System.nanoTime() - start) / 1_000_000};
    }

    @Test
    void should_never_let_the_request_choose_the_upstream_host() throws Exception {
        // a raw request with a hostile Host header and an absolute-form target: the path prefix alone decides
        String token = stack().userToken("alice");
        String rid = newRequestId();
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", stack().dataPort)) {
            String body = CHAT;
            String req = "POST /llm/v1/chat/completions HTTP/1.1\r\nHost: evil.example:666\r\n"
                    + "X-Forwarded-Host: evil.example\r\nAuthorization: Bearer " + token + "\r\n"
                    + "X-Request-Id: " + rid + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\nConnection: close\r\n\r\n" + body;
            s.getOutputStream().write(req.getBytes(StandardCharsets.UTF_8));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 200");
        }
        DemoModelServer.Received got = stack().demo.received().stream()
                .filter(sentAs(rid)).findFirst().orElseThrow();
        assertThat(got.header("Host")).isEqualTo("127.0.0.1:" + stack().demo.port());
        assertThat(got.header("X-Forwarded-Host")).isNull();
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", stack().dataPort)) {
            String req = "POST http://evil.example/llm/v1/chat/completions HTTP/1.1\r\nHost: evil.example\r\n"
                    + "Authorization: Bearer " + token + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
            s.getOutputStream().write(req.getBytes(StandardCharsets.UTF_8));
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).startsWith("HTTP/1.1 400");
        }
    }

    @Test
    void should_serve_health_and_metrics_on_the_control_plane() throws Exception {
        String base = "http://127.0.0.1:" + stack().controlPort;
        HttpResponse<String> health = E2E.HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base
                + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(E2E.JSON.readTree(health.body()).path("evidence_store").asText()).isEqualTo("UP");
        HttpResponse<String> metrics = E2E.HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base
                + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("attest_evidence_writes_total").contains("attest_evidence_commits_total");
        // the data plane does not answer control-plane paths
        HttpResponse<String> notHere = post("/health", stack().userToken("alice"), newRequestId(), "{}");
        assertThat(notHere.statusCode()).isEqualTo(404);
    }

    private static JsonNode JSON_ERROR(HttpResponse<String> r) throws Exception {
        return E2E.JSON.readTree(r.body()).path("error");
    }
}
