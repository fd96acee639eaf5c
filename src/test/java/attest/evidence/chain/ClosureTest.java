package attest.evidence.chain;

import org.junit.jupiter.api.Test;

import java.security.PublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A survivor's {@code chain.closed} statement (docs/evidence-format.md section 4.5) against two in-memory chains: a
 * dead chain that stopped signing at T0 + 10 s with two unanchored entries, and a survivor that signs every 10 s
 * until T0 + 60 s. Signed, matching closure: the dead chain is covered to the end of the range. No closure, an
 * unsigned one, another head or a size the dead chain never reached: each named.
 */
class ClosureTest {
    static final String DEAD = "gw-dead";
    static final String SURVIVOR = "gw-survivor";
    static final Instant T0 = Instant.parse("2026-11-25T10:00:00Z");
    static final HexFormat HEX = HexFormat.of();

    record Chain(List<Verifier.Row> rows, List<Verifier.StoredCheckpoint> checkpoints) {
    }

    static Chain chain(String id, List<EvidenceChain.Entry> entries, long[] sizes, Instant[] times) throws Exception {
        List<Verifier.Row> rows = new ArrayList<>();
        List<byte[]> leaves = new ArrayList<>();
        byte[] prev = ChainHash.GENESIS;
        for (EvidenceChain.Entry e : entries) {
            byte[] c = Canonical.of(EvidenceChain.envelope(id, rows.size() + 1, e));
            prev = ChainHash.link(prev, c);
            rows.add(new Verifier.Row(rows.size() + 1, c, prev));
            leaves.add(Merkle.leaf(c));
        }
        List<Verifier.StoredCheckpoint> cps = new ArrayList<>();
        byte[] previous = null;
        KeyFileSigner by = VerifierTest.signer();
        for (int i = 0; i < sizes.length; i++) {
            long size = sizes[i];
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("format", 2L);
            body.put("type", "checkpoint");
            body.put("chain_id", id);
            body.put("size", size);
            body.put("head", HEX.formatHex(size == 0 ? ChainHash.GENESIS : rows.get((int) size - 1).hash()));
            body.put("root", HEX.formatHex(Merkle.root(leaves.subList(0, (int) size))));
            body.put("signed_at", times[i].toString());
            body.put("previous", previous == null ? null : HEX.formatHex(previous));
            body.put("key_id", by.keyId());
            body.put("algorithm", "Ed25519");
            body.put("heartbeat_ms", 10_000L);
            body.put("state", "running");
            body.put("chains", List.of(DEAD, SURVIVOR));
            byte[] canonical = Canonical.of(body);
            Verifier.StoredCheckpoint cp = new Verifier.StoredCheckpoint(size, canonical, by.sign(canonical), by.keyId(),
                    ChainHash.checkpoint(canonical));
            cps.add(cp);
            previous = cp.hash();
        }
        return new Chain(rows, cps);
    }

    static EvidenceChain.Entry call(String id, Instant at) {
        return new EvidenceChain.Entry("call.terminal", UUID.nameUUIDFromBytes(id.getBytes()), at,
                Map.of("id", id, "outcome", "completed"));
    }

