package attest.e2e;

import attest.stack.Gateway;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static attest.e2e.Keys.call;
import static attest.e2e.Keys.chat;
import static attest.e2e.Keys.count;
import static attest.e2e.Keys.createKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 13, token usage, budgets and limits: usage on every record (reported or unknown), the stream's usage
 * chunk asked for and removed, a token budget exhausted by a known number of calls, reports that add up to the
 * evidence, and limits that hold across two gateway replicas sharing PostgreSQL and Kafka.
 */
class UsageE2EIT {
    static final String HELLO = "{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    static final String STREAM = "{\"model\":\"demo-model\",\"stream\":true,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hello\"}]%s}";

    @BeforeAll
    static void up() {
        stack();
    }

    @AfterAll
    static void logsHoldNoSecrets() {
        E2E.assertLogsClean();
    }

    /** The tokens one plain "hello" to demo-model costs, as the demo reports them. */
    static long tokensPerHello() throws Exception {
        HttpResponse<String> r = E2E.post("/llm/v1/chat/completions", stack().userToken("alice"), newRequestId(), HELLO);
        assertThat(r.statusCode()).isEqualTo(200);
        return JSON.readTree(r.body()).path("usage").path("total_tokens").asLong();
    }

    static HttpResponse<String> stream(String key, String extra, String requestId) throws Exception {
        return call(stack().gatewayUrl(), "/llm/v1/chat/completions", "Authorization", key,
                String.format(STREAM, extra), requestId);
    }

    @Test
    void should_record_usage_and_remove_the_usage_chunk_only_when_the_gateway_asked_for_it() throws Exception {
        String key = createKey(stack().userToken("alice"), "{\"name\":\"usage\"}").path("key").asText();
        long perCall = tokensPerHello();
        for (String extra : new String[]{"", ",\"stream_options\":{\"include_usage\":false}", ",\"stream_options\":null",
                ",\"stream_options\":{}"}) {
            String rid = newRequestId();
            HttpResponse<String> r = stream(key, extra, rid);
            assertThat(r.statusCode()).as(extra).isEqualTo(200);
            assertThat(r.body()).as(extra).contains("data: [DONE]").doesNotContain("\"usage\"");
            await().atMost(Duration.ofSeconds(10)).until(() -> evidence(rid) != null
                    && "terminal".equals(evidence(rid).get("state")));
            Map<String, Object> row = evidence(rid);
            assertThat(row.get("usage_status")).as(extra).isEqualTo("reported");
            assertThat(row.get("total_tokens")).as(extra).isEqualTo(perCall);
            assertThat(row.get("prompt_tokens")).isNotNull();
            assertThat(row.get("cached_tokens")).isEqualTo(0L);
            assertThat(row.get("reasoning_tokens")).isEqualTo(0L);
            // the upstream was asked, and the caller's own false was not passed on
            assertThat(stack().demo.received().stream().filter(E2E.sentAs(rid)).findFirst().orElseThrow().body())
                    .contains("\"include_usage\":true");
        }
        String rid = newRequestId();
        HttpResponse<String> asked = stream(key, ",\"stream_options\":{\"include_usage\":true}", rid);
        assertThat(asked.body()).as("the caller asked: the usage chunk is theirs").contains("\"usage\"")
                .contains("\"choices\":[]");
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(rid) != null && evidence(rid).get("total_tokens") != null);
        assertThat(stream(key, ",\"stream_options\":\"yes\"", newRequestId()).statusCode()).isEqualTo(400);
        assertThat(stream(key, ",\"stream_options\":{\"include_usage\":\"false\"}", newRequestId()).statusCode())
                .isEqualTo(400);

        // reasoning tokens, and an upstream that reports nothing: unknown, never guessed (the estimate is marked)
        String r1 = newRequestId();
        assertThat(call(stack().gatewayUrl(), "/llm/v1/chat/completions", "Authorization", key,
                HELLO.replace("demo-model", "demo-reasoning"), r1).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(r1) != null);
        assertThat((Long) evidence(r1).get("reasoning_tokens")).isPositive();
        String r2 = newRequestId();
        assertThat(call(stack().gatewayUrl(), "/llm/v1/chat/completions", "Authorization", key,
                HELLO.replace("demo-model", "demo-nousage"), r2).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(r2) != null);
        assertThat(evidence(r2).get("usage_status")).isEqualTo("unknown");
        assertThat(evidence(r2).get("total_tokens")).isNull();
        assertThat((Long) evidence(r2).get("estimated_tokens")).isPositive();
        // the Responses API reports usage in its own shape
        String r3 = newRequestId();
        assertThat(call(stack().gatewayUrl(), "/llm/v1/responses", "Authorization", key,
                "{\"model\":\"demo-model\",\"input\":\"hello\",\"stream\":true}", r3).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(r3) != null && evidence(r3).get("total_tokens") != null);
    }

