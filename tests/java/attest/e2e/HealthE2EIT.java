package attest.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Liveness and readiness are apart: a database outage makes the gateway unready, never dead. */
class HealthE2EIT {
    @BeforeAll
    static void up() {
        stack();
    }

    static HttpResponse<String> control(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack().controlPort + path))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode checks(HttpResponse<String> r) throws Exception {
        return E2E.JSON.readTree(r.body()).path("checks");
    }

    @Test
    void should_be_ready_with_every_check_up_on_a_healthy_stack() throws Exception {
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(control("/health/ready").statusCode())
                .isEqualTo(200));
        HttpResponse<String> ready = control("/health/ready");
        assertThat(E2E.JSON.readTree(ready.body()).path("status").asText()).isEqualTo("UP");
        for (String check : new String[]{"evidence_store", "signing_key", "routes", "kafka_relay", "not_draining"}) {
            assertThat(checks(ready).path(check).asText()).as(check).isEqualTo("UP");
        }
        assertThat(ready.headers().firstValue("Cache-Control")).hasValue("no-store");
        HttpResponse<String> live = control("/health/live");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(E2E.JSON.readTree(live.body()).path("status").asText()).isEqualTo("UP");
        // the old endpoint keeps its meaning: the evidence store answers
        assertThat(control("/health").statusCode()).isEqualTo(200);
    }

    @Test
    void should_turn_unready_and_stay_live_while_postgresql_is_down_and_recover_after() throws Exception {
        await().atMost(Duration.ofSeconds(20)).until(() -> control("/health/ready").statusCode() == 200);
        stack().postgres.stop();
        try {
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                HttpResponse<String> ready = control("/health/ready");
                assertThat(ready.statusCode()).isEqualTo(503);
                assertThat(checks(ready).path("evidence_store").asText()).isEqualTo("DOWN");
            });
            HttpResponse<String> ready = control("/health/ready");
            assertThat(ready.body()).doesNotContain("Exception").doesNotContain("jdbc:");
            // the other checks do not pretend to know what they cannot: the key and routes are still fine
            assertThat(checks(ready).path("signing_key").asText()).isEqualTo("UP");
            assertThat(checks(ready).path("routes").asText()).isEqualTo("UP");
            for (int i = 0; i < 3; i++) {
                assertThat(control("/health/live").statusCode()).as("liveness during the outage").isEqualTo(200);
            }
            assertThat(control("/health").statusCode()).isEqualTo(503);
        } finally {
            stack().postgres.start();
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> control("/health/ready").statusCode() == 200);
    }
}