    static EvidenceChain.Entry closed(long size, String head, Instant at) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("closed_chain_id", DEAD);
        body.put("size", size);
        body.put("head", head);
        body.put("lease_renewed_at", T0.plusSeconds(12).toString());
        body.put("lease_ms", 30_000L);
        body.put("taken_over", List.of());
        return new EvidenceChain.Entry("chain.closed", null, at, body);
    }

    /** The dead chain: 4 entries, checkpoints at T0 (size 0) and T0 + 10 s (size 2), then nothing. */
    static Chain dead() throws Exception {
        return chain(DEAD, List.of(call("d1", T0.plusSeconds(1)), call("d2", T0.plusSeconds(2)),
                call("d3", T0.plusSeconds(11)), call("d4", T0.plusSeconds(12))), new long[]{0, 2},
                new Instant[]{T0, T0.plusSeconds(10)});
    }

    /** The survivor: one call, then {@code last} at T0 + 45 s, checkpoints every 10 s to T0 + 60 s. */
    static Chain survivor(EvidenceChain.Entry last) throws Exception {
        return chain(SURVIVOR, List.of(call("s1", T0.plusSeconds(3)), last), new long[]{0, 1, 1, 1, 1, 2, 2},
                new Instant[]{T0, T0.plusSeconds(10), T0.plusSeconds(20), T0.plusSeconds(30), T0.plusSeconds(40),
                        T0.plusSeconds(50), T0.plusSeconds(60)});
    }

    static Verifier.Report verify(Chain dead, Chain survivor) throws Exception {
        Map<String, Chain> chains = Map.of(DEAD, dead, SURVIVOR, survivor);
        Verifier.Source source = new Verifier.Source() {
            public List<String> chains() {
                return List.of(DEAD, SURVIVOR);
            }

            public Iterable<Verifier.Row> rows(String chainId) {
                return chains.get(chainId).rows();
            }

            public List<Verifier.StoredCheckpoint> checkpoints(String chainId) {
                return chains.get(chainId).checkpoints();
            }

            public Map<String, String> payloadDigests(String recordId) {
                return Map.of();
            }
        };
        Map<String, PublicKey> keys = Map.of(VerifierTest.signer().keyId(), VerifierTest.signer().publicKey());
        return new Verifier(keys).verify(source, new Verifier.Options(T0, T0.plusSeconds(55), 5_000, 10_000, List.of()));
    }

    static String headOf(Chain c, int size) {
        return HEX.formatHex(c.rows().get(size - 1).hash());
    }

    @Test
    void should_cover_a_dead_chain_to_the_end_of_the_range_with_a_signed_closure_that_matches_it() throws Exception {
        Chain dead = dead();
        Verifier.Report r = verify(dead, survivor(closed(4, headOf(dead, 4), T0.plusSeconds(45))));
        assertThat(r.summary()).as(r.toString()).isEqualTo("VALID");
    }

    @Test
    void should_report_the_dead_chain_uncovered_without_a_closure() throws Exception {
        Verifier.Report r = verify(dead(), survivor(call("s2", T0.plusSeconds(45))));
        assertThat(r.summary()).isEqualTo("INCOMPLETE");
        assertThat(r.gaps()).containsExactly(DEAD + ": uncovered_span " + T0.plusSeconds(10) + " to " + T0.plusSeconds(55)
                + " (no signed checkpoint at or after the end of the range)");
    }

    @Test
    void should_not_count_a_closure_that_no_checkpoint_of_the_survivor_signs() throws Exception {
        Chain dead = dead();
        Chain survivor = survivor(closed(4, headOf(dead, 4), T0.plusSeconds(45)));
        Chain unsigned = new Chain(survivor.rows(), survivor.checkpoints().subList(0, 5)); // up to T0 + 40 s, size 1
        Verifier.Report r = verify(dead, unsigned);
        assertThat(r.summary()).isEqualTo("INCOMPLETE");
        assertThat(r.gaps()).anyMatch(g -> g.startsWith(DEAD + ": uncovered_span " + T0.plusSeconds(10)));
    }

    @Test
    void should_name_a_fork_when_the_closure_signs_another_head_than_the_dead_chain_has() throws Exception {
        Chain dead = dead();
        Verifier.Report r = verify(dead, survivor(closed(3, headOf(dead, 4), T0.plusSeconds(45))));
        assertThat(r.summary()).isEqualTo("TAMPERED");
        assertThat(r.faults()).containsExactly(DEAD + " position 3: fork (closed by " + SURVIVOR
                + " at its position 2 with another head for this size)");
    }

    @Test
    void should_name_a_truncation_when_the_closure_signs_entries_the_dead_chain_no_longer_has() throws Exception {
        Chain dead = dead();
        Chain cut = new Chain(dead.rows().subList(0, 3), dead.checkpoints());
        Verifier.Report r = verify(cut, survivor(closed(4, headOf(dead, 4), T0.plusSeconds(45))));
        assertThat(r.summary()).isEqualTo("TAMPERED");
        assertThat(r.faults()).containsExactly(DEAD + " position 4: truncated (closed by " + SURVIVOR
                + " at size 4, but the chain is shorter)");
    }

    @Test
    void should_not_let_a_closure_excuse_silence_before_the_checkpoint_it_follows() throws Exception {
        // the closure is dated before the dead chain's last checkpoint: it cannot cover what came after that
        Chain dead = dead();
        Verifier.Report r = verify(dead, survivor(closed(2, headOf(dead, 2), T0.plusSeconds(5))));
        assertThat(r.summary()).isEqualTo("INCOMPLETE");
    }
}
