package attest.e2e;

import attest.stack.Gateway;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.post;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Payloads at rest: only auditors read them decrypted, and each read is evidence; retention destroys them
 * (and their data keys) and the chain still verifies.
 */
class PayloadsE2EIT {
    static HttpResponse<String> get(String url, String token) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void should_show_decrypted_payloads_to_auditors_only_and_record_each_read() throws Exception {
        String rid = newRequestId();
        assertThat(post("/llm/v1/chat/completions", stack().userToken("alice"), rid, E2E.CHAT).statusCode())
                .isEqualTo(200);
        String id = String.valueOf(evidence(rid).get("id"));
        String url = "http://127.0.0.1:" + stack().controlPort + "/audit/records/" + id + "/payload";
        assertThat(get(url, stack().userToken("alice")).statusCode()).isEqualTo(403);
        assertThat(get(url, stack().userToken("bob")).statusCode()).isEqualTo(403);
        long before = E2E.count("SELECT count(*) FROM evidence_chain WHERE kind = 'audit.payload_read' "
                + "AND subject_id = '" + id + "'");
        HttpResponse<String> r = get(url, stack().userToken("carol"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode p = JSON.readTree(r.body());
        assertThat(p.path("request").asText()).contains("hello");
        assertThat(p.path("response").asText()).contains("You said: hello");
        assertThat(p.path("purged").asBoolean()).isFalse();
        assertThat(E2E.count("SELECT count(*) FROM evidence_chain WHERE kind = 'audit.payload_read' "
                + "AND subject_id = '" + id + "' AND convert_from(canonical, 'UTF8') LIKE '%\"reader\":\"carol\"%'"))
                .isEqualTo(before + 1);
        assertThat(get("http://127.0.0.1:" + stack().controlPort + "/audit/records/"
                + java.util.UUID.randomUUID() + "/payload", stack().userToken("carol")).statusCode()).isEqualTo(404);
    }

    static HttpResponse<String> postEmpty(String url, String token) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void should_replay_a_recorded_call_as_a_view_and_as_a_new_call_under_the_auditors_identity() throws Exception {
        String rid = newRequestId();
        assertThat(post("/llm/v1/chat/completions", stack().userToken("alice"), rid,
                E2E.CHAT.replace("demo-model", "demo-fixed")).statusCode()).isEqualTo(200);
        String id = String.valueOf(evidence(rid).get("id"));
        String replay = "http://127.0.0.1:" + stack().controlPort + "/audit/records/" + id + "/replay";

        HttpResponse<String> view = get(replay, stack().userToken("carol"));
        assertThat(view.statusCode()).as(view.body()).isEqualTo(200);
        JsonNode t = JSON.readTree(view.body());
        assertThat(t.path("received").path("body").asText()).contains("hello");
        assertThat(t.path("received").path("identity").asText()).isEqualTo("alice");
        assertThat(t.path("decision").path("verdict").asText()).isEqualTo("ALLOW");
        assertThat(t.path("forwarded").path("credential").asText()).contains("redacted");
        assertThat(t.path("delivered").path("body").asText()).contains("chatcmpl-fixed");
        assertThat(t.path("chain").findValuesAsText("kind")).contains("call.open", "call.terminal");
        assertThat(get(replay, stack().userToken("alice")).statusCode()).isEqualTo(403);

        // audrey is an auditor who may also call the model: the same answer comes back
        int before = stack().demo.calls();
        HttpResponse<String> same = postEmpty(replay, stack().userToken("audrey"));
        assertThat(same.statusCode()).as(same.body()).isEqualTo(200);
        JsonNode s = JSON.readTree(same.body());
        assertThat(s.path("status").asInt()).isEqualTo(200);
        assertThat(s.path("digest_match").asBoolean()).isTrue();
        assertThat(stack().demo.calls()).isEqualTo(before + 1);
        Map<String, Object> replayed = evidence(s.path("replay_request_id").asText());
        assertThat(replayed.get("username")).isEqualTo("audrey");
        assertThat(replayed.get("outcome")).isEqualTo("completed");

        // carol may audit but not call models: her own policy refuses the replay, and it does not match
        HttpResponse<String> refused = postEmpty(replay, stack().userToken("carol"));
        JsonNode r = JSON.readTree(refused.body());
        assertThat(r.path("status").asInt()).isEqualTo(403);
        assertThat(r.path("digest_match").asBoolean()).isFalse();
        assertThat(stack().demo.calls()).isEqualTo(before + 1);
        assertThat(E2E.count("SELECT count(*) FROM evidence_chain WHERE subject_id = '" + id + "' AND kind IN "
                + "('audit.replay_view', 'audit.replay', 'audit.replay_result')")).isEqualTo(5);
    }

    @Test
    void should_destroy_payloads_past_retention_and_keep_a_verifiable_chain() throws Exception {
        try (Connection c = stack().db()) {
            c.createStatement().execute("DROP DATABASE IF EXISTS retentiontest");
            c.createStatement().execute("CREATE DATABASE retentiontest");
        }
        String url = stack().postgres.jdbcUrl().replace("/postgres", "/retentiontest");
        Map<String, String> p = stack().extraGatewaySettings();
        p.put("attest.instance-id", "retention-e2e");
        p.put("attest.db.url", url);
        p.put("attest.evidence.data-key-period-ms", "1000");
        p.put("attest.evidence.retention-ms", "1");
        p.put("attest.evidence.retention-check-ms", "300");
        p.put("attest.evidence.checkpoint-every-ms", "200");
        p.put("attest.evidence.checkpoint-check-ms", "100");
        String base = "http://127.0.0.1:" + p.get("attest.data.port");
        try (Gateway g = new Gateway(p).start()) {
            String rid = newRequestId();
            HttpResponse<String> r = E2E.chatVia(base, rid);
            assertThat(r.statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> one(url, "SELECT count(*) FROM evidence_record WHERE "
                    + "correlation_id = '" + rid + "' AND payload_purged AND request_body IS NULL AND response_body IS NULL "
                    + "AND request_sha256 IS NOT NULL") == 1
                    && one(url, "SELECT count(*) FROM evidence_data_key WHERE wrapped IS NULL") >= 1);
            String id = String.valueOf(oneText(url, "SELECT id FROM evidence_record WHERE correlation_id = '" + rid + "'"));
            HttpResponse<String> read = get("http://127.0.0.1:" + p.get("attest.control.port") + "/audit/records/"
                    + id + "/payload", stack().userToken("carol"));
            assertThat(JSON.readTree(read.body()).path("purged").asBoolean()).as(read.body()).isTrue();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                var run = EvidenceChainE2EIT.verify(url, stack().work.resolve("evidence-signing.key.pub"));
                assertThat(run.code()).as(run.output()).isZero();
                assertThat(run.output()).contains("retention-e2e:");
            });
        }
    }

