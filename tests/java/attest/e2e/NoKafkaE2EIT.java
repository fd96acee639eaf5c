package attest.e2e;

import attest.stack.Gateway;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;

import static attest.e2e.E2E.CHAT;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The defaults a fresh machine gets: no database URL (an embedded PostgreSQL in a data directory) and no
 * Kafka brokers (the gateway serves, and its events wait in the outbox).
 */
class NoKafkaE2EIT {
    static String password = "";
    @Test
    void should_serve_and_keep_events_in_the_outbox_without_brokers() throws Exception {
        var s = stack();
        Map<String, String> p = s.extraGatewaySettings();
        p.put("attest.instance-id", "nokafka");
        p.remove("attest.db.url");
        p.remove("attest.db.user");
        p.put("attest.db.embedded.data-dir", s.work.resolve("nokafka-pgdata").toString());
        int port = Integer.parseInt(p.get("attest.data.port"));
        try (Gateway g = new Gateway(p).start()) {
            HttpResponse<String> r = E2E.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                            + "/llm/v1/chat/completions")).header("Authorization", "Bearer " + s.userToken("alice"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(g.context().getRouteController().getRouteStatus("evidence-relay").isStarted()).isFalse();
            attest.evidence.Database db = g.context().getRegistry().lookupByNameAndType("attestDatabase",
                    attest.evidence.Database.class);
            assertThat(db.embedded()).as("the embedded default store").isNotNull();
            String url = db.embedded().jdbcUrl();
            password = java.nio.file.Files.readString(attest.evidence.Database.ownerPasswordFile(
                    s.work.resolve("nokafka-pgdata"))).strip(); // the embedded server requires passwords
            assertThat(count(url, "SELECT count(*) FROM evidence_record WHERE outcome = 'completed'")).isEqualTo(1);
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> unpublished(url) == 1);
        }
    }

    static long unpublished(String url) throws Exception {
        // checkpoint events (signed every attest.evidence.checkpoint-every-ms) wait there too; count the call's
        return count(url, "SELECT count(*) FROM evidence_outbox WHERE published_at IS NULL "
                + "AND event_key NOT LIKE 'checkpoint:%'");
    }

    static long count(String url, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(url, "postgres", password);
             ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
