package attest.evidence;

import attest.evidence.chain.Canonical;
import attest.evidence.chain.ChainRecords;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A call record's chain entry and its Kafka event agree on every member both carry, for every outcome, and differ
 * only as docs/evidence.md says ("Where evidence is written"). Both are read back as JSON, member by member, and held
 * to the list of differences written out here rather than read from {@link RecordView}: a change to one view alone
 * (a member added, dropped, moved or written otherwise in one of them) fails it.
 */
class RecordViewsAgreeTest {
    /** In the chain only. */
    static final Set<String> CHAIN_ONLY = Set.of("state", "identity.auth_error", "request.forwarded_sha256",
            "request.stored_size", "request.stored_sha256", "response.raw_sha256", "response.stream_timings",
            "masking.rule_set", "masking.exempt", "masking.report");
    /** In the event only: the keyed digest and the report read are held to the chain's plain ones below. */
    static final Set<String> EVENT_ONLY = Set.of("correlation_id", "response.raw_hmac_sha256", "masking");
    /** The chain's path of a member the event has at the top of its record. */
    static final Map<String, String> MOVED = Map.of("status", "response.status", "upstream_status",
            "response.upstream_status", "error_code", "response.error_code");
    /** Members the chain always has (null when none) and the event only when set. */
    static final Set<String> NULL_IN_CHAIN_ONLY = Set.of("approval_id");

    @BeforeAll
    static void key() {
        EvidenceEventGoldenTest.fixedDigestKey();
    }

    @AfterAll
    static void otherKey() {
        EvidenceEventGoldenTest.otherKey();
    }

    @Test
    void should_agree_on_every_member_of_a_full_record_for_every_outcome() {
        forEveryOutcome(RecordViewsAgreeTest::full, (outcome, event) -> {
            assertThat(event).as(outcome + ": every member set is in the event")
                    .containsKeys("correlation_id", "approval_id", "identity.key_id", "request.truncated",
                            "decision.rules_version", "usage.status", "usage.cached_tokens", "masking");
            assertThat(event.get("outcome")).isEqualTo(outcome.wire());
        });
    }

    @Test
    void should_agree_on_every_member_of_a_sparse_record_for_every_outcome() {
        forEveryOutcome(RecordViewsAgreeTest::sparse, (outcome, event) -> assertThat(event)
                .as(outcome + ": nothing unset is in the event").doesNotContainKeys("correlation_id", "approval_id",
                        "identity.key_id", "request.truncated", "decision.rules_version", "usage.status", "masking"));
    }

    /** Ends a new record with each outcome ({@link EvidenceEvents#terminate}) and holds its two views to each other. */
    private static void forEveryOutcome(java.util.function.Supplier<EvidenceRecord> record,
                                        java.util.function.BiConsumer<Outcome, Map<String, Object>> check) {
        for (Outcome outcome : Outcome.values()) {
            EvidenceRecord r = record.get();
            OutboxEvent e = EvidenceEvents.terminate(r, outcome, Instant.parse("2026-11-29T10:15:30.25Z"), "t",
                    EvidenceEventGoldenTest.NOW);
            check.accept(outcome, agree(r, e));
        }
    }

    @Test
    void should_agree_on_an_open_record_and_on_the_refusals_at_the_door() {
        EvidenceRecord open = full();
        open.setState(EvidenceRecord.OPEN);
        open.setOutcome(null);
        agree(open, EvidenceEvents.terminal(open, "t", EvidenceEventGoldenTest.NOW));
        for (EvidenceRecord refused : List.of(EvidenceKindsGoldenTest.unauthenticated(),
                EvidenceKindsGoldenTest.tooManyDenials(), EvidenceKindsGoldenTest.keyTooManyDenials(),
                EvidenceKindsGoldenTest.protocolRefusal(), EvidenceEventGoldenTest.refused())) {
            agree(refused, EvidenceEvents.terminal(refused, "t", EvidenceEventGoldenTest.NOW));
        }
    }

    /** What a refusal's event leaves out of the call's event even when set (it keeps the identity's subject and key). */
    static final Set<String> REFUSAL_LEAVES_OUT = Set.of("instance_id", "completed_at", "identity.username",
            "identity.principal_type", "identity.client_id", "identity.realm_roles", "identity.groups",
            "identity.token_id", "identity.issuer", "request.sha256", "decision.verdict", "decision.rule_id",
            "decision.reason", "decision.rules_version", "response.streamed", "response.size", "response.sha256",
            "response.truncated", "response.raw_size", "response.raw_hmac_sha256");

    @Test
    void should_publish_a_refusal_as_the_call_event_cut_to_what_a_refusal_has() {
        EvidenceRecord all = full();
        all.setMaskingReport("{\"findings\":[{\"type\":\"EMAIL\",\"count\":1}]}");
        for (EvidenceRecord r : List.of(all, sparse(), EvidenceKindsGoldenTest.unauthenticated(),
                EvidenceKindsGoldenTest.tooManyDenials(), EvidenceKindsGoldenTest.keyTooManyDenials(),
                EvidenceKindsGoldenTest.protocolRefusal())) {
            Map<String, Object> call = record(EvidenceEvents.terminal(r, "t", EvidenceEventGoldenTest.NOW));
            Map<String, Object> refusal = record(EvidenceEvents.refusal(r, "t", EvidenceEventGoldenTest.NOW));
            for (Map.Entry<String, Object> m : refusal.entrySet()) {
                assertThat(call).as("%s: the call's event has the refusal's %s", r.getId(), m.getKey())
                        .containsEntry(m.getKey(), m.getValue());
            }
            for (Map.Entry<String, Object> m : call.entrySet()) {
                boolean present = m.getValue() != null && !(m.getValue() instanceof List<?> l && l.isEmpty());
                assertThat(refusal.containsKey(m.getKey()))
                        .as("%s: the refusal's event has the call's %s (%s)", r.getId(), m.getKey(), m.getValue())
                        .isEqualTo(present && !REFUSAL_LEAVES_OUT.contains(m.getKey()));
            }
            List<String> order = List.copyOf(refusal.keySet());
            assertThat(order.stream().filter(k -> k.startsWith("identity.")).toList()).as("identity last")
                    .isEqualTo(order.subList(order.size() - order.stream().filter(k -> k.startsWith("identity."))
                            .toList().size(), order.size()));
        }
    }

