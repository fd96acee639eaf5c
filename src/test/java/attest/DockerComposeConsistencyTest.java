package attest;

import attest.stack.KeycloakServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** docker-compose.yml cannot run here, so it is held to the dev stack by reading it. */
class DockerComposeConsistencyTest {
    static Map<String, Object> services;
    static Properties defaults = new Properties();

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void read() throws IOException {
        Map<String, Object> compose = (Map<String, Object>) new Load(LoadSettings.builder().build())
                .loadFromString(Files.readString(Path.of("docker-compose.yml")));
        services = (Map<String, Object>) compose.get("services");
        try (InputStream in = DockerComposeConsistencyTest.class.getResourceAsStream("/application.properties")) {
            defaults.load(in);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> service(String name) {
        return (Map<String, Object>) services.get(name);
    }

    @SuppressWarnings("unchecked")
    static List<String> list(String service, String key) {
        return ((List<Object>) service(service).get(key)).stream().map(String::valueOf).toList();
    }

    @SuppressWarnings("unchecked")
    static Map<String, String> env(String service) {
        return ((Map<String, Object>) service(service).get("environment")).entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> String.valueOf(e.getValue())));
    }

    @Test
    void should_describe_the_same_services_as_the_dev_stack() {
        assertThat(services.keySet()).containsExactlyInAnyOrder("postgres", "kafka", "keycloak", "demo-upstream",
                "gateway");
    }

    @Test
    void should_import_the_same_realm_into_the_same_keycloak_on_the_same_port() throws IOException {
        assertThat((String) service("keycloak").get("image")).endsWith(":" + KeycloakServer.VERSION);
        assertThat(list("keycloak", "command")).contains("start-dev", "--import-realm");
        assertThat(list("keycloak", "volumes")).contains("./keycloak-realm:/opt/keycloak/data/import:ro");
        assertThat(Files.readString(Path.of("keycloak-realm/attest-realm.json"))).contains("\"realm\": \"attest\"");
        assertThat(list("keycloak", "ports")).containsExactly("127.0.0.1:8180:8080");
        assertThat(defaults.getProperty("attest.identity.issuer")).isEqualTo("http://127.0.0.1:8180/realms/attest");
        assertThat(env("gateway").get("ATTEST_IDENTITY_ISSUER")).endsWith(":8180/realms/attest");
    }

    @Test
    void should_run_the_same_kafka_version() throws IOException {
        Matcher m = Pattern.compile("<artifactId>kafka_2.13</artifactId><version>([^<]+)</version>")
                .matcher(Files.readString(Path.of("tests/kafka-server/pom.xml")));
        assertThat(m.find()).isTrue();
        assertThat((String) service("kafka").get("image")).isEqualTo("apache/kafka:" + m.group(1));
    }

    @Test
    void should_publish_the_gateway_on_the_documented_ports() {
        assertThat(list("gateway", "ports")).containsExactlyInAnyOrder(
                "127.0.0.1:" + defaults.getProperty("attest.data.port") + ":" + defaults.getProperty("attest.data.port"),
                "127.0.0.1:" + defaults.getProperty("attest.control.port") + ":"
                        + defaults.getProperty("attest.control.port"));
        assertThat(env("gateway").get("ATTEST_DATA_PORT")).isEqualTo(defaults.getProperty("attest.data.port"));
    }

    @Test
    void should_only_set_gateway_variables_that_map_to_documented_settings() {
        Set<String> documented = defaults.stringPropertyNames().stream()
                .map(k -> k.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_')).collect(Collectors.toSet());
        String secretEnv = defaults.getProperty("attest.upstream.llm.credential.secret-env");
        String masterKeyEnv = defaults.getProperty("attest.evidence.master-key-env");
        for (String name : env("gateway").keySet()) {
            if (name.equals(secretEnv) || name.equals(masterKeyEnv)) {
                continue; // secrets: variables that settings name, not settings
            }
            assertThat(documented).as("%s is not a documented setting", name).contains(name);
        }
        assertThat(env("gateway")).containsKey(secretEnv);
        // the gateway reaches the demo upstream on the port the demo listens on
        assertThat(env("gateway").get("ATTEST_UPSTREAM_LLM_BASE_URL")).isEqualTo("http://demo-upstream:"
                + list("demo-upstream", "command").get(1));
        assertThat(env("demo-upstream").get("ATTEST_DEMO_UPSTREAM_KEY"))
                .isEqualTo(env("gateway").get(secretEnv));
    }

    /** Only the gateway and Keycloak are published, and only on the host's loopback; the rest is internal. */
    @Test
    @SuppressWarnings("unchecked")
    void should_publish_only_the_gateway_and_keycloak_and_only_on_loopback() {
        for (String name : services.keySet()) {
            Object ports = service(name).get("ports");
            Object expose = service(name).get("network_mode");
            assertThat(expose).as("%s shares the host's network", name).isNull();
            if (!name.equals("gateway") && !name.equals("keycloak")) {
                assertThat(ports).as("%s publishes ports", name).isNull();
                continue;
            }
            for (Object p : (List<Object>) ports) {
                assertThat(String.valueOf(p)).as("%s publishes %s beyond loopback", name, p).startsWith("127.0.0.1:");
            }
        }
    }

    /** The approval page's redirect URIs are exact: no wildcard, and the control plane's public URL is one. */
    @Test
    @SuppressWarnings("unchecked")
    void should_register_exact_redirect_uris_only() throws IOException {
        Map<String, Object> realm = new com.fasterxml.jackson.databind.ObjectMapper().readValue(
                Path.of("keycloak-realm/attest-realm.json").toFile(), Map.class);
        List<String> page = null;
        for (Map<String, Object> client : (List<Map<String, Object>>) realm.get("clients")) {
            List<String> uris = (List<String>) client.getOrDefault("redirectUris", List.of());
            for (String u : uris) {
                assertThat(u).as("client %s", client.get("clientId")).doesNotContain("*")
                        .matches("https?://[^/]+/auth/callback");
            }
            if ("attest-approval-page".equals(client.get("clientId"))) {
                page = uris;
            }
        }
        assertThat(page).contains(env("gateway").get("ATTEST_CONTROL_PUBLIC_URL") + "/auth/callback",
                "http://127.0.0.1:" + defaults.getProperty("attest.control.port") + "/auth/callback");
        for (int port : attest.stack.Stack.REGISTERED_CONTROL_PORTS) {
            assertThat(page).contains("http://127.0.0.1:" + port + "/auth/callback");
        }
    }

    /** The gateway's connections are not the database owner's (the compose PostgreSQL user is a superuser). */
    @Test
    void should_connect_the_gateway_as_its_own_login_role_not_the_owner() {
        assertThat(env("gateway").get("ATTEST_DB_APP_USER")).isNotBlank()
                .isNotEqualTo(env("gateway").get("ATTEST_DB_USER")).isNotEqualTo(env("postgres").get("POSTGRES_USER"));
        assertThat(env("gateway").get("ATTEST_DB_APP_PASSWORD")).isNotBlank()
                .isNotEqualTo(env("gateway").get("ATTEST_DB_PASSWORD"));
    }
}
