package attest.e2e;

import attest.stack.Gateway;
import attest.stack.GatewayProcess;
import attest.stack.Nginx;
import attest.stack.PostgresServer;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two gateway replicas behind nginx (round robin), sharing PostgreSQL and Kafka (issue #14 §4): calls spread across
 * both; a global rate limit on a key counted once for both; a call held on one is decided on the other's control plane and its answer fetched through the balancer; one
 * replica is killed with kill -9 while calls hang on it, and the survivor closes them; every terminal record of both
 * reaches Kafka as one event; both chains verify.
 */
class ReplicasE2EIT {
    @Test
    void should_spread_calls_decide_held_calls_anywhere_close_a_killed_replica_and_keep_every_record_once()
            throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String a = "replica-a-" + suffix;
        String b = "replica-b-" + suffix;
        Map<String, String> sa = settings(a);
        Map<String, String> sb = settings(b);
        int portA = Integer.parseInt(sa.get("attest.data.port"));
        int portB = Integer.parseInt(sb.get("attest.data.port"));
        try (GatewayProcess replicaA = new GatewayProcess(stack().repo, stack().work.resolve(a + ".log"), sa);
             Gateway replicaB = new Gateway(sb).start();
             Nginx lb = new Nginx(stack().work.resolve("nginx-" + suffix), PostgresServer.freePort(),
                     List.of(portA, portB))) {
            // calls spread across both
            List<String> rids = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String rid = newRequestId();
                rids.add(rid);
                HttpResponse<String> r = E2E.chatVia(lb.url(), rid);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(r.headers().firstValue("Attest-Evidence-Id")).isPresent();
            }
            Map<String, Long> byInstance = servedBy(rids);
            assertThat(byInstance.keySet()).containsExactlyInAnyOrder(a, b);
            assertThat(byInstance.values()).allMatch(n -> n >= 3);

            // a global rate limit: N requests a minute on a key, counted in PostgreSQL, holds across both replicas
            // (round robin gives each replica 6 of the 12 racing calls: a per-replica count would let 2N through)
            int limit = 4;
            JsonNode created = Keys.createKey(stack().userToken("alice"), "{\"name\":\"replicas-rpm\",\"limits\":"
                    + "{\"requests_per_minute\":" + limit + "}}");
            String key = created.path("key").asText();
            UsageE2EIT.awaitRoomInMinute(20);
            List<java.util.concurrent.Callable<Integer>> racing = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                racing.add(() -> Keys.call(lb.url(), "/llm/v1/chat/completions", "x-api-key", key, UsageE2EIT.HELLO)
                        .statusCode());
            }
            List<Integer> statuses = UsageE2EIT.race(racing);
            assertThat(statuses.stream().filter(s -> s == 200).count()).as(statuses.toString()).isEqualTo(limit);
            assertThat(statuses.stream().filter(s -> s == 429).count()).as(statuses.toString()).isEqualTo(12 - limit);
            try (Connection c = stack().db(); var ps = c.prepareStatement("SELECT count(DISTINCT instance_id) FROM "
                    + "evidence_record WHERE key_id = ?::uuid AND status = 429")) {
                ps.setString(1, created.path("id").asText());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertThat(rs.getInt(1)).as("both replicas refused from the one shared count").isEqualTo(2);
                }
            }

            // a call held on one replica is decided on the other one's control plane
            HttpResponse<String> held = ApprovalE2EIT.async(lb.url(), stack().userToken("alice"), newRequestId(),
                    ApprovalE2EIT.chat("demo-model", ApprovalE2EIT.RISKY));
            assertThat(held.statusCode()).as(held.body()).isEqualTo(202);
            String approval = E2E.JSON.readTree(held.body()).path("approval_id").asText();
            String holder = DeadReplicaE2EIT.text("SELECT e.instance_id FROM evidence_record e WHERE e.approval_id = '"
                    + approval + "'");
            assertThat(holder).isIn(a, b);
            String other = holder.equals(a) ? sb.get("attest.control.port") : sa.get("attest.control.port");
            HttpResponse<String> decided = ApprovalE2EIT.decide("http://127.0.0.1:" + other, approval,
                    stack().userToken("bob"), "approve");
            assertThat(decided.statusCode()).as(decided.body()).isEqualTo(200);
            String result = lb.url() + "/approvals/" + approval + "/result";
            HttpResponse<String> answer = await().atMost(Duration.ofSeconds(30)).until(
                    () -> ApprovalE2EIT.get(result, stack().userToken("alice")), x -> x.statusCode() != 202);
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            assertThat(E2E.JSON.readTree(answer.body()).path("choices").isArray()).isTrue();
            assertThat(ApprovalE2EIT.decide("http://127.0.0.1:" + sa.get("attest.control.port"), approval,
                    stack().userToken("erin"), "approve").statusCode()).as("decided once, on either replica").isEqualTo(409);

            // streams hang on A; A is killed with kill -9; the survivor closes them
            for (int i = 0; i < 3; i++) {
                String rid = newRequestId();
                HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + portA + "/llm/v1/chat/completions"))
                        .header("Authorization", "Bearer " + stack().userToken("alice")).header("X-Request-Id", rid)
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"demo-hang-stream\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                                        + "\"content\":\"hello\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> E2E.count("SELECT count(*) FROM evidence_record WHERE "
                    + "instance_id = '" + a + "' AND state = 'open' AND forwarded_at IS NOT NULL") == 3);
            replicaA.kill();
            await().atMost(Duration.ofSeconds(40)).until(() -> DeadReplicaE2EIT.openCalls(a) == 0);
            assertThat(E2E.count("SELECT count(*) FROM evidence_record WHERE instance_id = '" + a + "' AND error_code = '"
                    + attest.evidence.DeadInstanceCloser.ERROR_CODE + "'")).isEqualTo(3);
            // the balancer goes on with the survivor alone
            for (int i = 0; i < 4; i++) {
                String rid = newRequestId();
                assertThat(E2E.chatVia(lb.url(), rid).statusCode()).isEqualTo(200);
                assertThat(servedBy(List.of(rid))).containsOnlyKeys(b);
            }

            // every terminal record of both replicas reaches Kafka as exactly one event (one event id; the relay
            // delivers at least once, and a consumer de-duplicates on event_id)
            Set<String> records = new HashSet<>();
            try (Connection c = stack().db(); ResultSet rs = c.createStatement().executeQuery("SELECT id FROM "
                    + "evidence_record WHERE instance_id IN ('" + a + "', '" + b + "') AND state = 'terminal'")) {
                while (rs.next()) {
                    records.add(rs.getString(1));
                }
            }
            assertThat(records).hasSizeGreaterThan(16);
            Map<String, Set<String>> eventIds = new HashMap<>();
            Map<String, Integer> deliveries = new HashMap<>();
            try (KafkaConsumer<String, String> consumer = consumer()) {
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10)).until(() -> {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        JsonNode e = E2E.JSON.readTree(r.value());
                        String id = e.path("record").path("id").asText(null);
                        if (id != null && e.path("event_type").asText("").startsWith("call.")) {
                            eventIds.computeIfAbsent(id, k -> new HashSet<>()).add(e.path("event_id").asText());
                            deliveries.merge(id, 1, Integer::sum);
                        }
                    }
                    return eventIds.keySet().containsAll(records);
                });
            }
            for (String id : records) {
                assertThat(eventIds.get(id)).as("the events of record " + id).hasSize(1);
            }
            long redelivered = records.stream().filter(id -> deliveries.get(id) > 1).count();
            System.out.println("[replicas] " + records.size() + " records on Kafka, " + redelivered
                    + " delivered more than once (same event id)");
            DeadReplicaE2EIT.verifies(a, b);
        }
    }

    static Map<String, String> settings(String id) {
        Map<String, String> s = DeadReplicaE2EIT.replica(id);
        s.put("attest.kafka.brokers", stack().kafka.bootstrap());
        s.put("attest.approval.window-ms", "6000");
        // virtual keys check their owners in Keycloak with the gateway's admin client
        s.put("attest.approval.admin.client-secret-env", "");
        s.put("attest.approval.admin.client-secret-file", stack().work.resolve("gateway-client.secret").toString());
        return s;
    }

    /** Which instance served each call, by the caller's request id (kept as the record's correlation id). */
    static Map<String, Long> servedBy(List<String> rids) throws Exception {
        Map<String, Long> out = new HashMap<>();
        try (Connection c = stack().db(); var ps = c.prepareStatement("SELECT instance_id, count(*) FROM evidence_record "
                + "WHERE correlation_id = ANY (?) GROUP BY instance_id")) {
            ps.setArray(1, c.createArrayOf("text", rids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getLong(2));
                }
            }
        }
        assertThat(out.values().stream().mapToLong(Long::longValue).sum()).as("one record per call").isEqualTo(rids.size());
        return out;
    }

    static KafkaConsumer<String, String> consumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack().kafka.bootstrap());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "replicas-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        KafkaConsumer<String, String> c = new KafkaConsumer<>(p);
        c.subscribe(List.of("attest.evidence.v1"));
        return c;
    }
}
