package attest.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static attest.e2e.E2E.CHAT;
import static attest.e2e.E2E.count;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.events;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.post;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Failing closed when the evidence store is down, and losing nothing when Kafka is down. */
class OutageE2EIT {
    @BeforeAll
    static void up() {
        stack();
    }

    @AfterAll
    static void logsHoldNoSecrets() {
        E2E.assertLogsClean();
    }

    @Test
    void should_refuse_with_503_and_call_no_upstream_while_postgresql_is_down() throws Exception {
        String token = stack().userToken("alice");
        assertThat(post("/llm/v1/chat/completions", token, newRequestId(), CHAT).statusCode()).isEqualTo(200);
        stack().postgres.stop();
        try {
            int before = stack().demo.calls();
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> r = post("/llm/v1/chat/completions", token, newRequestId(), CHAT);
                assertThat(r.statusCode()).isEqualTo(503);
                assertThat(r.body()).contains("evidence_unavailable").doesNotContain("Exception");
            }
            assertThat(stack().demo.calls()).as("upstream calls while the store is down").isEqualTo(before);
        } finally {
            stack().postgres.start();
        }
        String rid = newRequestId();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() ->
                post("/llm/v1/chat/completions", token, rid + "-" + System.nanoTime(), CHAT).statusCode() == 200);
        assertThat(post("/llm/v1/chat/completions", token, rid, CHAT).statusCode()).isEqualTo(200);
        assertThat(evidence(rid).get("outcome")).isEqualTo("completed");
    }

    @Test
    void should_keep_serving_while_kafka_is_down_and_deliver_every_event_later() throws Exception {
        String token = stack().userToken("alice");
        stack().kafka.stop(true);
        List<String> ids = new ArrayList<>();
        try {
            // calls keep coming for longer than the relay needs to take every pooled connection if its batches
            // overlapped while Kafka is down (8 connections, a tick every 200 ms, each batch held until its delivery
            // times out after 10 s): every one is answered, so the relay never starves the evidence commits
            long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
            await().atMost(Duration.ofSeconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(150))
                    .until(() -> {
                        String rid = newRequestId();
                        ids.add(rid);
                        int status = post("/llm/v1/chat/completions", token, rid, CHAT).statusCode();
                        if (status != 200) {
                            throw new AssertionError("call " + ids.size() + " while Kafka is down answered " + status);
                        }
                        return System.nanoTime() > until;
                    });
            assertThat(ids).hasSizeGreaterThanOrEqualTo(10);
            // committed evidence, events waiting in the outbox
            for (String rid : ids) {
                assertThat(evidence(rid).get("outcome")).isEqualTo("completed");
            }
            assertThat(count("SELECT count(*) FROM evidence_outbox WHERE published_at IS NULL")).isGreaterThanOrEqualTo(10);
        } finally {
            stack().kafka.start();
        }
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                .untilAsserted(() -> assertThat(events().keySet()).containsAll(ids));
        // heartbeat checkpoints keep arriving even when idle (issue #11): the calls' events must all be out
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(count("SELECT count(*) FROM evidence_outbox WHERE published_at IS NULL "
                        + "AND event_key NOT LIKE 'checkpoint:%'")).isZero());

        // a consumer that de-duplicates on event_id sees exactly the committed events, no more, no fewer
        java.util.Properties p = new java.util.Properties();
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack().kafka.bootstrap());
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_ID_CONFIG, "dedupe-" + java.util.UUID.randomUUID());
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                org.apache.kafka.common.serialization.StringDeserializer.class.getName());
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                org.apache.kafka.common.serialization.StringDeserializer.class.getName());
        java.util.Set<String> seen = new java.util.HashSet<>();
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, String>(p)) {
            consumer.subscribe(List.of("attest.evidence.v1"));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                for (var r : consumer.poll(Duration.ofMillis(500))) {
                    seen.add(E2E.JSON.readTree(r.value()).path("event_id").asText());
                }
                assertThat(seen).isEqualTo(committedEventIds());
            });
        }
        assertThat(seen).containsAll(ids.stream().map(rid -> {
            try {
                return E2E.JSON.readTree(String.valueOf(one("SELECT payload FROM evidence_outbox o JOIN "
                        + "evidence_record r ON o.event_key = r.id::text WHERE r.correlation_id = '" + rid + "'")))
                        .path("event_id").asText();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).toList());
    }

    static java.util.Set<String> committedEventIds() throws Exception {
        java.util.Set<String> out = new java.util.HashSet<>();
        try (var c = stack().db(); var rs = c.createStatement().executeQuery(
                "SELECT event_id FROM evidence_outbox WHERE topic = 'attest.evidence.v1'")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    static Object one(String sql) throws Exception {
        try (var c = stack().db(); var rs = c.createStatement().executeQuery(sql)) {
            return rs.next() ? rs.getObject(1) : null;
        }
    }
}
