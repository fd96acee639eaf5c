package attest.containers;

import attest.demo.DemoModelServer;
import attest.stack.Gateway;
import com.fasterxml.jackson.databind.ObjectMapper;
import dasniko.testcontainers.keycloak.KeycloakContainer;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code -Pcontainers} profile: the gateway against PostgreSQL, Kafka and Keycloak in containers (Testcontainers;
 * Keycloak via dasniko's testcontainers-keycloak, with the same realm file as the dev stack). Skipped cleanly where
 * no Docker engine is reachable ({@code disabledWithoutDocker}); the Docker-free default suite is unchanged.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainersE2EIT {
    @Container
    static final PostgreSQLContainer<?> POSTGRES = new PostgreSQLContainer<>("postgres:16-alpine");

    @Container
    static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka-native:4.1.1");

    @Container
    static final KeycloakContainer KEYCLOAK = new KeycloakContainer("quay.io/keycloak/keycloak:"
            + attest.stack.KeycloakServer.VERSION) // the version every other stack runs
            .withRealmImportFile("/attest-realm.json"); // keycloak-realm/, a test resource in this profile

    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void should_serve_a_call_with_its_evidence_against_containers() throws Exception {
        Path work = Files.createTempDirectory("attest-containers");
        String demoKey = "demo-key-" + UUID.randomUUID();
        Files.writeString(work.resolve("demo.key"), demoKey);
        String issuer = KEYCLOAK.getAuthServerUrl().replaceAll("/$", "") + "/realms/attest";
        try (DemoModelServer demo = new DemoModelServer("127.0.0.1", 0, demoKey)) {
            Map<String, String> p = new HashMap<>();
            int data = freePort();
            p.put("attest.instance-id", "containers-e2e");
            p.put("attest.data.port", String.valueOf(data));
            p.put("attest.control.port", String.valueOf(freePort()));
            p.put("attest.db.url", POSTGRES.getJdbcUrl());
            p.put("attest.db.user", POSTGRES.getUsername());
            p.put("attest.db.password", POSTGRES.getPassword());
            p.put("attest.kafka.brokers", KAFKA.getBootstrapServers());
            p.put("attest.identity.issuer", issuer);
            p.put("attest.mail.enabled", "false");
            p.put("attest.upstreams", "llm");
            p.put("attest.upstream.llm.base-url", demo.baseUrl());
            p.put("attest.upstream.llm.credential.secret-env", "");
            p.put("attest.upstream.llm.credential.secret-file", work.resolve("demo.key").toString());
            p.put("attest.evidence.signing-key-file", work.resolve("signing.key").toString());
            p.put("attest.evidence.master-key-file", work.resolve("master.key").toString());
            try (Gateway gw = new Gateway(p).start()) {
                String token = JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(issuer
                                        + "/protocol/openid-connect/token"))
                                .header("Content-Type", "application/x-www-form-urlencoded")
                                .POST(HttpRequest.BodyPublishers.ofString("client_id=attest-cli&grant_type=password"
                                        + "&username=alice&password=alice")).build(),
                        HttpResponse.BodyHandlers.ofString()).body()).path("access_token").asText();
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + data
                                + "/llm/v1/chat/completions")).header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                String evidenceId = r.headers().firstValue("Attest-Evidence-Id").orElseThrow();
                try (var c = DriverManager.getConnection(POSTGRES.getJdbcUrl(), POSTGRES.getUsername(),
                        POSTGRES.getPassword()); ResultSet rs = c.createStatement().executeQuery(
                        "SELECT outcome FROM evidence_record WHERE id = '" + evidenceId + "'")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo("completed");
                }
            }
        }
    }

    static int freePort() throws Exception {
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
