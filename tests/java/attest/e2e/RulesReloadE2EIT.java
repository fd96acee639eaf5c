package attest.e2e;

import attest.stack.Gateway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Rules reload without a restart: a good file is put in force, a bad one keeps the old rules (its file:line error
 * logged, a failure counted), and every decided call's evidence names the version of the rules that decided it.
 */
class RulesReloadE2EIT {
    static Path rules;
    static Path policy;
    static Path masking;
    static String original;
    static String originalMasking;
    static Gateway gateway;
    static String base;
    static String control;

    @BeforeAll
    static void up() throws Exception {
        stack();
        rules = stack().work.resolve("reload-rules");
        Files.createDirectories(rules.resolve("masking"));
        Files.createDirectories(rules.resolve("risk"));
        policy = rules.resolve("policy.yaml");
        masking = rules.resolve("masking/default.yaml");
        Files.copy(stack().repo.resolve("policy/least-privilege.yaml"), policy, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(stack().repo.resolve("masking-rules/default.yaml"), masking, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(stack().repo.resolve("tests/e2e-approval-flow/risk-rules.yaml"), rules.resolve("risk/risk-rules.yaml"),
                StandardCopyOption.REPLACE_EXISTING);
        original = Files.readString(policy);
        originalMasking = Files.readString(masking);
        Map<String, String> s = stack().extraGatewaySettings();
        s.put("attest.instance-id", "reload-e2e");
        s.put("attest.policy.file", policy.toString());
        s.put("attest.masking.rules-dir", rules.resolve("masking").toString());
        s.put("attest.approval.rules-dir", rules.resolve("risk").toString());
        s.put("attest.rules.reload-check-ms", "200");
        // any realm role can be the administrators'; the dev realm's attest-admin is not in every shared realm copy
        s.put("attest.rules.admin-role", "auditor");
        base = "http://127.0.0.1:" + s.get("attest.data.port");
        control = "http://127.0.0.1:" + s.get("attest.control.port");
        gateway = new Gateway(s).start();
    }

    @AfterAll
    static void down() {
        gateway.close();
    }

    static HttpResponse<String> chat(String rid) throws Exception {
        return E2E.chatVia(base, rid);
    }

    static double metric(String name) throws Exception {
        String text = HTTP.send(HttpRequest.newBuilder(URI.create(control + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError(name + " is not served");
    }

    static HttpResponse<String> reload(String method, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(control + "/rules/reload")).timeout(Duration.ofSeconds(30))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static void restore() throws Exception {
        Files.writeString(policy, original);
        Files.writeString(masking, originalMasking);
        String rid = newRequestId();
        await().atMost(Duration.ofSeconds(20)).until(() -> chat(rid + System.nanoTime()).statusCode() == 200);
    }

    @Test
    void should_apply_a_good_file_keep_the_old_rules_on_a_bad_one_and_record_the_version_that_decided() throws Exception {
        restore();
        String first = newRequestId();
        assertThat(chat(first).statusCode()).isEqualTo(200);
        String v1 = (String) evidence(first).get("rules_version");
        assertThat(v1).matches("[0-9a-f]{64}");
        double reloads = metric("attest_rules_reloads_total");
        try {
            // a good change: the chat rule now denies
            Files.writeString(policy, original.replaceFirst("decision: ALLOW", "decision: DENY"));
            String rid = newRequestId();
            await().atMost(Duration.ofSeconds(20)).until(() -> chat(rid + System.nanoTime()).statusCode() == 403);
            String denied = newRequestId();
            assertThat(chat(denied).statusCode()).isEqualTo(403);
            Map<String, Object> row = evidence(denied);
            assertThat(row.get("rule_id")).isEqualTo("inference-user-chat");
            String v2 = (String) row.get("rules_version");
            assertThat(v2).matches("[0-9a-f]{64}").isNotEqualTo(v1);
            assertThat(metric("attest_rules_reloads_total")).isGreaterThan(reloads);

            // a bad masking file: the old rules (policy and masking) stay in force, the error names file and line
            double failures = metric("attest_rules_reload_failures_total");
            Files.writeString(masking, originalMasking.replaceFirst("CARD: partial", "CARD: obliterate"));
            Files.writeString(policy, original); // would allow again, but must not apply with a broken sibling
            await().atMost(Duration.ofSeconds(20)).until(() -> metric("attest_rules_reload_failures_total") > failures);
            assertThat(metric("attest_rules_reload_failing")).isEqualTo(1.0);
            String still = newRequestId();
            assertThat(chat(still).statusCode()).as("the old (denying) rules still decide").isEqualTo(403);
            assertThat(evidence(still).get("rules_version")).isEqualTo(v2);
            assertThat(stack().logs.lines()).anyMatch(l -> l.contains("rules not reloaded")
                    && l.matches("(?s).*default\\.yaml:\\d+: .*") && l.contains(v2));
            // checked again and again, the same bad version is counted once
            double counted = metric("attest_rules_reload_failures_total");
            String again = newRequestId();
            assertThat(chat(again).statusCode()).isEqualTo(403);
            assertThat(metric("attest_rules_reload_failures_total")).isEqualTo(counted);
        } finally {
            restore();
        }
        String after = newRequestId();
        assertThat(chat(after).statusCode()).isEqualTo(200);
        assertThat(evidence(after).get("rules_version")).isEqualTo(v1);
        assertThat(metric("attest_rules_reload_failing")).isEqualTo(0.0);
    }

    @Test
    void should_reload_on_the_control_plane_only_for_the_admin_role_and_report_a_bad_file() throws Exception {
        restore();
        assertThat(reload("POST", null).statusCode()).isEqualTo(401);
        assertThat(reload("POST", stack().userToken("alice")).statusCode()).isEqualTo(403);
        String carol = stack().userToken("carol");
        assertThat(reload("GET", carol).statusCode()).isEqualTo(405);
        HttpResponse<String> ok = reload("POST", carol);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(E2E.JSON.readTree(ok.body()).path("status").asText()).isIn("unchanged", "reloaded");
        assertThat(E2E.JSON.readTree(ok.body()).path("version").asText()).matches("[0-9a-f]{64}");
        try {
            Files.writeString(masking, originalMasking.replaceFirst("CARD: partial", "CARD: obliterate"));
            HttpResponse<String> bad = reload("POST", carol);
            assertThat(bad.statusCode()).isEqualTo(422);
            assertThat(E2E.JSON.readTree(bad.body()).path("status").asText()).isEqualTo("failed");
            assertThat(E2E.JSON.readTree(bad.body()).path("error").asText()).matches("(?s).*default\\.yaml:\\d+: .*");
            assertThat(E2E.JSON.readTree(bad.body()).path("version").asText())
                    .isEqualTo(E2E.JSON.readTree(ok.body()).path("version").asText());
            assertThat(bad.body()).doesNotContain("Exception").doesNotContain("\tat ");
            assertThat(chat(newRequestId()).statusCode()).isEqualTo(200);
        } finally {
            restore();
        }
    }
}