    private static Map<String, Object> record(OutboxEvent e) {
        try {
            return flat(new com.fasterxml.jackson.databind.ObjectMapper().readValue(e.getPayload(), Map.class)
                    .get("record"), Set.of("masking"));
        } catch (com.fasterxml.jackson.core.JsonProcessingException x) {
            throw new AssertionError(x);
        }
    }

    /** Holds the record's chain body and its event's record to each other; returns the event's members by path. */
    private static Map<String, Object> agree(EvidenceRecord r, OutboxEvent e) {
        Map<String, Object> chain = flat(Canonical.parse(Canonical.of(ChainRecords.call(r, Instant.EPOCH).body())),
                Set.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> payload = (Map<String, Object>) Canonical.parse(
                e.getPayload().getBytes(StandardCharsets.UTF_8));
        Map<String, Object> event = flat(payload.get("record"), Set.of("masking"));
        Set<String> seen = new TreeSet<>();
        for (Map.Entry<String, Object> m : event.entrySet()) {
            String path = m.getKey();
            assertThat(CHAIN_ONLY).as("%s: the event has the chain's own %s", r.getOutcome(), path)
                    .doesNotContain(path);
            if (EVENT_ONLY.contains(path)) {
                continue;
            }
            String inChain = MOVED.getOrDefault(path, path);
            assertThat(chain).as("%s: the chain has the event's %s", r.getOutcome(), path).containsKey(inChain);
            assertThat(chain.get(inChain)).as("%s: %s", r.getOutcome(), path).isEqualTo(m.getValue());
            seen.add(inChain);
        }
        for (Map.Entry<String, Object> m : chain.entrySet()) {
            String path = m.getKey();
            assertThat(EVENT_ONLY).as("%s: the chain has the event's own %s", r.getOutcome(), path)
                    .doesNotContain(path);
            if (seen.contains(path) || CHAIN_ONLY.contains(path)) {
                continue;
            }
            assertThat(m.getValue() == null && NULL_IN_CHAIN_ONLY.contains(path))
                    .as("%s: the event lacks the chain's %s (%s)", r.getOutcome(), path, m.getValue()).isTrue();
        }
        // the members each renders its own way are still the same facts
        assertThat(event.get("response.raw_hmac_sha256"))
                .isEqualTo(EvidenceEvents.keyed((String) chain.get("response.raw_sha256")));
        assertThat(event.containsKey("correlation_id")).isEqualTo(r.getCorrelationId() != null);
        assertThat(event.get("correlation_id")).isEqualTo(r.getCorrelationId());
        if (chain.get("masking.rule_set") == null) {
            assertThat(event).doesNotContainKey("masking");
        } else {
            Object report;
            try {
                String text = (String) chain.get("masking.report");
                report = text.isBlank() ? null : Canonical.parse(text.getBytes(StandardCharsets.UTF_8));
            } catch (IllegalArgumentException unreadable) {
                report = "unreadable";
            }
            assertThat(event.get("masking")).isEqualTo(report);
        }
        return event;
    }

    /** A JSON value's members by dotted path; arrays and the named paths are leaves. */
    private static Map<String, Object> flat(Object v, Set<String> leaves) {
        Map<String, Object> out = new LinkedHashMap<>();
        flat("", v, leaves, out);
        return out;
    }

    private static void flat(String at, Object v, Set<String> leaves, Map<String, Object> out) {
        if (v instanceof Map<?, ?> m && !leaves.contains(at)) {
            m.forEach((k, x) -> flat(at.isEmpty() ? (String) k : at + "." + k, x, leaves, out));
        } else {
            out.put(at, v);
        }
    }

    /** Every member of a record set, each to a value no other member has. */
    static EvidenceRecord full() {
        EvidenceRecord r = EvidenceEventGoldenTest.completed();
        r.setUpstreamStatus(201);
        r.setErrorCode("some_code");
        r.setAuthError("no-error-really");
        r.setRequestTruncated(Boolean.TRUE);
        r.setRequestStoredSize(7L);
        r.setRequestStoredSha256("e".repeat(64));
        r.setResponseTruncated(Boolean.TRUE);
        r.setMaskingExempt(Boolean.TRUE);
        return r;
    }

    /** A record with only what every record has. */
    static EvidenceRecord sparse() {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.fromString("5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c77"));
        r.setRequestId("req-0077");
        r.setInstanceId("gw-1");
        r.setState(EvidenceRecord.OPEN);
        r.setReceivedAt(Instant.parse("2026-11-29T10:15:29Z"));
        return r;
    }
}
