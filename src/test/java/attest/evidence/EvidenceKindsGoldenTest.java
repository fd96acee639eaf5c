package attest.evidence;

import attest.evidence.chain.ChainRecords;
import attest.evidence.chain.EvidenceChain;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every kind of evidence the gateway publishes or chains, pinned byte for byte from fixed inputs (record, ids,
 * clock, digest key): the Kafka payload of a call's terminal event for every outcome, of a refusal (a 401 at the
 * door, a verified caller refused for too many denials, a protocol refusal), of a refusal summary; and the canonical
 * chain entry of an open call, a terminal call, a refused call whose body was cut, a refusal (compact) and a refusal
 * summary. One line per kind in {@code golden/evidence-event-kinds.txt} and {@code golden/chain-entry-kinds.txt}:
 * restructuring how evidence is written must not move a byte of them. Event ids the code draws at random are
 * checked to be the event's own and then replaced by a fixed one. {@code -Dattest.golden.update=true} rewrites the
 * files (review the diff before committing it).
 */
class EvidenceKindsGoldenTest {
    static final String TOPIC = "attest.evidence.v1";
    static final Instant NOW = EvidenceEventGoldenTest.NOW;
    static final String FIXED_EVENT_ID = EvidenceEventGoldenTest.EVENT_ID.toString();
    /** Every outcome a record is made terminal with (evidence_unavailable is never stored: it is not here). */
    static final List<String> OUTCOMES = List.of("completed", "denied", "unauthenticated", "upstream_error", "timeout",
            "client_aborted", "masking_failed", "blocked", "aborted", "cancelled", "expired");

    @BeforeAll
    static void fixedDigestKey() {
        EvidenceEventGoldenTest.fixedDigestKey();
    }

    @AfterAll
    static void otherKey() {
        EvidenceEventGoldenTest.otherKey();
    }

    @Test
    void should_publish_the_pinned_payload_of_every_event_kind() throws IOException {
        List<String> lines = new ArrayList<>();
        for (String outcome : OUTCOMES) {
            EvidenceRecord r = EvidenceEventGoldenTest.completed();
            r.setOutcome(outcome);
            OutboxEvent e = EvidenceEvents.terminal(r, TOPIC, NOW, EvidenceEventGoldenTest.EVENT_ID);
            lines.add("call." + outcome + " " + payload(e, r));
        }
        EvidenceRecord unauthenticated = unauthenticated();
        lines.add("refusal.401 " + payload(EvidenceEvents.refusal(unauthenticated, TOPIC, NOW), unauthenticated));
        EvidenceRecord denials = tooManyDenials();
        lines.add("refusal.429-subject " + payload(EvidenceEvents.refusal(denials, TOPIC, NOW), denials));
        EvidenceRecord keyDenials = keyTooManyDenials();
        lines.add("refusal.429-key " + payload(EvidenceEvents.refusal(keyDenials, TOPIC, NOW), keyDenials));
        EvidenceRecord protocol = protocolRefusal();
        lines.add("refusal.400 " + payload(EvidenceEvents.refusal(protocol, TOPIC, NOW), protocol));
        RefusalSummary summary = summary();
        OutboxEvent se = summary.event(TOPIC, NOW);
        assertThat(se.getEventKey()).isEqualTo(summary.id().toString());
        lines.add("refusal.summary " + normalized(se));
        assertPinned("evidence-event-kinds.txt", lines);
    }

    @Test
    void should_publish_the_event_of_the_record_as_terminate_leaves_it() {
        for (String outcome : OUTCOMES) {
            EvidenceRecord r = EvidenceEventGoldenTest.completed();
            r.setState(EvidenceRecord.OPEN);
            r.setOutcome(null);
            r.setCompletedAt(null);
            r.setDurationMs(null);
            Instant end = Instant.parse("2026-11-29T10:15:30.5Z");
            OutboxEvent e = EvidenceEvents.terminate(r, Outcome.of(outcome), end, TOPIC, NOW);
            assertThat(r.getState()).isEqualTo(EvidenceRecord.TERMINAL);
            assertThat(r.getOutcome()).isEqualTo(outcome);
            assertThat(r.getCompletedAt()).isEqualTo(end);
            assertThat(r.getDurationMs()).isEqualTo(1499L);
            assertThat(payload(e, r)).isEqualTo(EvidenceEvents.terminal(r, TOPIC, NOW, EvidenceEventGoldenTest.EVENT_ID)
                    .getPayload());
        }
    }

