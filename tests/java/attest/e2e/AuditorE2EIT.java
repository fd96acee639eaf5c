package attest.e2e;

import attest.evidence.Database;
import attest.stack.Artifact;
import attest.stack.Gateway;
import attest.stack.PostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static attest.e2e.E2E.CHAT;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Auditors reach the database, as the README promises (issue #14 §3b): against a gateway on the dev stack's kind of
 * database (the embedded PostgreSQL, database {@code attest}, passwords required), the README's auditor commands
 * run verbatim (psql on a view, export, verify) as {@code auditor_ro}, and that login can neither read a payload
 * column nor write anything.
 */
class AuditorE2EIT {
    static Gateway gateway;
    static Path pgdata;
    static int dbPort;
    static String password;

    @BeforeAll
    static void start() throws Exception {
        Map<String, String> p = stack().extraGatewaySettings();
        p.remove("attest.db.url");
        p.remove("attest.db.user");
        pgdata = stack().work.resolve("auditor-pgdata");
        dbPort = PostgresServer.freePort();
        p.put("attest.instance-id", "auditor-it");
        p.put("attest.db.embedded.data-dir", pgdata.toString());
        p.put("attest.db.embedded.port", String.valueOf(dbPort));
        p.put("attest.evidence.checkpoint-every-ms", "500");
        gateway = new Gateway(p).start();
        int port = Integer.parseInt(p.get("attest.data.port"));
        // one allowed call and one denied call, so the views have rows
        assertThat(call(port, "alice").statusCode()).isEqualTo(200);
        assertThat(call(port, "dave").statusCode()).isEqualTo(403);
        password = Files.readString(Database.auditorPasswordFile(pgdata)).strip();
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    static HttpResponse<String> call(int port, String user) throws Exception {
        return E2E.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/llm/v1/chat/completions"))
                .header("Authorization", "Bearer " + stack().userToken(user)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The README's block after {@code <!-- auditor-commands -->}, unchanged. */
    static String readmeAuditorCommands() throws Exception {
        String readme = Files.readString(stack().repo.resolve("README.md"));
        Matcher m = Pattern.compile("<!-- auditor-commands -->\\s*```bash\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertThat(m.find()).as("the README's auditor commands").isTrue();
        return m.group(1);
    }

    @Test
    void should_run_the_readme_auditor_commands_verbatim_as_the_read_only_login() throws Exception {
        Path dir = Files.createDirectories(stack().work.resolve("auditor-run"));
        Files.copy(stack().work.resolve("evidence-signing.key.pub"), dir.resolve("gateway.pub"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path script = dir.resolve("auditor.sh");
        Files.writeString(script, "set -euo pipefail\n" + readmeAuditorCommands());
        Artifact artifact = Artifact.built(stack().repo);

        ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("ATTEST_"));
        // the dev stack's settings, as the README exports them, with this stack's port
        pb.environment().putAll(Map.of("PGHOST", "127.0.0.1", "PGPORT", String.valueOf(dbPort), "PGDATABASE", "attest",
                "PGUSER", "auditor_ro", "PGPASSWORD", password, "JAVA_HOME", System.getProperty("java.home"),
                "PATH", artifact.home().resolve("bin") + ":/usr/bin:/bin"));
        Process proc = pb.start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(proc.waitFor(3, TimeUnit.MINUTES)).isTrue();

        assertThat(proc.exitValue()).as(out).isZero();
        assertThat(out).as("psql on a view").contains("dave").contains("identity");
        assertThat(out).containsPattern("exported [1-9]\\d* entries to evidence-export");
        assertThat(out).as("both verifications").containsPattern("(?s)VALID.*VALID")
                .contains("payloads were not checked against their digests (this login may not read them)")
                .doesNotContain("TAMPERED").doesNotContain(password);
    }

    @Test
    void should_refuse_the_auditor_payload_columns_and_every_write() throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + dbPort + "/attest";
        assertThatThrownBy(() -> DriverManager.getConnection(url, "auditor_ro", "wrong").close())
                .isInstanceOf(SQLException.class);
        try (Connection c = DriverManager.getConnection(url, "auditor_ro", password); Statement st = c.createStatement()) {
            assertThat(count(st, "SELECT count(*) FROM audit_denials")).isPositive();
            assertThat(count(st, "SELECT count(*) FROM evidence_chain")).isPositive();
            assertThat(count(st, "SELECT count(*) FROM evidence_checkpoint")).isPositive();
            // even after switching off the read-only default, privileges alone refuse each of these
            st.execute("SET default_transaction_read_only = off");
            for (String sql : List.of(
                    "SELECT request_body FROM evidence_record LIMIT 1",
                    "SELECT response_body, raw_response_body FROM evidence_record LIMIT 1",
                    "SELECT * FROM evidence_record LIMIT 1",
                    "SELECT count(*) FROM evidence_record",
                    "SELECT wrapped FROM evidence_data_key LIMIT 1",
                    "SELECT request_body FROM approval_request LIMIT 1",
                    "SELECT payload FROM evidence_outbox LIMIT 1",
                    "SELECT * FROM approval_session LIMIT 1",
                    "INSERT INTO evidence_instance (chain_id, event, at, key_id) VALUES ('x', 'start', now(), 'k')",
                    "UPDATE evidence_checkpoint SET signature = signature",
                    "DELETE FROM evidence_chain",
                    "TRUNCATE evidence_chain_head",
                    "UPDATE audit_denials SET reason = 'x'",
                    "DELETE FROM audit_approvals",
                    "CREATE TABLE stolen (x int)",
                    "CREATE VIEW stolen_view AS SELECT 1",
                    "ALTER ROLE auditor_ro SUPERUSER",
                    "GRANT SELECT ON evidence_record TO auditor_ro",
                    "SET ROLE attest_app",
                    "COPY evidence_chain TO '/tmp/attest-auditor-copy'")) {
                assertThatThrownBy(() -> st.execute(sql)).as(sql).isInstanceOf(SQLException.class);
            }
        }
        // a fresh session is read-only by default (defence in depth beside the grants)
        try (Connection c = DriverManager.getConnection(url, "auditor_ro", password); Statement st = c.createStatement()) {
            assertThatThrownBy(() -> st.execute("CREATE TEMP TABLE scratch (x int)"))
                    .hasMessageContaining("read-only transaction");
        }
    }

    static long count(Statement st, String sql) throws SQLException {
        try (var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
