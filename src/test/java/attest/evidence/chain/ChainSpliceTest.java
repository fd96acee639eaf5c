package attest.evidence.chain;

import attest.evidence.EvidenceRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The evidence writer renders a call's chain body on the call's thread and the chain places those bytes in the
 * entry ({@link EvidenceChain#canonical}). The entry must be byte for byte the one rendered whole
 * ({@code Canonical.of(envelope(...))}), whatever the chain id, kind, subject, time, position and body hold.
 */
class ChainSpliceTest {

    @Test
    void places_a_rendered_body_exactly_where_the_whole_rendering_puts_it() {
        Random random = new Random(9162);
        int compared = 0;
        for (int n = 0; n < 20_000; n++) {
            Object body = CanonicalDifferentialTest.value(random, 1);
            Map<String, Object> record = new LinkedHashMap<>();
            record.put(random.nextBoolean() ? "id" : CanonicalDifferentialTest.string(random), body);
            String chainId = random.nextInt(4) == 0 ? CanonicalDifferentialTest.string(random)
                    : UUID.randomUUID().toString();
            String kind = random.nextInt(4) == 0 ? CanonicalDifferentialTest.string(random) : "call.terminal";
            UUID subject = random.nextInt(5) == 0 ? null : new UUID(random.nextLong(), random.nextLong());
            Instant at = Instant.ofEpochSecond(random.nextInt(2_000_000_000), random.nextInt(1_000_000_000));
            long position = random.nextInt(3) == 0 ? (1L << 53) - 1 - random.nextInt(3) : 1 + random.nextInt(1 << 20);
            EvidenceChain.Entry plain = new EvidenceChain.Entry(kind, subject, at, record);
            byte[] whole;
            try {
                whole = Canonical.of(EvidenceChain.envelope(chainId, position, plain));
            } catch (IllegalArgumentException refused) {
                // what has no canonical form whole has none in pieces either: refused when rendered or placed
                assertThatThrownBy(() -> EvidenceChain.canonical(chainId, position, plain.rendered()))
                        .isInstanceOf(IllegalArgumentException.class);
                continue;
            }
            EvidenceChain.Entry rendered = plain.rendered();
            assertThat(rendered.canonicalRecord()).isNotNull();
            assertThat(EvidenceChain.canonical(chainId, position, rendered)).as("entry %s", n).isEqualTo(whole);
            assertThat(EvidenceChain.canonical(chainId, position, plain)).isEqualTo(whole);
            compared++;
        }
        assertThat(compared).as("the generator reaches entries that render").isGreaterThan(5_000);
    }

    @Test
    void places_a_call_records_body_the_same_at_another_time() {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.fromString("00000000-0000-4000-8000-000000000001"));
        r.setRequestId("req \"quoted\" \u2028 \ud83d\ude00");
        r.setState(EvidenceRecord.TERMINAL);
        r.setOutcome("completed");
        r.setRealmRoles(new String[]{"b", "a"});
        EvidenceChain.Entry early = ChainRecords.call(r, Instant.EPOCH).rendered();
        Instant commit = Instant.parse("2026-11-30T01:02:03.456789Z");
        byte[] placed = EvidenceChain.canonical("chain-1", 42, early.at(commit));
        assertThat(placed).isEqualTo(Canonical.of(EvidenceChain.envelope("chain-1", 42, ChainRecords.call(r, commit))));
        assertThat(new String(placed, java.nio.charset.StandardCharsets.UTF_8))
                .contains("\"recorded_at\":\"2026-11-30T01:02:03.456789Z\"").contains("\"kind\":\"call.terminal\"");
    }

    @Test
    void refuses_to_render_a_body_with_a_lone_surrogate() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("request_id", "bad \ud800 half");
        EvidenceChain.Entry e = new EvidenceChain.Entry("call.open", null, Instant.EPOCH, body);
        assertThatThrownBy(e::rendered).isInstanceOf(IllegalArgumentException.class);
    }
}