    @Test
    void should_exhaust_a_token_budget_after_a_known_number_of_calls_then_answer_429() throws Exception {
        long perCall = tokensPerHello();
        JsonNode k = createKey(stack().userToken("alice"), "{\"name\":\"budget\",\"budget\":{\"tokens\":" + (3 * perCall)
                + ",\"period\":\"day\"}}");
        String key = k.path("key").asText();
        for (int i = 0; i < 3; i++) {
            assertThat(chat(key, "demo-model").statusCode()).as("call %d of 3", i + 1).isEqualTo(200);
        }
        String rid = newRequestId();
        HttpResponse<String> refused = call(stack().gatewayUrl(), "/llm/v1/chat/completions", "Authorization", key,
                HELLO, rid);
        assertThat(refused.statusCode()).isEqualTo(429);
        JsonNode error = JSON.readTree(refused.body()).path("error");
        assertThat(error.path("code").asText()).isEqualTo("rate_limited");
        assertThat(error.path("rule_id").asText()).isEqualTo("key-budget");
        assertThat(error.path("message").asText()).contains("token budget").contains(k.path("id").asText())
                .contains("resets at " + Instant.now().atZone(ZoneOffset.UTC).toLocalDate().plusDays(1) + "T00:00:00Z");
        long retry = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
        assertThat(retry).isPositive().isLessThanOrEqualTo(86_400);
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(rid) != null);
        assertThat(evidence(rid).get("status")).isEqualTo(429);
        assertThat(evidence(rid).get("rule_id")).isEqualTo("key-budget");
        assertThat(count("SELECT count(*) FROM evidence_record WHERE key_id = ?::uuid AND outcome = 'completed'",
                k.path("id").asText())).isEqualTo(3);
    }

    @Test
    void should_finish_a_stream_that_crosses_its_budget_and_refuse_the_next_call() throws Exception {
        long perCall = tokensPerHello();
        JsonNode k = createKey(stack().userToken("alice"), "{\"name\":\"stream budget\",\"budget\":{\"tokens\":"
                + (perCall + 1) + ",\"period\":\"month\"}}");
        String key = k.path("key").asText();
        assertThat(chat(key, "demo-model").statusCode()).isEqualTo(200);
        // under the budget by one token: admitted, and finished whole although it crosses the budget
        HttpResponse<String> s = stream(key, "", newRequestId());
        assertThat(s.statusCode()).isEqualTo(200);
        assertThat(s.body()).contains("\"finish_reason\":\"stop\"").endsWith("data: [DONE]\n\n");
        // the stream's own tokens are charged (a call made to poll would charge its own and hide a stream never
        // charged): the key's counter reaches what both answers' evidence records, then the next call is refused
        String id = k.path("id").asText();
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM evidence_record WHERE "
                + "key_id = ?::uuid AND state = 'terminal'", id) == 2);
        long recorded = count("SELECT coalesce(sum(total_tokens), 0) FROM evidence_record WHERE key_id = ?::uuid", id);
        assertThat(recorded).isGreaterThan(perCall); // the stream reported tokens of its own
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT coalesce(sum(used), 0) FROM usage_counter "
                + "WHERE scope = ? AND metric = 'tokens'", "key:" + id) == recorded);
        assertThat(chat(key, "demo-model").statusCode()).isEqualTo(429);
    }

    @Test
    void should_report_usage_that_adds_up_to_the_evidence() throws Exception {
        JsonNode k = createKey(stack().userToken("alice"), "{\"name\":\"report\"}");
        String key = k.path("key").asText();
        String id = k.path("id").asText();
        for (String model : new String[]{"demo-model", "demo-reasoning", "demo-nousage"}) {
            assertThat(chat(key, model).statusCode()).isEqualTo(200);
        }
        assertThat(stream(key, "", newRequestId()).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM evidence_record WHERE key_id = "
                + "?::uuid AND state = 'terminal'", id) == 4);
        String carol = stack().userToken("carol");
        JsonNode report = JSON.readTree(audit(carol, "/audit/usage?by=key&key=" + id).body());
        JsonNode row = report.path("rows").get(0);
        assertThat(row.path("key").asText()).isEqualTo(id);
        assertThat(row.path("calls").asLong()).isEqualTo(4);
        assertThat(row.path("unknown_usage_calls").asLong()).isEqualTo(1);
        for (String col : new String[]{"prompt_tokens", "completion_tokens", "total_tokens", "reasoning_tokens"}) {
            assertThat(row.path(col).asLong()).as(col).isEqualTo(count("SELECT coalesce(sum(" + col + "), 0) FROM "
                    + "evidence_record WHERE key_id = ?::uuid", id));
        }
        // cost from usage/prices.yaml (demo-*: 0.50 in, 1.50 out per million; nothing cached)
        long prompt = row.path("prompt_tokens").asLong();
        long completion = row.path("completion_tokens").asLong();
        assertThat(new java.math.BigDecimal(row.path("cost").asText())).isEqualByComparingTo(
                new java.math.BigDecimal(prompt * 500_000L + completion * 1_500_000L).movePointLeft(12)
                        .setScale(6, java.math.RoundingMode.CEILING));
        for (String by : new String[]{"user", "group", "model", "upstream", "day"}) {
            HttpResponse<String> r = audit(carol, "/audit/usage?by=" + by);
            assertThat(r.statusCode()).as(by).isEqualTo(200);
            JsonNode totals = JSON.readTree(r.body()).path("totals");
            long sum = 0;
            for (JsonNode x : JSON.readTree(r.body()).path("rows")) {
                sum += x.path("total_tokens").asLong();
            }
            if (!by.equals("group")) {
                assertThat(sum).as("rows add up to the totals by " + by).isEqualTo(totals.path("total_tokens").asLong());
            }
        }
        HttpResponse<String> csv = audit(carol, "/audit/usage?by=key&format=csv&key=" + id);
        assertThat(csv.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/csv");
        assertThat(csv.body()).startsWith("key,calls,unknown_usage_calls,prompt_tokens").contains(id + ",4,1,");
        assertThat(audit(stack().userToken("alice"), "/audit/usage").statusCode()).isEqualTo(403);
        assertThat(audit(carol, "/audit/usage?by=password").statusCode()).isEqualTo(400);
        // Prometheus: tokens by upstream, model, outcome and type
        HttpResponse<String> metrics = HTTP.send(HttpRequest.newBuilder(URI.create(Keys.control() + "/metrics")).GET()
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.body()).contains("attest_tokens_total{").contains("model=\"demo-model\"")
                .contains("outcome=\"completed\"").contains("type=\"total\"").contains("attest_usage_unknown_total{");
    }

    static HttpResponse<String> audit(String token, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(Keys.control() + path)).header("Authorization",
                "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A second replica on the same PostgreSQL and Kafka as the suite's gateway. */
    static Map<String, String> replica() {
        Map<String, String> p = stack().extraGatewaySettings();
        p.put("attest.instance-id", "replica-usage");
        p.put("attest.kafka.brokers", stack().kafka.bootstrap());
        p.put("attest.approval.admin.client-secret-env", "");
        p.put("attest.approval.admin.client-secret-file", stack().work.resolve("gateway-client.secret").toString());
        return p;
    }

    /** Waits (never sleeps blindly) until at least {@code seconds} remain in the current minute. */
    static void awaitRoomInMinute(int seconds) {
        await().atMost(Duration.ofSeconds(70)).pollInterval(Duration.ofMillis(200)).until(() ->
                Instant.now().atZone(ZoneOffset.UTC).getSecond() < 60 - seconds);
    }

    static List<Integer> race(List<Callable<Integer>> calls) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(calls.size());
        try {
            List<Future<Integer>> futures = pool.invokeAll(calls);
            List<Integer> out = new ArrayList<>();
            for (Future<Integer> f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void should_let_exactly_n_requests_a_minute_through_two_replicas_and_hold_a_budget_between_them() throws Exception {
        Map<String, String> p = replica();
        String other = "http://127.0.0.1:" + p.get("attest.data.port");
        try (Gateway replica = new Gateway(p).start()) {
            int n = 5;
            String key = createKey(stack().userToken("alice"), "{\"name\":\"rpm\",\"limits\":{\"requests_per_minute\":"
                    + n + "}}").path("key").asText();
            awaitRoomInMinute(20);
            List<Callable<Integer>> calls = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                String base = i % 2 == 0 ? stack().gatewayUrl() : other;
                calls.add(() -> call(base, "/llm/v1/chat/completions", "x-api-key", key, HELLO).statusCode());
            }
            List<Integer> statuses = race(calls);
            assertThat(statuses.stream().filter(s -> s == 200).count()).as(statuses.toString()).isEqualTo(n);
            assertThat(statuses.stream().filter(s -> s == 429).count()).as(statuses.toString()).isEqualTo(16 - n);
            HttpResponse<String> next = call(other, "/llm/v1/chat/completions", "x-api-key", key, HELLO);
            assertThat(next.statusCode()).isEqualTo(429);
            assertThat(next.headers().firstValue("Retry-After")).isPresent();

            // racing calls against one token budget from both replicas: every answer is charged (no lost update),
            // and once it is spent both replicas refuse
            long perCall = tokensPerHello();
            JsonNode b = createKey(stack().userToken("alice"), "{\"name\":\"race\",\"budget\":{\"tokens\":"
                    + (4 * perCall) + ",\"period\":\"day\"}}");
            String budgetKey = b.path("key").asText();
            List<Callable<Integer>> racing = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String base = i % 2 == 0 ? stack().gatewayUrl() : other;
                racing.add(() -> call(base, "/llm/v1/chat/completions", "api-key", budgetKey, HELLO).statusCode());
            }
            List<Integer> raced = race(racing);
            long admitted = raced.stream().filter(s -> s == 200).count();
            assertThat(admitted).as(raced.toString()).isGreaterThanOrEqualTo(4);
            assertThat(raced.stream().filter(s -> s != 200 && s != 429).count()).isZero();
            String budgetId = b.path("id").asText();
            await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM evidence_record WHERE "
                    + "key_id = ?::uuid AND outcome = 'completed' AND state = 'terminal'", budgetId) == admitted);
            long charged = count("SELECT coalesce(sum(used), 0) FROM usage_counter WHERE scope = ? AND metric = 'tokens'",
                    "key:" + budgetId);
            assertThat(charged).isEqualTo(count("SELECT coalesce(sum(total_tokens), 0) FROM evidence_record WHERE "
                    + "key_id = ?::uuid", budgetId));
            assertThat(call(stack().gatewayUrl(), "/llm/v1/chat/completions", "api-key", budgetKey, HELLO).statusCode())
                    .isEqualTo(429);
            assertThat(call(other, "/llm/v1/chat/completions", "api-key", budgetKey, HELLO).statusCode()).isEqualTo(429);
        }
    }
}