    @Test
    void should_chain_the_pinned_canonical_entry_of_every_kind() throws IOException {
        Instant at = Instant.parse("2026-11-29T10:15:31.5Z");
        List<String> lines = new ArrayList<>();
        EvidenceRecord open = EvidenceEventGoldenTest.completed();
        open.setState(EvidenceRecord.OPEN);
        open.setOutcome(null);
        lines.add("call.open " + chained(ChainRecords.call(open, at)));
        lines.add("call.terminal " + chained(ChainRecords.call(EvidenceEventGoldenTest.completed(), at)));
        EvidenceRecord cut = EvidenceEventGoldenTest.refused();
        cut.setRequestTruncated(true);
        cut.setRequestStoredSize(4096L);
        cut.setRequestStoredSha256("e".repeat(64));
        cut.setOutcome("denied");
        lines.add("call.terminal-truncated " + chained(ChainRecords.call(cut, at)));
        lines.add("refusal.401 " + chained(EvidenceWriter.compact(ChainRecords.call(unauthenticated(), at))));
        lines.add("refusal.429-subject " + chained(EvidenceWriter.compact(ChainRecords.call(tooManyDenials(), at))));
        lines.add("refusal.429-key " + chained(EvidenceWriter.compact(ChainRecords.call(keyTooManyDenials(), at))));
        lines.add("refusal.400 " + chained(EvidenceWriter.compact(ChainRecords.call(protocolRefusal(), at))));
        RefusalSummary summary = summary();
        lines.add("refusal.summary " + chained(new EvidenceChain.Entry(RefusalSummary.KIND, summary.id(), at,
                summary.chainBody())));
        assertPinned("chain-entry-kinds.txt", lines);
    }

    /** A request without a valid token, refused at the door (the assembler's refusal, its drawn ids fixed). */
    static EvidenceRecord unauthenticated() {
        EvidenceRecord r = new EvidenceAssembler("gw-1").refusal(new attest.http.RefusedRequest(401, "invalid_token",
                "no valid token", "POST", "/llm/v1/chat/completions?x=1", "10.0.0.9", null, 1234L, "f".repeat(64),
                "expired"), NOW);
        return fixedIds(r, "5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c11", "req-0011");
    }

    /** A verified caller refused at the door for too many denials: its subject is kept. */
    static EvidenceRecord tooManyDenials() {
        EvidenceRecord r = new EvidenceAssembler("gw-1").refusal(new attest.http.RefusedRequest(429,
                "too_many_denials", "too many denials", "POST", "/llm/v1/chat/completions", "10.0.0.10",
                "client-req-12", null, null, null, "3f9a-subject"), NOW);
        return fixedIds(r, "5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c12", r.getRequestId());
    }

    /** A virtual key refused at the door for too many denials: named as its calls name it (owner, key_id). */
    static EvidenceRecord keyTooManyDenials() {
        EvidenceRecord r = new EvidenceAssembler("gw-1").refusal(new attest.http.RefusedRequest(429,
                "too_many_denials", "too many denials", "POST", "/llm/v1/chat/completions", "10.0.0.14",
                "client-req-14", null, null, null, "3f9a-owner", UUID.fromString("7c1e2d3f-4a5b-4c6d-8e7f-90a1b2c3d4e5")),
                NOW);
        return fixedIds(r, "5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c14", r.getRequestId());
    }

    /** Bad framing: a protocol refusal (400), denied by the ingress rule. */
    static EvidenceRecord protocolRefusal() {
        EvidenceRecord r = new EvidenceAssembler("gw-1").protocolRefusal(400, "conflicting framing", "POST",
                "/llm/v1/chat?q=secret", "10.0.0.11", NOW);
        return fixedIds(r, "5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c13", "req-0013");
    }

    static RefusalSummary summary() {
        TreeMap<Integer, Long> counted = new TreeMap<>();
        counted.put(401, 1234L);
        counted.put(400, 7L);
        return new RefusalSummary(UUID.fromString("5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c21"), "gw-1",
                new RefusalLimiter.Summary("10.0.0.9", Instant.parse("2026-11-29T10:15:00Z"),
                        Instant.parse("2026-11-29T10:16:00Z"), 10, counted), NOW);
    }

    private static EvidenceRecord fixedIds(EvidenceRecord r, String id, String requestId) {
        r.setId(UUID.fromString(id));
        r.setRequestId(requestId);
        return r;
    }

    private static String payload(OutboxEvent e, EvidenceRecord r) {
        assertThat(e.getTopic()).isEqualTo(TOPIC);
        assertThat(e.getEventKey()).isEqualTo(r.getId().toString());
        return normalized(e);
    }

    /** The payload, its event id (checked to be the row's own) replaced by the fixed one. */
    private static String normalized(OutboxEvent e) {
        assertThat(e.getCreatedAt()).isEqualTo(NOW);
        String id = "\"event_id\":\"" + e.getEventId() + "\"";
        assertThat(e.getPayload()).contains(id);
        return e.getPayload().replace(id, "\"event_id\":\"" + FIXED_EVENT_ID + "\"");
    }

    private static String chained(EvidenceChain.Entry e) {
        byte[] plain = EvidenceChain.canonical("gw-1", 7, e);
        byte[] rendered = EvidenceChain.canonical("gw-1", 7, e.rendered());
        assertThat(rendered).isEqualTo(plain);
        return new String(plain, StandardCharsets.UTF_8);
    }

    static void assertPinned(String file, List<String> lines) throws IOException {
        String actual = String.join("\n", lines) + "\n";
        if (Boolean.getBoolean("attest.golden.update")) {
            Files.writeString(Path.of("src/test/resources/golden", file), actual);
        }
        String expected;
        try (InputStream in = EvidenceKindsGoldenTest.class.getResourceAsStream("/golden/" + file)) {
            assertThat(in).as("golden file /golden/%s", file).isNotNull();
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(actual).isEqualTo(expected);
    }
}
