package attest.ops;

import attest.evidence.EvidenceRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class CallMetricsTest {
    static EvidenceRecord record(String model, String outcome, boolean forwarded, String report) {
        EvidenceRecord r = new EvidenceRecord();
        r.setUpstream("llm");
        r.setModel(model);
        r.setOutcome(outcome);
        if (forwarded) {
            r.setUpstreamStatus(200);
            r.setForwardedAt(Instant.parse("2026-11-29T10:00:00Z"));
            r.setCompletedAt(Instant.parse("2026-11-29T10:00:01.500Z"));
        }
        r.setMaskingReport(report);
        return r;
    }

    @Test
    void should_count_calls_time_forwarded_ones_and_count_findings_by_type() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        CallMetrics metrics = new CallMetrics(registry);
        metrics.accept(record("gpt", "completed", true, "{\"rule_set\":\"d\",\"exempt\":false,\"entities\":["
                + "{\"entity_type\":\"CARD\",\"action\":\"partial\",\"count\":2,\"locations\":[]},"
                + "{\"entity_type\":\"EMAIL\",\"action\":\"redact\",\"count\":1,\"locations\":[]}]}"));
        metrics.accept(record("gpt", "denied", false, null));
        assertThat(registry.get("attest.calls").tag("model", "gpt").tag("outcome", "completed").counter().count())
                .isEqualTo(1);
        assertThat(registry.get("attest.calls").tag("outcome", "denied").counter().count()).isEqualTo(1);
        var timer = registry.get("attest.upstream.request").tag("upstream", "llm").tag("model", "gpt").timer();
        assertThat(timer.count()).as("a denied call never reached the upstream").isEqualTo(1);
        assertThat(timer.totalTime(java.util.concurrent.TimeUnit.MILLISECONDS)).isEqualTo(1500);
        assertThat(registry.get("attest.masking.findings").tag("type", "CARD").counter().count()).isEqualTo(2);
        assertThat(registry.get("attest.masking.findings").tag("type", "EMAIL").counter().count()).isEqualTo(1);
        // a second call's findings add to the same counters, by type and action
        metrics.accept(record("gpt", "completed", true, "{\"rule_set\":\"d\",\"exempt\":false,\"entities\":["
                + "{\"entity_type\":\"CARD\",\"action\":\"partial\",\"count\":3,\"locations\":[]},"
                + "{\"entity_type\":\"CARD\",\"action\":\"redact\",\"count\":1,\"locations\":[]}]}"));
        assertThat(registry.get("attest.masking.findings").tag("type", "CARD").tag("action", "partial").counter()
                .count()).isEqualTo(5);
        assertThat(registry.get("attest.masking.findings").tag("type", "CARD").tag("action", "redact").counter()
                .count()).isEqualTo(1);
    }

    @Test
    void should_cap_the_model_label_so_callers_cannot_grow_the_scrape() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        CallMetrics metrics = new CallMetrics(registry);
        for (int i = 0; i < 250; i++) {
            metrics.accept(record("model-" + i + "x".repeat(200), "completed", true, null));
        }
        // names no upstream ever served never get a label of their own
        metrics.accept(record("invented-" + java.util.UUID.randomUUID(), "denied", false, null));
        metrics.accept(record("model-0" + "x".repeat(200), "denied", false, null));
        metrics.accept(record(null, "unauthenticated", false, "not json at all, entity_type"));
        Set<String> models = registry.find("attest.calls").counters().stream().map(c -> c.getId().getTag("model"))
                .collect(Collectors.toSet());
        assertThat(models).hasSize(CallMetrics.MAX_MODELS + 2).contains("other", "none");
        assertThat(models).allMatch(m -> m.length() <= 64);
        assertThat(registry.get("attest.calls").tag("model", "other").tag("outcome", "completed").counter().count())
                .isEqualTo(150);
        assertThat(registry.get("attest.calls").tag("model", "other").tag("outcome", "denied").counter().count())
                .as("an invented name").isEqualTo(1);
        assertThat(registry.get("attest.calls").tag("model", "model-0" + "x".repeat(57)).tag("outcome", "denied")
                .counter().count()).as("a served name keeps its label").isEqualTo(1);
    }

    @Test
    void should_name_the_status_class_as_the_conventional_outcome() {
        assertThat(HttpServerMetrics.outcome(200)).isEqualTo("SUCCESS");
        assertThat(HttpServerMetrics.outcome(302)).isEqualTo("REDIRECTION");
        assertThat(HttpServerMetrics.outcome(403)).isEqualTo("CLIENT_ERROR");
        assertThat(HttpServerMetrics.outcome(503)).isEqualTo("SERVER_ERROR");
        assertThat(HttpServerMetrics.outcome(101)).isEqualTo("INFORMATIONAL");
        assertThat(HttpServerMetrics.outcome(999)).isEqualTo("UNKNOWN");
    }

    @Test
    void should_never_show_regulated_data_in_a_model_name_as_a_label() {
        // the scrape needs no token, and an upstream that ignores the model's name answers whatever the caller wrote
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        CallMetrics metrics = new CallMetrics(registry);
        for (String hostile : List.of("jane.doe@example.com", "model 4111 1111 1111 1111", "sk-proj-"
                + "a".repeat(20) + "T3BlbkFJ" + "b".repeat(20), "ssn 536-90-4399")) {
            metrics.accept(record(hostile, "completed", true, null));
        }
        metrics.accept(record("gpt-4o-mini-2024-07-18", "completed", true, null));
        Set<String> labels = registry.find("attest.calls").counters().stream().map(c -> c.getId().getTag("model"))
                .collect(Collectors.toSet());
        assertThat(labels).containsExactlyInAnyOrder("other", "gpt-4o-mini-2024-07-18");
        assertThat(registry.get("attest.calls").tag("model", "other").counter().count()).isEqualTo(4);
    }

    @Test
    void should_count_a_name_whose_check_fails_as_other() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        CallMetrics metrics = new CallMetrics(registry, name -> {
            throw new IllegalStateException("a detector failed");
        });
        metrics.accept(record("gpt", "completed", true, null));
        assertThat(registry.get("attest.calls").tag("model", "other").counter().count()).isEqualTo(1);
    }
}
