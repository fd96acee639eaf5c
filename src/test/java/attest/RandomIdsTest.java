package attest;

import attest.evidence.EvidenceAssembler;
import attest.evidence.EvidenceEvents;
import attest.evidence.EvidenceRecord;
import attest.evidence.OutboxEvent;
import attest.evidence.Outcome;
import attest.http.InboundRequest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The generator itself (version 4, no repeats across threads, every random bit used) is tested through
 * {@code RequestIds.mint} in {@code RequestIdsTest}; here, that a call's record and its Kafka event get ids of it.
 */
class RandomIdsTest {
    @Test
    void should_give_each_calls_record_and_terminal_event_an_id_of_their_own() {
        EvidenceAssembler assembler = new EvidenceAssembler("gw-test");
        InboundRequest in = new InboundRequest("POST", "/v1/chat/completions", List.of(),
                "{}".getBytes(StandardCharsets.UTF_8), "10.0.0.1");
        Set<UUID> records = new java.util.HashSet<>();
        Set<UUID> events = new java.util.HashSet<>();
        Instant now = Instant.parse("2026-12-02T16:00:00Z");
        for (int i = 0; i < 10_000; i++) {
            EvidenceRecord r = assembler.begin(RandomIds.uuid().toString(), now, in);
            OutboxEvent e = EvidenceEvents.terminate(r, Outcome.COMPLETED, now, "attest.evidence", now);
            assertThat(r.getId().version()).isEqualTo(4);
            assertThat(e.getEventId().version()).isEqualTo(4);
            assertThat(e.getPayload()).contains("\"event_id\":\"" + e.getEventId() + "\"");
            records.add(r.getId());
            events.add(e.getEventId());
        }
        assertThat(records).hasSize(10_000);
        assertThat(events).hasSize(10_000).doesNotContainAnyElementsOf(records);
    }
}
