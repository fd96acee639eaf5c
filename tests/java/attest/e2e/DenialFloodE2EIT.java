package attest.e2e;

import attest.stack.Gateway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A signed-in caller that policy keeps refusing (dave has no role) against a gateway of its own (instance
 * {@code denials}, 4 refused calls per caller and window, 3 refusals recorded per source): past its share it is
 * refused at the door with 429 and Retry-After, nothing forwarded, and each of those refusals is recorded one by one
 * only up to the source's share, then counted into a summary. The store grows by a bounded amount, not per request,
 * and every request is accounted for. Another caller is served meanwhile.
 */
class DenialFloodE2EIT {
    static final String INSTANCE = "denials";
    static final int DENIALS_PER_CALLER = 4;
    static final int REFUSALS_PER_SOURCE = 3;
    static Gateway gateway;
    static int port;

    @BeforeAll
    static void up() {
        Map<String, String> p = stack().extraGatewaySettings();
        p.put("attest.instance-id", INSTANCE);
        p.put("attest.policy.denials-per-caller", String.valueOf(DENIALS_PER_CALLER));
        p.put("attest.policy.denial-window-ms", "3600000");
        p.put("attest.evidence.refusals-per-source", String.valueOf(REFUSALS_PER_SOURCE));
        p.put("attest.evidence.refusals-recorded-per-window", "1000");
        p.put("attest.evidence.refusal-window-ms", "2000");
        p.put("attest.evidence.refusal-flush-ms", "250");
        port = Integer.parseInt(p.get("attest.data.port"));
        gateway = new Gateway(p).start();
    }

    @AfterAll
    static void down() {
        if (gateway != null) {
            gateway.close();
        }
    }

    static HttpResponse<String> post(String token, String model) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/llm/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static long count(String sql, Instant since) throws Exception {
        return FloodE2EIT.count(sql, since);
    }

    @Test
    void should_refuse_a_caller_policy_keeps_refusing_at_the_door_and_account_for_every_request() throws Exception {
        Instant start = Instant.now().minusMillis(5);
        int demoCalls = stack().demo.calls();
        String dave = stack().userToken("dave");
        int n = 30;
        List<HttpResponse<String>> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            answers.add(post(dave, "demo-model"));
        }
        long denied = answers.stream().filter(r -> r.statusCode() == 403).count();
        long throttled = answers.stream().filter(r -> r.statusCode() == 429).count();
        assertThat(denied + throttled).as("every answer is a denial or a refusal at the door").isEqualTo(n);
        // one window, or two if the hour turned during the test
        assertThat(denied).isBetween((long) DENIALS_PER_CALLER, 2L * DENIALS_PER_CALLER);
        assertThat(answers.get(DENIALS_PER_CALLER - 1).statusCode()).isEqualTo(403);
        HttpResponse<String> first429 = answers.stream().filter(r -> r.statusCode() == 429).findFirst().orElseThrow();
        assertThat(first429.body()).contains("\"too_many_denials\"").doesNotContain(dave).doesNotContain("Exception");
        assertThat(Long.parseLong(first429.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 3600L);
        assertThat(first429.headers().firstValue("X-Request-Id")).isPresent();
        assertThat(stack().demo.calls()).as("nothing forwarded").isEqualTo(demoCalls);

        // another caller is served meanwhile, by the same gateway
        assertThat(post(stack().userToken("alice"), "demo-model").statusCode()).isEqualTo(200);

        // the denials are records naming dave, one each; the refusals at the door are recorded up to the source's
        // share and counted past it: every request is accounted for, and the store grew by a bounded amount
        String mine = "FROM evidence_record r WHERE r.instance_id = '" + INSTANCE + "' AND r.received_at >= ? AND ";
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(count("SELECT count(*) " + mine + "r.status = 403 AND r.username = 'dave'", start))
                    .isEqualTo(denied);
            assertThat(count("SELECT count(*) " + mine + "r.status = 429", start)
                    + count("SELECT coalesce(sum(counted_total), 0) FROM refusal_summary WHERE instance_id = '"
                    + INSTANCE + "' AND window_end > ?", start)).isEqualTo(throttled);
        });
        long recorded429 = count("SELECT count(*) " + mine + "r.status = 429", start);
        assertThat(recorded429).as("recorded one by one only up to the source's share per window")
                .isLessThan(throttled).isGreaterThanOrEqualTo(Math.min(throttled, REFUSALS_PER_SOURCE));
        assertThat(count("SELECT count(*) " + mine + "r.status = 429 AND (r.error_code <> 'too_many_denials' OR "
                + "r.request_body IS NOT NULL OR r.outcome <> 'denied')", start)).isZero();
    }
}
