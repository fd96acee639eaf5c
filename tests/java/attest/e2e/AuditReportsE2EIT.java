package attest.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.post;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The auditors' report endpoints against known data: filters, paging, JSON and CSV, and the role check. */
class AuditReportsE2EIT {
    static HttpResponse<String> report(String pathAndQuery, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack().controlPort
                + pathAndQuery)).timeout(Duration.ofSeconds(30)).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void should_serve_filtered_paged_reports_to_auditors_only() throws Exception {
        Instant since = Instant.now().minusMillis(5);
        String dave = stack().userToken("dave");
        assertThat(post("/llm/v1/chat/completions", dave, newRequestId(), E2E.CHAT).statusCode()).isEqualTo(403);
        assertThat(post("/llm/v1/chat/completions", dave, newRequestId(), E2E.CHAT).statusCode()).isEqualTo(403);
        assertThat(post("/llm/v1/chat/completions", stack().userToken("alice"), newRequestId(),
                E2E.CHAT.replace("demo-model", "demo-pii")).statusCode()).isEqualTo(200);
        String carol = stack().userToken("carol");

        HttpResponse<String> denials = report("/audit/denials?identity=dave&from=" + since, carol);
        assertThat(denials.statusCode()).as(denials.body()).isEqualTo(200);
        JsonNode d = JSON.readTree(denials.body());
        assertThat(d.path("rows")).hasSize(2);
        assertThat(d.path("rows").get(0).path("rule_id").asText()).isEqualTo("default-deny");
        assertThat(d.path("more").asBoolean()).isFalse();

        JsonNode first = JSON.readTree(report("/audit/denials?identity=dave&size=1&from=" + since, carol).body());
        JsonNode second = JSON.readTree(report("/audit/denials?identity=dave&size=1&page=1&from=" + since, carol)
                .body());
        assertThat(first.path("more").asBoolean()).isTrue();
        assertThat(second.path("more").asBoolean()).isFalse();
        assertThat(first.path("rows").get(0).path("record_id").asText())
                .isNotEqualTo(second.path("rows").get(0).path("record_id").asText());

        HttpResponse<String> csv = report("/audit/denials?identity=dave&format=csv&from=" + since, carol);
        assertThat(csv.headers().firstValue("Content-Type").orElse("")).startsWith("text/csv");
        String[] lines = csv.body().split("\r\n");
        assertThat(lines[0]).startsWith("record_id,request_id,received_at,identity");
        assertThat(lines).hasSize(3);
        assertThat(csv.headers().firstValue("X-More-Pages")).hasValue("false");

        Instant hour = since.truncatedTo(ChronoUnit.HOURS);
        JsonNode access = JSON.readTree(report("/audit/access?identity=alice&outcome=completed&from=" + hour, carol)
                .body());
        assertThat(access.path("rows").size()).isGreaterThanOrEqualTo(1);
        assertThat(access.path("rows").get(0).path("calls").asLong()).isGreaterThanOrEqualTo(1);
        JsonNode redactions = JSON.readTree(report("/audit/redactions?upstream=llm&from=" + hour, carol).body());
        assertThat(redactions.path("rows").findValuesAsText("entity_type")).isNotEmpty();
        JsonNode completeness = JSON.readTree(report("/audit/completeness", carol).body());
        assertThat(completeness.path("rows").findValuesAsText("chain_id")).contains("e2e");

        assertThat(report("/audit/denials", stack().userToken("alice")).statusCode()).isEqualTo(403);
        assertThat(report("/audit/denials", null).statusCode()).isEqualTo(401);
        assertThat(report("/audit/nothing", carol).statusCode()).isEqualTo(404);
        assertThat(report("/audit/denials?from=yesterday", carol).statusCode()).isEqualTo(400);
        assertThat(report("/audit/denials?size=5000", carol).statusCode()).isEqualTo(400);
    }

    static String dba(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(stack().postgres.jdbcUrl(), "postgres", "");
             Statement st = c.createStatement()) {
            if (!st.execute(sql)) {
                return null;
            }
            try (ResultSet rs = st.getResultSet()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /**
     * The owner hides one subject's denials from the view the report reads: the report must refuse (503, naming
     * neither the view nor the subject), not answer short, until the view is put back.
     */
    @Test
    void should_refuse_reports_while_a_view_hides_one_subject() throws Exception {
        Instant since = Instant.now().minusMillis(5);
        String carol = stack().userToken("carol");
        assertThat(post("/llm/v1/chat/completions", stack().userToken("dave"), newRequestId(), E2E.CHAT).statusCode())
                .isEqualTo(403);
        String query = "/audit/denials?identity=dave&from=" + since;
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            HttpResponse<String> r = report(query, carol);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).path("rows")).hasSize(1);
        });
        String def = dba("SELECT pg_get_viewdef('public.audit_denials'::regclass)").strip().replaceAll(";$", "");
        dba("CREATE OR REPLACE VIEW public.audit_denials AS SELECT * FROM (" + def + ") v WHERE v.identity <> 'dave'");
        try {
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                HttpResponse<String> r = report(query, carol);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
                assertThat(JSON.readTree(r.body()).path("error").path("code").asText()).isEqualTo("read_path_changed");
                assertThat(r.body()).doesNotContain("audit_denials").doesNotContain("dave")
                        .doesNotContainIgnoringCase("select");
            });
            assertThat(report("/audit/usage?by=user", carol).statusCode()).isEqualTo(503);
            assertThat(report("/audit/denials", stack().userToken("alice")).statusCode()).as("not an auditor")
                    .isEqualTo(403);
        } finally {
            dba("CREATE OR REPLACE VIEW public.audit_denials AS " + def);
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            HttpResponse<String> r = report(query, carol);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).path("rows")).hasSize(1);
        });
    }
}
