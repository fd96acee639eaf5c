package attest.e2e;

import attest.stack.Stack;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Helpers shared by the end-to-end tests: clients, evidence rows and the Kafka topic. */
final class E2E {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static KafkaConsumer<String, String> consumer;
    private static final Map<String, JsonNode> EVENTS_BY_REQUEST = new ConcurrentHashMap<>();

    private E2E() {
    }

    static Stack stack() {
        return Stack.get();
    }

    /** The gateway's own request id of the call sent with this X-Request-Id (waits for its evidence). */
    static String gatewayId(String sentRequestId) {
        try {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> evidence(sentRequestId) != null);
            return String.valueOf(evidence(sentRequestId).get("request_id"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The upstream's copy of the call sent with this X-Request-Id (the upstream sees the gateway's id). */
    static java.util.function.Predicate<attest.demo.DemoModelServer.Received> sentAs(String sentRequestId) {
        String id = gatewayId(sentRequestId);
        return x -> id.equals(x.header("X-Request-Id"));
    }

    static String newRequestId() {
        return "e2e-" + UUID.randomUUID();
    }

    /** The official OpenAI Java SDK, pointed at the gateway, with the caller's token as its API key. */
    static OpenAIClient openai(String prefix, String token, String requestId) {
        return OpenAIOkHttpClient.builder().baseUrl(stack().gatewayUrl() + prefix + "/v1").apiKey(token)
                .putHeader("X-Request-Id", requestId).maxRetries(0).timeout(Duration.ofSeconds(30)).build();
    }

    static HttpResponse<String> post(String path, String token, String requestId, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(stack().gatewayUrl() + path))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .header("X-Request-Id", requestId).POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A chat completion through another gateway (base URL), as alice, with a request id. */
    static HttpResponse<String> chatVia(String base, String requestId) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/llm/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + stack().userToken("alice"))
                .header("X-Request-Id", requestId).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static final String CHAT = "{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

    /**
     * The evidence row of one call (null if none), by the X-Request-Id the test sent (kept as the record's
     * correlation_id) or by the gateway's own request id.
     */
    static Map<String, Object> evidence(String requestId) throws Exception {
        try (Connection c = stack().db(); PreparedStatement ps = c.prepareStatement(
                "SELECT * FROM evidence_record WHERE request_id = ? OR correlation_id = ?")) {
            ps.setString(1, requestId);
            ps.setString(2, requestId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                Map<String, Object> row = new HashMap<>();
                ResultSetMetaData md = rs.getMetaData();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    Object v = rs.getObject(i);
                    if (v instanceof java.sql.Array a) {
                        v = List.of((Object[]) a.getArray());
                    }
                    row.put(md.getColumnName(i), v);
                }
                if (rs.next()) {
                    throw new AssertionError("more than one evidence record for " + requestId);
                }
                decrypt(row);
                return row;
            }
        }
    }

    /**
     * Payloads are stored encrypted: keeps the stored bytes under {@code *_sealed} and puts the plaintext
     * (opened with the suite's master key) under the column's own name.
     */
    static void decrypt(Map<String, Object> row) throws Exception {
        String keyId = (String) row.get("payload_key_id");
        if (keyId == null) {
            return;
        }
        byte[] wrapped;
        try (Connection c = stack().db(); PreparedStatement ps = c.prepareStatement(
                "SELECT wrapped FROM evidence_data_key WHERE id = ?")) {
            ps.setString(1, keyId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                wrapped = rs.getBytes(1);
            }
        }
        var master = attest.evidence.crypto.MasterKey.fromFile(stack().work.resolve("evidence-master.key"), false);
        for (String col : List.of("request_body", "response_body", "raw_response_body")) {
            byte[] sealed = (byte[]) row.get(col);
            row.put(col + "_sealed", sealed);
            if (sealed != null && wrapped != null) {
                row.put(col, attest.evidence.crypto.PayloadCipher.open(master, wrapped, keyId, sealed,
                        row.get("id") + ":" + (col.startsWith("raw") ? "raw" : col.substring(0, col.indexOf('_')))));
            }
        }
    }

    static long count(String sql) throws Exception {
        try (Connection c = stack().db(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Evidence events read so far from the topic, by request id (the consumer keeps reading). */
    static synchronized Map<String, JsonNode> events() {
        if (consumer == null) {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack().kafka.bootstrap());
            p.put(ConsumerConfig.GROUP_ID_CONFIG, "e2e-" + UUID.randomUUID());
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            consumer = new KafkaConsumer<>(p);
            consumer.subscribe(List.of("attest.evidence.v1"));
        }
        try {
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                JsonNode e = JSON.readTree(r.value());
                EVENTS_BY_REQUEST.put(e.path("record").path("request_id").asText(), e);
                if (e.path("record").hasNonNull("correlation_id")) {
                    EVENTS_BY_REQUEST.put(e.path("record").path("correlation_id").asText(), e);
                }
            }
        } catch (org.apache.kafka.common.errors.WakeupException | java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return Map.copyOf(EVENTS_BY_REQUEST);
    }

    /** No token or secret in any log line, and no stack trace from the gateway's own code. */
    static void assertLogsClean() {
        for (String line : stack().logs.lines()) {
            for (String secret : stack().secrets) {
                if (secret.length() >= 16) {
                    org.assertj.core.api.Assertions.assertThat(line).as("a log line").doesNotContain(secret)
                            .doesNotContain(secret.substring(secret.length() - 16));
                }
            }
            if (line.startsWith("attest.")) {
                org.assertj.core.api.Assertions.assertThat(line).as("an Attest log line").doesNotContain("\tat ");
            }
        }
    }
}
