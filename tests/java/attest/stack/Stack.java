package attest.stack;

import attest.demo.DemoModelServer;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The real stack for the end-to-end suite, started once per test JVM and stopped at its end:
 * Keycloak (reused when one already serves the attest realm on 8180), and a Kafka broker, a PostgreSQL,
 * the demo model servers and the gateway that this harness owns, on free ports, so tests may stop and
 * start Kafka and PostgreSQL. With {@code -Dattest.stack=containers} (the {@code -Pcontainers} profile sets it)
 * PostgreSQL, Kafka and Keycloak come from Testcontainers instead ({@link ContainerStack}), and every test that
 * uses this stack is skipped where no Docker engine is reachable; everything else is the same.
 */
public final class Stack {
    private static Stack instance;

    public final Path repo = Path.of("").toAbsolutePath();
    public final Path work = repo.resolve("target/e2e-stack");
    public final LogCapture logs = LogCapture.install();
    public final String demoKey = "demo-key-" + UUID.randomUUID();
    public KeycloakServer keycloak;
    public String issuer;
    public KafkaService kafka;
    public PostgresService postgres;
    /** Keycloak's base URL (master realm admin: admin/admin). */
    public String keycloakUrl = "http://127.0.0.1:8180";
    public DemoModelServer demo;
    public DemoModelServer oauthDemo;
    public Gateway gateway;
    public int dataPort;
    public int controlPort;
    public com.icegreen.greenmail.util.GreenMail mail;
    private final Deque<AutoCloseable> started = new ArrayDeque<>();

