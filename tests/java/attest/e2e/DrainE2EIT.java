package attest.e2e;

import attest.demo.DemoModelServer;
import attest.stack.GatewayProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * SIGTERM drains: readiness turns false first, streams in flight run to their end with their evidence
 * committed, new calls are refused once intake stops, and the process exits 0. A stream past the bound is cut
 * and closed as aborted, never left open.
 */
class DrainE2EIT {
    static DemoModelServer slow;

    @BeforeAll
    static void up() throws Exception {
        stack();
        slow = new DemoModelServer("127.0.0.1", 0, stack().demoKey);
        slow.setStreamDelayMillis(1000); // a demo answer is about a dozen words: a stream of about 12 s
    }

    @AfterAll
    static void down() {
        slow.close();
    }

    static Map<String, String> settings(String instance) {
        Map<String, String> s = stack().extraGatewaySettings();
        s.put("attest.instance-id", instance);
        s.put("attest.upstream.llm.base-url", slow.baseUrl());
        s.put("attest.upstream.llm.timeout-ms", "60000");
        s.put("attest.upstream.llm.idle-timeout-ms", "60000");
        s.put("attest.shutdown.readiness-grace-ms", "1500");
        return s;
    }

    static CompletableFuture<HttpResponse<String>> stream(String base, String rid, String model) {
        return HTTP.sendAsync(HttpRequest.newBuilder(URI.create(base + "/llm/v1/chat/completions"))
                .timeout(Duration.ofSeconds(90)).header("Authorization", "Bearer " + stack().userToken("alice"))
                .header("X-Request-Id", rid).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"stream\":true,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static int status(String url) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void should_finish_streams_in_flight_commit_their_evidence_and_exit_0_on_sigterm() throws Exception {
        Map<String, String> s = settings("drain-e2e");
        s.put("attest.shutdown.stream-drain-ms", "60000");
        String base = "http://127.0.0.1:" + s.get("attest.data.port");
        String ready = "http://127.0.0.1:" + s.get("attest.control.port") + "/health/ready";
        List<String> ids = new ArrayList<>();
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        try (GatewayProcess gw = new GatewayProcess(stack().repo, stack().work.resolve("drain.log"), s)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> status(ready) == 200);
            for (int i = 0; i < 4; i++) {
                String rid = newRequestId();
                ids.add(rid);
                calls.add(stream(base, rid, "demo-model"));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                for (String rid : ids) {
                    Map<String, Object> row = evidence(rid);
                    if (row == null || row.get("forwarded_at") == null) {
                        return false;
                    }
                }
                return true;
            });
            assertThat(calls).noneMatch(CompletableFuture::isDone);

            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> {
                try {
                    return gw.terminate(Duration.ofSeconds(90));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            // readiness turns false while the streams are still running
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> status(ready) == 503);
            assertThat(calls).as("streams in flight when readiness turned false").anyMatch(c -> !c.isDone());
            // once intake has stopped, a new call is refused (503), recorded, and never forwarded
            String late = newRequestId();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
                HttpResponse<String> r = E2E.chatVia(base, late + "-" + System.nanoTime());
                return r.statusCode() == 503 && r.body().contains("shutting_down");
            });
            assertThat(calls).as("streams still running while new calls are refused").anyMatch(c -> !c.isDone());
            int before = slow.calls();
            HttpResponse<String> refused = E2E.chatVia(base, newRequestId());
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
            assertThat(slow.calls()).as("upstream calls after intake stopped").isEqualTo(before);
            assertThat(exit.get(90, TimeUnit.SECONDS)).as("exit code after SIGTERM").isZero();
            for (CompletableFuture<HttpResponse<String>> c : calls) {
                HttpResponse<String> r = c.get(10, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).as("a whole stream").contains("\"finish_reason\":\"stop\"").endsWith("data: [DONE]\n\n");
            }
        }
        for (String rid : ids) {
            Map<String, Object> row = evidence(rid);
            assertThat(row.get("state")).as(rid).isEqualTo("terminal");
            assertThat(row.get("outcome")).as(rid).isEqualTo("completed");
            assertThat(row.get("streamed")).isEqualTo(true);
        }
        assertThat(E2E.count("SELECT count(*) FROM evidence_record WHERE instance_id = 'drain-e2e' AND state = 'open'"))
                .isZero();
        assertThat(E2E.count("SELECT count(*) FROM evidence_record WHERE instance_id = 'drain-e2e' AND status = 503 "
                + "AND error_code = 'shutting_down' AND outcome = 'aborted'")).isGreaterThanOrEqualTo(1);
        // the final checkpoint was signed at stop: the chain verifies with nothing open
        var run = EvidenceChainE2EIT.verify(stack().postgres.jdbcUrl(), stack().work.resolve("evidence-signing.key.pub"));
        assertThat(run.code()).as(run.output()).isZero();
    }

    @Test
    void should_cut_a_stream_past_the_bound_close_it_as_aborted_and_still_exit_0() throws Exception {
        Map<String, String> s = settings("drain-bound-e2e");
        s.put("attest.shutdown.readiness-grace-ms", "200");
        s.put("attest.shutdown.stream-drain-ms", "1500");
        String base = "http://127.0.0.1:" + s.get("attest.data.port");
        String rid = newRequestId();
        try (GatewayProcess gw = new GatewayProcess(stack().repo, stack().work.resolve("drain-bound.log"), s)) {
            CompletableFuture<HttpResponse<String>> hanging = stream(base, rid, "demo-hang-stream");
            await().atMost(Duration.ofSeconds(20)).until(() -> evidence(rid) != null
                    && evidence(rid).get("forwarded_at") != null);
            long t0 = System.nanoTime();
            assertThat(gw.terminate(Duration.ofSeconds(60))).isZero();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("the bound holds").isLessThan(Duration.ofSeconds(30));
            hanging.cancel(true);
        }
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("state")).isEqualTo("terminal");
        assertThat(row.get("outcome")).isEqualTo("aborted");
    }
}
