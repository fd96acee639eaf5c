package attest.stack;

import attest.demo.DemoModelServer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The whole dev stack on one machine with only Java 17 and Maven: Keycloak (realm {@code attest} on 8180),
 * a Kafka broker (9092), the demo model server (8000, the upstream) and the gateway (8080, control 8081)
 * on an embedded PostgreSQL (port {@value #DB_PORT}, database {@code attest}). Services already running on their
 * port are reused. Ctrl-C stops what it started.
 * <p>
 * Run it with {@code mvn -Pdev} from the repository root.
 */
public final class DevStack {
    /** The dev stack's evidence database port, fixed so that auditors' tools can be pointed at it (README). */
    public static final int DB_PORT = 5433;
    private DevStack() {
    }

    public static void main(String[] args) throws Exception {
        attest.ops.JvmDefaults.apply(); // as attest.App does
        Path repo = Path.of("").toAbsolutePath();
        Path work = repo.resolve(".attest");
        Files.createDirectories(work);
        Started started = new Started("stack");

        try {
            startAll(repo, work, started);
        } catch (Exception e) {
            System.out.println("[stack] start failed: " + e.getMessage());
            System.exit(1);
        }
        new CountDownLatch(1).await(); // until Ctrl-C: the shutdown hook stops what was started
    }

    private static void startAll(Path repo, Path work, Started started) throws Exception {
        if (KeycloakServer.running(8180)) {
            System.out.println("[stack] Keycloak already running on 8180: reusing it");
        } else {
            KeycloakServer kc = new KeycloakServer(repo, work, 8180);
            started.add(kc);
            kc.start();
        }
        if (Waits.portOpen("127.0.0.1", 9092)) {
            System.out.println("[stack] something already listens on 9092: using it as Kafka");
        } else {
            KafkaBroker kafka = new KafkaBroker(repo, work.resolve("kafka"), 9092);
            started.add(kafka);
            kafka.start();
        }
        String key = "demo-" + HexFormat.of().formatHex(SecureRandom.getInstanceStrong().generateSeed(12));
        Path keyFile = work.resolve("demo-upstream.key");
        Files.writeString(keyFile, key);
        DemoModelServer demo = new DemoModelServer("127.0.0.1", 8000, key);
        demo.setRecording(false);
        started.add(demo);
        System.out.println("[stack] demo model server on " + demo.baseUrl());

        if (Waits.portOpen("127.0.0.1", DB_PORT)) {
            throw new IllegalStateException("port " + DB_PORT + " is taken: the dev stack's PostgreSQL listens there");
        }
        System.out.println("[stack] starting the gateway (embedded PostgreSQL in .attest/pgdata, port " + DB_PORT + ")");
        Path pgdata = work.resolve("pgdata");
        // the dev realm's secret of the gateway's admin client: virtual keys check their owners with it
        Path adminSecret = work.resolve("gateway-client.secret");
        Files.writeString(adminSecret, "attest-gateway-secret");
        Gateway gateway = new Gateway(Map.of(
                "attest.upstream.llm.credential.secret-env", "",
                "attest.upstream.llm.credential.secret-file", keyFile.toString(),
                "attest.approval.admin.client-secret-env", "",
                "attest.approval.admin.client-secret-file", adminSecret.toString(),
                "attest.db.embedded.data-dir", pgdata.toString(),
                "attest.db.embedded.port", String.valueOf(DB_PORT)));
        started.add(gateway);
        gateway.start();

        String auditorPassword = System.getenv("ATTEST_DB_AUDITOR_PASSWORD") != null
                ? System.getenv("ATTEST_DB_AUDITOR_PASSWORD").strip()
                : Files.readString(attest.evidence.Database.auditorPasswordFile(pgdata)).strip();
        System.out.println("""

                ==================================================================================
                 Attest is running.
                   data plane     http://127.0.0.1:8080/llm/...   (upstream: demo model on :8000)
                   control plane  http://127.0.0.1:8081/health  and  /metrics
                   Keycloak       http://127.0.0.1:8180  (realm attest; admin/admin)

                 Get a token for alice (password alice):
                   TOKEN=$(curl -s -d client_id=attest-cli -d grant_type=password \\
                     -d username=alice -d password=alice \\
                     http://127.0.0.1:8180/realms/attest/protocol/openid-connect/token | jq -r .access_token)

                 Make a call:
                   curl -s http://127.0.0.1:8080/llm/v1/chat/completions \\
                     -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
                     -d '{"model":"demo-model","messages":[{"role":"user","content":"hello"}]}'

                 Evidence: PostgreSQL table evidence_record; Kafka topic attest.evidence.v1.
                 Evidence database  jdbc:postgresql://127.0.0.1:%d/attest
                   auditor (read-only: report views, verify, export)
                     user auditor_ro   password %s
                     export PGHOST=127.0.0.1 PGPORT=%d PGDATABASE=attest PGUSER=auditor_ro PGPASSWORD='%s'
                 Ctrl-C stops everything this command started.
                ==================================================================================
                """.formatted(DB_PORT, auditorPassword, DB_PORT, auditorPassword));
    }
}