    public static synchronized Stack get() {
        if (instance == null) {
            Stack s = new Stack();
            try {
                s.start();
            } catch (org.opentest4j.TestAbortedException skipped) {
                s.stop();
                throw skipped; // -Pcontainers without Docker: reported as skipped
            } catch (Exception e) {
                s.stop();
                throw new IllegalStateException("the e2e stack did not start: " + e.getMessage(), e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(s::stop, "e2e-stack-stop"));
            instance = s;
        }
        return instance;
    }

    private void start() throws Exception {
        Dirs.delete(work);
        Files.createDirectories(work);
        if (ContainerStack.requested()) {
            ContainerStack containers = ContainerStack.load(); // skips the test where Docker is not reachable
            started.push(containers);
            System.out.println("[stack] PostgreSQL, Kafka and Keycloak from Testcontainers (attest.stack=containers)");
            containers.start();
            keycloakUrl = containers.keycloakUrl();
            issuer = keycloakUrl + "/realms/attest";
            kafka = containers.kafka();
            postgres = containers.postgres();
        } else {
            startLocalServices();
        }

        demo = new DemoModelServer("127.0.0.1", 0, demoKey);
        started.push(demo);
        var gatewayRealmKeys = attest.identity.RealmKeys.fromJwksUri(issuer + "/protocol/openid-connect/certs",
                Duration.ofMinutes(5), Duration.ofSeconds(5), Duration.ofSeconds(3));
        gatewayRealmKeys.prime();
        var gatewayTokens = new attest.identity.TokenValidator(gatewayRealmKeys, issuer, "attest-gateway", Duration.ofSeconds(5), java.time.Clock.systemUTC());
        oauthDemo = new DemoModelServer("127.0.0.1", 0, auth -> {
            try {
                return "attest-gateway".equals(gatewayTokens.validateAuthorization(auth).clientId());
            } catch (RuntimeException e) {
                return false;
            }
        });
        started.push(oauthDemo);

        mail = new com.icegreen.greenmail.util.GreenMail(new com.icegreen.greenmail.util.ServerSetup(
                PostgresServer.freePort(), "127.0.0.1", "smtp"));
        mail.start();
        started.push(mail::stop);

        secrets.add(demoKey);
        secrets.add("attest-gateway-secret");
        secrets.add("batch-job-secret");
        Path keyFile = work.resolve("demo.key");
        Files.writeString(keyFile, demoKey);
        Path secretFile = work.resolve("gateway-client.secret");
        Files.writeString(secretFile, "attest-gateway-secret");
        dataPort = PostgresServer.freePort();
        controlPort = registeredControlPort();
        Map<String, String> p = new HashMap<>();
        p.put("attest.instance-id", "e2e");
        p.put("attest.data.port", String.valueOf(dataPort));
        p.put("attest.control.port", String.valueOf(controlPort));
        p.put("attest.db.url", postgres.jdbcUrl());
        p.put("attest.db.user", "postgres");
        p.put("attest.db.password", "");
        p.put("attest.kafka.brokers", kafka.bootstrap());
        p.put("attest.identity.issuer", issuer);
        p.put("attest.identity.clock-skew-ms", "1000");
        p.put("attest.data.request-timeout-ms", "2000");
        // the reports' read path is checked again this often (AuditReportsE2EIT changes a view and puts it back)
        p.put("attest.audit.read-path-check-ms", "300");
        // the whole suite calls from 127.0.0.1: every refusal is recorded on its own (FloodE2EIT tests the threshold)
        p.put("attest.evidence.refusals-per-source", "1000000");
        p.put("attest.evidence.refusals-recorded-per-window", "1000000");
        // suites deny the same users on purpose many times a minute: none is refused at the door for it
        // (DenialFloodE2EIT tests the threshold on a gateway of its own)
        p.put("attest.policy.denials-per-caller", "1000000");
        p.put("attest.policy.file", "tests/e2e-policy.yaml");
        p.put("attest.masking.rules-dir", "tests/e2e-masking-rules");
        p.put("attest.approval.rules-dir", "tests/e2e-approval-flow");
        p.put("attest.evidence.signing-key-file", work.resolve("evidence-signing.key").toString());
        p.put("attest.evidence.master-key-file", work.resolve("evidence-master.key").toString());
        p.put("attest.evidence.checkpoint-every-ms", "500");
        p.put("attest.evidence.checkpoint-check-ms", "200");
        p.put("attest.approval.window-ms", "6000");
        p.put("attest.approval.timeout-check-ms", "250");
        p.put("attest.approval.poll-ms", "200");
        p.put("attest.approval.recovery-interval-ms", "1000");
        // the suite holds many calls for alice and mails bob for each: the flood limits are tested on their own
        p.put("attest.approval.max-pending-per-requester", "0");
        p.put("attest.approval.notify.max-per-window", "0");
        p.put("attest.mail.enabled", "true");
        p.put("attest.mail.port", String.valueOf(mail.getSmtp().getPort()));
        p.put("attest.approval.admin.client-secret-env", "");
        p.put("attest.approval.admin.client-secret-file", secretFile.toString());
        p.put("attest.upstreams", "llm,llm-oauth");
        p.put("attest.upstream.llm.base-url", demo.baseUrl());
        p.put("attest.upstream.llm.credential.secret-env", "");
        p.put("attest.upstream.llm.credential.secret-file", keyFile.toString());
        p.put("attest.upstream.llm.timeout-ms", "3000");
        p.put("attest.upstream.llm.idle-timeout-ms", "3000");
        p.put("attest.upstream.llm-oauth.prefix", "/llm-oauth");
        p.put("attest.upstream.llm-oauth.base-url", oauthDemo.baseUrl());
        p.put("attest.upstream.llm-oauth.credential.type", "oauth2");
        p.put("attest.upstream.llm-oauth.credential.token-url", issuer + "/protocol/openid-connect/token");
        p.put("attest.upstream.llm-oauth.credential.client-id", "attest-gateway");
        p.put("attest.upstream.llm-oauth.credential.client-secret-file", secretFile.toString());
        gateway = new Gateway(p);
        started.push(gateway);
        gateway.start();
        System.out.println("[stack] e2e stack up: gateway http://127.0.0.1:" + dataPort);
    }

    /** The Docker-free default: Keycloak (reused on 8180 or started), a Kafka broker and PostgreSQL of our own. */
    private void startLocalServices() throws Exception {
        if (KeycloakServer.running(8180)) {
            System.out.println("[stack] Keycloak already serves realm attest on 8180: reusing it");
        } else {
            keycloak = new KeycloakServer(repo, work, 8180);
            started.push(keycloak);
            keycloak.start();
        }
        issuer = "http://127.0.0.1:8180/realms/attest";

        kafka = new KafkaBroker(repo, work.resolve("kafka"), KafkaBroker.freePortPair());
        started.push(kafka);
        kafka.start();

        postgres = new PostgresServer(work.resolve("pgdata"), PostgresServer.freePort());
        started.push(postgres);
        postgres.start();
    }

    /**
     * Settings for one more gateway beside the suite's own, on fresh ports: same Keycloak, PostgreSQL and
     * demo upstream, no Kafka. Tests add or change what they examine.
     */
    public Map<String, String> extraGatewaySettings() {
        Map<String, String> p = new HashMap<>();
        p.put("attest.data.port", String.valueOf(PostgresServer.freePort()));
        p.put("attest.control.port", String.valueOf(PostgresServer.freePort()));
        p.put("attest.db.url", postgres.jdbcUrl());
        p.put("attest.db.user", "postgres");
        p.put("attest.kafka.brokers", "");
        p.put("attest.evidence.refusals-per-source", "1000000");
        p.put("attest.evidence.refusals-recorded-per-window", "1000000");
        p.put("attest.policy.denials-per-caller", "1000000");
        p.put("attest.identity.issuer", issuer);
        p.put("attest.upstream.llm.base-url", demo.baseUrl());
        p.put("attest.upstream.llm.credential.secret-env", "");
        p.put("attest.upstream.llm.credential.secret-file", work.resolve("demo.key").toString());
        p.put("attest.approval.rules-dir", "tests/e2e-approval-flow");
        p.put("attest.evidence.signing-key-file", work.resolve("evidence-signing.key").toString());
        p.put("attest.evidence.master-key-file", work.resolve("evidence-master.key").toString());
        p.put("attest.approval.timeout-check-ms", "250");
        p.put("attest.approval.poll-ms", "200");
        p.put("attest.approval.recovery-interval-ms", "1000");
        p.put("attest.approval.max-pending-per-requester", "0");
        p.put("attest.approval.notify.max-per-window", "0");
        return p;
    }

    /**
     * Control-plane ports whose {@code /auth/callback} the realm registers exactly for the approval page
     * (keycloak-realm/attest-realm.json, client attest-approval-page): the suite's gateway takes a free one.
     */
    public static final int[] REGISTERED_CONTROL_PORTS = {18081, 18082, 18083, 18084, 18085, 18086, 18087, 18088};

    private static int registeredControlPort() {
        for (int p : REGISTERED_CONTROL_PORTS) {
            try (java.net.ServerSocket s = new java.net.ServerSocket(p, 1,
                    java.net.InetAddress.getLoopbackAddress())) {
                return p;
            } catch (java.io.IOException taken) {
                // next
            }
        }
        throw new IllegalStateException("every registered control-plane port is taken");
    }

    public synchronized void stop() {
        while (!started.isEmpty()) {
            try {
                started.pop().close();
            } catch (Exception e) {
                System.out.println("[stack] stop: " + e.getMessage());
            }
        }
    }

    public String gatewayUrl() {
        return "http://127.0.0.1:" + dataPort;
    }

    public Connection db() throws SQLException {
        return DriverManager.getConnection(postgres.jdbcUrl(), "postgres", "");
    }

    // ---- tokens from the real Keycloak --------------------------------------------------------------------

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A password-grant access token for a dev realm user (password = username). */
    public String userToken(String client, String username) {
        return token(Map.of("grant_type", "password", "client_id", client, "username", username, "password", username),
                "access_token");
    }

    public String userToken(String username) {
        return userToken("attest-cli", username);
    }

    /** A token of another type from the same login (id_token, refresh_token). */
    public String otherToken(String username, String field) {
        return token(Map.of("grant_type", "password", "client_id", "attest-cli", "username", username,
                "password", username, "scope", "openid"), field);
    }

    /** The batch-job service account's token (client credentials). */
    public String serviceAccountToken() {
        return token(Map.of("grant_type", "client_credentials", "client_id", "batch-job",
                "client_secret", "batch-job-secret"), "access_token");
    }

    /** Every token and secret this run handed out, for the log hygiene checks. */
    public final java.util.Set<String> secrets = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private String token(Map<String, String> form, String field) {
        StringBuilder body = new StringBuilder();
        form.forEach((k, v) -> body.append(body.length() == 0 ? "" : "&").append(k).append('=')
                .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(issuer + "/protocol/openid-connect/token"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("Keycloak token request failed: " + r.statusCode() + " " + r.body());
            }
            String token = JSON.readTree(r.body()).path(field).asText();
            secrets.add(token);
            return token;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