    @Test
    void should_apply_an_upstreams_own_retention_and_keep_unpublished_outbox_rows() throws Exception {
        try (Connection c = stack().db()) {
            c.createStatement().execute("DROP DATABASE IF EXISTS retention2");
            c.createStatement().execute("CREATE DATABASE retention2");
        }
        String url = stack().postgres.jdbcUrl().replace("/postgres", "/retention2");
        Map<String, String> p = stack().extraGatewaySettings();
        p.put("attest.instance-id", "retention-upstream-e2e");
        p.put("attest.db.url", url);
        p.put("attest.evidence.retention-ms", "0");             // forever, globally
        p.put("attest.upstream.llm.retention-ms", "1");         // but not for this upstream
        p.put("attest.evidence.data-key-period-ms", "1000");
        p.put("attest.evidence.retention-check-ms", "300");
        p.put("attest.kafka.outbox-keep-ms", "1");              // no Kafka here: nothing is ever published
        try (Gateway g = new Gateway(p).start()) {
            String rid = newRequestId();
            HttpResponse<String> r = E2E.chatVia("http://127.0.0.1:" + p.get("attest.data.port"), rid);
            assertThat(r.statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> one(url, "SELECT count(*) FROM evidence_record WHERE "
                    + "correlation_id = '" + rid + "' AND payload_purged AND request_body IS NULL") == 1);
            // the upstream's retention purges its payloads; keys stay while the global retention is forever
            assertThat(one(url, "SELECT count(*) FROM evidence_data_key WHERE wrapped IS NULL")).isZero();
            // outbox rows go only once published: without Kafka none is
            assertThat(one(url, "SELECT count(*) FROM evidence_outbox WHERE event_key = (SELECT id::text FROM "
                    + "evidence_record WHERE correlation_id = '" + rid + "')")).isEqualTo(1);
        }
    }

    @Test
    void should_rotate_the_master_key_and_refuse_to_start_with_a_key_that_wraps_nothing() throws Exception {
        try (Connection c = stack().db()) {
            c.createStatement().execute("DROP DATABASE IF EXISTS rotationtest");
            c.createStatement().execute("CREATE DATABASE rotationtest");
        }
        String url = stack().postgres.jdbcUrl().replace("/postgres", "/rotationtest");
        java.nio.file.Path k1 = stack().work.resolve("rotation/k1.key");
        java.nio.file.Path k2 = stack().work.resolve("rotation/k2.key");
        Map<String, String> p = stack().extraGatewaySettings();
        p.put("attest.instance-id", "rotation-e2e");
        p.put("attest.db.url", url);
        p.put("attest.evidence.master-key-file", k1.toString());
        String rid = newRequestId();
        try (Gateway first = new Gateway(p).start()) {
            HttpResponse<String> r = E2E.chatVia("http://127.0.0.1:" + p.get("attest.data.port"), rid);
            assertThat(r.statusCode()).isEqualTo(200);
        }
        var key1 = attest.evidence.crypto.MasterKey.fromFile(k1, false);
        var key2 = attest.evidence.crypto.MasterKey.fromFile(k2, true);
        p.put("attest.evidence.master-key-file", k2.toString());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Gateway(p).start())
                .hasMessageContaining("master-key-previous-file");
        p.put("attest.evidence.master-key-previous-file", k1.toString());
        try (Gateway rotated = new Gateway(p).start()) {
            assertThat(one(url, "SELECT count(*) FROM evidence_data_key WHERE master_key_id = '" + key1.id() + "'"))
                    .isZero();
            assertThat(one(url, "SELECT count(*) FROM evidence_data_key WHERE master_key_id = '" + key2.id() + "'"))
                    .isGreaterThanOrEqualTo(1);
            String id = String.valueOf(oneText(url, "SELECT id FROM evidence_record WHERE correlation_id = '" + rid + "'"));
            HttpResponse<String> read = get("http://127.0.0.1:" + p.get("attest.control.port") + "/audit/records/"
                    + id + "/payload", stack().userToken("carol"));
            assertThat(JSON.readTree(read.body()).path("request").asText()).as(read.body()).contains("hello");
        }
    }

    static long one(String url, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(url, "postgres", ""); ResultSet rs =
                c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static Object oneText(String url, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(url, "postgres", ""); ResultSet rs =
                c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getObject(1);
        }
    }
}
