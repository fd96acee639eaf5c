package attest.e2e;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.post;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The metrics endpoint serves the conventional names an operator's dashboards and alerts look for. */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class MetricsE2EIT {
    @BeforeAll
    static void up() {
        stack();
    }

    static String scrape() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack().controlPort
                + "/metrics")).timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    /**
     * Sends a call until it gets the expected status (the first calls of a cold gateway on a loaded machine may
     * time out upstream; this test is about what the scrape shows, not about latency).
     */
    static void served(String token, String body, int status) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() ->
                post("/llm/v1/chat/completions", token, newRequestId(), body).statusCode() == status);
    }

    /** The value of the first sample whose name and labels match (labels in any order), or -1. */
    static double value(String text, String name, String... labels) {
        for (String line : text.split("\n")) {
            if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
                continue;
            }
            boolean all = true;
            for (String l : labels) {
                all &= line.contains(l);
            }
            if (all) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return -1;
    }

    @Test
    @org.junit.jupiter.api.Order(1)
    void should_serve_each_conventional_metric_and_count_calls_as_they_happen() throws Exception {
        String alice = stack().userToken("alice");
        served(alice, E2E.CHAT, 200);
        served(alice, E2E.CHAT, 200);
        served(alice, E2E.CHAT.replace("demo-model", "demo-pii"), 200);
        served(stack().userToken("dave"), E2E.CHAT, 403);
        String text = scrape();
        for (String name : new String[]{"http_server_requests_seconds_count", "http_server_requests_seconds_bucket",
                "attest_calls_total", "attest_upstream_request_seconds_count", "attest_outbox_backlog",
                "attest_outbox_relay_lag_seconds", "attest_evidence_checkpoint_age_seconds", "attest_approvals_pending",
                "attest_masking_findings_total", "hikaricp_connections_active", "hikaricp_connections_max",
                "jvm_memory_used_bytes", "jvm_threads_live_threads", "jvm_classes_loaded_classes",
                "process_uptime_seconds"}) {
            assertThat(text).as(name).containsPattern("(?m)^" + name + "[{ ]");
        }
        assertThat(value(text, "http_server_requests_seconds_count", "route=\"inference-ingress\"", "status=\"200\"",
                "outcome=\"SUCCESS\"")).isGreaterThanOrEqualTo(2);
        assertThat(value(text, "http_server_requests_seconds_count", "route=\"inference-ingress\"", "status=\"403\"",
                "outcome=\"CLIENT_ERROR\"")).isGreaterThanOrEqualTo(1);
        assertThat(value(text, "attest_calls_total", "upstream=\"llm\"", "model=\"demo-pii\"", "outcome=\"completed\""))
                .isGreaterThanOrEqualTo(1);
        assertThat(value(text, "attest_calls_total", "upstream=\"llm\"", "outcome=\"denied\"")).isGreaterThanOrEqualTo(1);
        assertThat(value(text, "attest_upstream_request_seconds_count", "upstream=\"llm\"", "model=\"demo-model\""))
                .isGreaterThanOrEqualTo(1);
        assertThat(value(text, "attest_masking_findings_total", "type=\"CARD\"")).as("card findings").isGreaterThan(0);
        assertThat(value(text, "attest_evidence_checkpoint_age_seconds")).isBetween(0.0, 60.0);
        assertThat(value(text, "hikaricp_connections_max")).isGreaterThan(0);

        // counters move with the calls (nothing fixed): one more call, one more count
        double before = value(text, "attest_calls_total", "model=\"demo-model\"", "outcome=\"completed\"");
        assertThat(post("/llm/v1/chat/completions", alice, newRequestId(), E2E.CHAT).statusCode())
                .as("a warm gateway").isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(value(scrape(), "attest_calls_total",
                "model=\"demo-model\"", "outcome=\"completed\"")).isEqualTo(before + 1));
    }

    @Test
    @org.junit.jupiter.api.Order(2)
    void should_have_every_metric_the_grafana_dashboard_queries() throws Exception {
        served(stack().userToken("alice"), E2E.CHAT.replace("demo-model", "demo-pii"), 200);
        var dashboard = E2E.JSON.readTree(stack().repo.resolve("deploy/grafana/attest-dashboard.json").toFile());
        Set<String> names = new TreeSet<>();
        for (var panel : dashboard.path("panels")) {
            for (var target : panel.path("targets")) {
                Matcher m = Pattern.compile("\\b((?:attest|http_server|hikaricp|jvm|process)_[a-z_]+)")
                        .matcher(target.path("expr").asText());
                while (m.find()) {
                    names.add(m.group(1));
                }
            }
        }
        assertThat(names).hasSizeGreaterThan(10);
        String text = scrape();
        for (String name : names) {
            assertThat(text).as("the dashboard queries " + name).containsPattern("(?m)^" + name + "[{ ]");
        }
    }

    @Test
    @org.junit.jupiter.api.Order(3) // last: it spends the model labels of this gateway
    void should_not_let_callers_grow_the_scrape_with_model_names_methods_or_paths() throws Exception {
        String alice = stack().userToken("alice");
        for (int i = 0; i < 130; i++) {
            post("/llm/v1/chat/completions", alice, newRequestId(), E2E.CHAT.replace("demo-model",
                    "m-" + UUID.randomUUID()));
        }
        for (String method : new String[]{"FOOBAR", "PROPFIND"}) {
            HTTP.send(HttpRequest.newBuilder(URI.create(stack().gatewayUrl() + "/llm/v1/" + UUID.randomUUID()))
                    .method(method, HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + alice)
                    .build(), HttpResponse.BodyHandlers.discarding());
        }
        String text = scrape();
        Set<String> models = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^attest_calls_total\\{[^}]*model=\"([^\"]*)\"").matcher(text);
        while (m.find()) {
            models.add(m.group(1));
        }
        assertThat(models.size()).as("distinct model labels").isLessThanOrEqualTo(100 + 2);
        assertThat(models).contains("other");
        assertThat(text).doesNotContain("FOOBAR").doesNotContain("PROPFIND");
        Matcher methods = Pattern.compile("(?m)^http_server_requests_seconds_count\\{[^}]*method=\"([^\"]*)\"").matcher(text);
        while (methods.find()) {
            assertThat(methods.group(1)).isIn("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other", "null");
        }
        assertThat(text).doesNotContainPattern("uri=|path=");
    }
}
