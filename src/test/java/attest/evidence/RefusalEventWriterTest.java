package attest.evidence;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link EvidenceEvents#refusal} writes a refusal's event with a generator; here, against the way it was built before
 * ({@link RefusalEventBefore}: the call's terminal event read back into a Jackson tree, cut, and written out again
 * without its nulls and empty values). Over generated records (every field null or set, odd text, every number, masking
 * reports of every shape, usage or none, a kept prefix or not), the same text for every record.
 */
class RefusalEventWriterTest {
    @Test
    void writes_the_text_the_tree_wrote_for_every_generated_record() {
        Random random = new Random(2027);
        for (int n = 0; n < 20_000; n++) {
            EvidenceRecord r = EvidenceEventsWriterTest.record(random);
            r.setRequestTruncated(random.nextInt(3) == 0 ? null : random.nextBoolean());
            UUID eventId = new UUID(random.nextLong(), random.nextLong());
            Instant now = Instant.ofEpochSecond(random.nextLong(0, 4_000_000_000L), random.nextInt(1_000_000_000));
            String expected;
            try {
                expected = RefusalEventBefore.payload(r, "t", now, eventId);
            } catch (IllegalArgumentException noReport) { // a rule set without a report: refused alike
                assertThatThrownBy(() -> EvidenceEvents.refusal(r, "t", now, eventId))
                        .isInstanceOf(IllegalArgumentException.class);
                continue;
            }
            OutboxEvent e = EvidenceEvents.refusal(r, "t", now, eventId);
            assertThat(e.getPayload()).as("record %d", n).isEqualTo(expected);
            assertThat(e.getEventKey()).isEqualTo(r.getId().toString());
            assertThat(e.getCreatedAt()).isEqualTo(now);
        }
    }
}
