package attest.e2e;

import attest.demo.DemoModelServer;
import attest.stack.GatewayProcess;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The gateway process's own log, as an operator's collector reads it: every line is one JSON object (ECS), every
 * line written for a call names its request id, record id, upstream and outcome, and (tracing being on) the ECS
 * trace.id and span.id of the call, the caller's trace continued; no line holds a token, a prompt or an answer.
 */
class JsonLogsE2EIT {
    @BeforeAll
    static void up() {
        stack();
    }

    record Call(String requestId, String evidenceId, int status) {
    }

    static Call call(String base, String token, String body) throws Exception {
        return call(base, token, body, null);
    }

    static Call call(String base, String token, String body, String traceparent) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/llm/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (traceparent != null) {
            b.header("traceparent", traceparent);
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Call(r.headers().firstValue("X-Request-Id").orElse(null),
                r.headers().firstValue("Attest-Evidence-Id").orElse(null), r.statusCode());
    }

    @Test
    void should_write_every_line_as_ecs_json_with_the_call_context_and_no_secret_or_payload() throws Exception {
        Map<String, String> s = stack().extraGatewaySettings();
        s.put("attest.instance-id", "json-logs-e2e");
        String base = "http://127.0.0.1:" + s.get("attest.data.port");
        String secretPrompt = "the launch code is " + UUID.randomUUID();
        String alice = stack().userToken("alice");
        String dave = stack().userToken("dave");
        String forged = alice.substring(0, alice.lastIndexOf('.') + 1) + "AAAA" + UUID.randomUUID();
        var log = stack().work.resolve("json-logs.log");
        Map<String, String> expected = new LinkedHashMap<>(); // request id -> outcome
        Map<String, Call> calls = new LinkedHashMap<>();
        String callerTrace = UUID.randomUUID().toString().replace("-", "");
        try (GatewayProcess gw = new GatewayProcess(stack().repo, log, s)) {
            Call plain = call(base, alice, "{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\",\"content\":\""
                    + secretPrompt + "\"}]}", "00-" + callerTrace + "-00f067aa0ba902b7-01");
            assertThat(plain.status()).isEqualTo(200);
            Call stream = call(base, alice, "{\"model\":\"demo-model\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                    + "\"content\":\"" + secretPrompt + "\"}]}");
            assertThat(stream.status()).isEqualTo(200);
            Call pii = call(base, alice, "{\"model\":\"demo-pii\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
            assertThat(pii.status()).isEqualTo(200);
            Call denied = call(base, dave, "{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\",\"content\":\""
                    + secretPrompt + "\"}]}");
            assertThat(denied.status()).isEqualTo(403);
            Call failing = call(base, alice, "{\"model\":\"demo-error\",\"messages\":[{\"role\":\"user\",\"content\":"
                    + "\"x\"}]}");
            assertThat(failing.status()).isEqualTo(502);
            assertThat(call(base, forged, "{\"model\":\"demo-model\"}").status()).isEqualTo(401);
            calls.put("completed", plain);
            calls.put("completed-stream", stream);
            calls.put("completed-pii", pii);
            calls.put("denied", denied);
            calls.put("upstream_error", failing);
            // each call's access line is written once its evidence is committed
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                String text = Files.readString(log);
                for (Call c : calls.values()) {
                    assertThat(text).contains("\"http.request.id\":\"" + c.requestId() + "\"");
                }
            });
        }
        List<String> lines = Files.readAllLines(log);
        assertThat(lines).hasSizeGreaterThan(10);
        List<JsonNode> events = new ArrayList<>();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode e;
            try {
                e = E2E.JSON.readTree(line);
            } catch (Exception ex) {
                throw new AssertionError("a log line that is not JSON: " + line, ex);
            }
            assertThat(e.isObject()).as(line).isTrue();
            for (String field : new String[]{"@timestamp", "log.level", "message", "log.logger", "ecs.version"}) {
                assertThat(e.hasNonNull(field)).as(field + " in " + line).isTrue();
            }
            events.add(e);
            // context on one line is context on all of it
            if (e.has("http.request.id")) {
                for (String field : new String[]{"attest.record_id", "attest.upstream", "attest.outcome"}) {
                    assertThat(e.path(field).asText()).as(field + " in " + line).isNotBlank();
                }
                assertThat(e.path("trace.id").asText()).as("trace.id in " + line).matches("[0-9a-f]{32}")
                        .isNotEqualTo("0".repeat(32));
                assertThat(e.path("span.id").asText()).as("span.id in " + line).matches("[0-9a-f]{16}")
                        .isNotEqualTo("0".repeat(16));
            } else {
                assertThat(e.has("trace.id") || e.has("span.id")).as("trace ids outside a call: " + line).isFalse();
            }
            assertThat(line).as("a log line").doesNotContain(alice).doesNotContain(alice.substring(alice.length() - 16))
                    .doesNotContain(dave.substring(dave.length() - 16)).doesNotContain(forged.substring(forged.length() - 16))
                    .doesNotContain(secretPrompt).doesNotContain(stack().demoKey)
                    .doesNotContain("4111 1111 1111 1111").doesNotContain("536-90-4399").doesNotContain("jane.doe@")
                    .doesNotContain("Here are the details");
        }
        calls.forEach((outcome, c) -> {
            List<JsonNode> mine = events.stream().filter(e -> c.requestId().equals(e.path("http.request.id").asText()))
                    .toList();
            assertThat(mine).as("lines of " + outcome).isNotEmpty();
            JsonNode access = mine.stream().filter(e -> "attest.access".equals(e.path("log.logger").asText()))
                    .findFirst().orElseThrow(() -> new AssertionError("no access line for " + outcome));
            assertThat(access.path("attest.outcome").asText()).isEqualTo(outcome.replaceAll("-.*", ""));
            assertThat(access.path("attest.upstream").asText()).isEqualTo("llm");
            assertThat(access.path("attest.record_id").asText()).isEqualTo(c.evidenceId());
            assertThat(access.path("service.name").asText()).isEqualTo("attest");
            // one trace per call: every line of the call names it
            assertThat(mine.stream().map(e -> e.path("trace.id").asText()).distinct().toList()).as("traces of " + outcome)
                    .hasSize(1);
        });
        // the caller's trace is continued: its id is on every line of that call, and the span named is the
        // gateway's own (a child), never the caller's
        List<JsonNode> traced = events.stream().filter(e -> calls.get("completed").requestId()
                .equals(e.path("http.request.id").asText())).toList();
        assertThat(traced).isNotEmpty().allMatch(e -> callerTrace.equals(e.path("trace.id").asText()))
                .noneMatch(e -> "00f067aa0ba902b7".equals(e.path("span.id").asText()));
        // a buffered call is served on the event loop of its connection, end to end (attest.data.route-executor=false):
        // the access line, written when its terminal evidence is committed, is written on a Netty server I/O thread,
        // not on a worker pool's thread (with the pool, "NettyEventExecutorGroup")
        for (String outcome : List.of("completed", "completed-pii", "denied", "upstream_error")) {
            JsonNode access = events.stream().filter(e -> calls.get(outcome).requestId()
                    .equals(e.path("http.request.id").asText()) && "attest.access".equals(e.path("log.logger").asText()))
                    .findFirst().orElseThrow();
            assertThat(access.path("process.thread.name").asText()).as("the thread of " + outcome)
                    .contains("NettyServerTCPWorker");
        }
        // lines outside any call (start-up, timers) carry no call's context
        assertThat(events.stream().filter(e -> e.path("message").asText().contains("configured")))
                .allMatch(e -> !e.has("http.request.id"));
    }
}
