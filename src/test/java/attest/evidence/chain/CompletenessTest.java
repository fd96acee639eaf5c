package attest.evidence.chain;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Completeness against an in-memory chain with format-2 checkpoints every 10 s: a range covered at both ends
 * verifies; a trimmed head or tail, a missing heartbeat, a missing chain, a witnessed fork or rollback, a wrong
 * tree root, a missing final checkpoint and a forged receipt are each named by exactly one fault or gap.
 */
class CompletenessTest {
    static final String CHAIN = VerifierTest.CHAIN;
    static final Instant T0 = Instant.parse("2026-11-25T10:00:00Z");
    static final HexFormat HEX = HexFormat.of();
    List<Verifier.Row> rows;
    List<Verifier.StoredCheckpoint> checkpoints;
    List<String> knownChains;
    String registry;
    boolean whole;
    long startPosition;

    static Verifier.StoredCheckpoint cp(List<Verifier.Row> rows, long size, Instant at, byte[] previous, String state,
                                        List<String> chains, String root) throws Exception {
        KeyFileSigner by = VerifierTest.signer();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("format", 2L);
        body.put("type", "checkpoint");
        body.put("chain_id", CHAIN);
        body.put("size", size);
        body.put("head", HEX.formatHex(size == 0 ? ChainHash.GENESIS : rows.get((int) size - 1).hash()));
        List<byte[]> leaves = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            leaves.add(Merkle.leaf(rows.get(i).canonical()));
        }
        body.put("root", root != null ? root : HEX.formatHex(Merkle.root(leaves)));
        body.put("signed_at", at.toString());
        body.put("previous", previous == null ? null : HEX.formatHex(previous));
        body.put("key_id", by.keyId());
        body.put("algorithm", "Ed25519");
        body.put("heartbeat_ms", 10_000L);
        body.put("state", state);
        body.put("chains", chains);
        byte[] canonical = Canonical.of(body);
        return new Verifier.StoredCheckpoint(size, canonical, by.sign(canonical), by.keyId(), ChainHash.checkpoint(canonical));
    }

    /** Checkpoints every 10 s from T0: sizes 0, 2, 4, ... 20 (11 of them, the last at T0 + 100 s). */
    @BeforeEach
    void chain() throws Exception {
        rows = VerifierTest.build(20, "c");
        knownChains = List.of(CHAIN);
        checkpoints = new ArrayList<>();
        byte[] prev = null;
        for (int i = 0; i <= 10; i++) {
            Verifier.StoredCheckpoint c = cp(rows, 2L * i, T0.plusSeconds(10L * i), prev, "running", knownChains, null);
            checkpoints.add(c);
            prev = c.hash();
        }
        whole = true;
        startPosition = 1;
        registry = "start";
    }

    Verifier.Source source() {
        List<Verifier.Row> r = new ArrayList<>();
        for (Verifier.Row row : rows) {
            if (row.position() >= startPosition) {
                r.add(row);
            }
        }
        List<Verifier.StoredCheckpoint> c = List.copyOf(checkpoints);
        long first = startPosition;
        boolean w = whole;
        String reg = registry;
        Merkle.Frontier f = Merkle.Frontier.of(first - 1, Merkle.memory(leaves()));
        return new Verifier.Source() {
            public List<String> chains() {
                return List.of(CHAIN);
            }

            public Iterable<Verifier.Row> rows(String chainId) {
                return r;
            }

            public List<Verifier.StoredCheckpoint> checkpoints(String chainId) {
                return c;
            }

            public Map<String, String> payloadDigests(String recordId) {
                return Map.of();
            }

            public Verifier.Start start(String chainId) {
                return new Verifier.Start(first, first == 1 ? ChainHash.GENESIS : rows.get((int) first - 2).hash());
            }

            public Merkle.Frontier frontier(String chainId) {
                return f;
            }

            public boolean whole() {
                return w;
            }

            public String lastRegistryEvent(String chainId) {
                return reg;
            }
        };
    }

    List<byte[]> leaves() {
        List<byte[]> out = new ArrayList<>();
        rows.forEach(r -> out.add(Merkle.leaf(r.canonical())));
        return out;
    }

    Verifier.Report verify(Instant from, Instant to, Verifier.Witnessed... witnesses) throws Exception {
        Map<String, PublicKey> keys = Map.of(VerifierTest.signer().keyId(), VerifierTest.signer().publicKey());
        return new Verifier(keys).verify(source(), new Verifier.Options(from, to, 5_000, 10_000, List.of(witnesses)));
    }

    /** An export of [T0 + 25 s, T0 + 75 s): opening checkpoint at 20 s (size 4), closing at 80 s (size 16). */
    void exportOf25To75() {
        whole = false;
        startPosition = 5;
        rows = new ArrayList<>(rows.subList(0, 16));
        checkpoints = new ArrayList<>(checkpoints.subList(2, 9));
    }

    @Test
    void should_accept_a_range_covered_at_both_ends_by_signed_heartbeats() throws Exception {
        Verifier.Report db = verify(T0.plusSeconds(5), T0.plusSeconds(95));
        assertThat(db.summary()).as(db.toString()).isEqualTo("VALID");
        exportOf25To75();
        Verifier.Report export = verify(T0.plusSeconds(25), T0.plusSeconds(75));
        assertThat(export.summary()).as(export.toString()).isEqualTo("VALID");
        assertThat(export.notes()).anyMatch(n -> n.contains("positions 5 to 16 verified"));
    }

    @Test
    void should_report_a_trimmed_tail_as_incomplete_with_the_uncovered_span() throws Exception {
        exportOf25To75();
        checkpoints = new ArrayList<>(checkpoints.subList(0, 4)); // closing at 50 s, size 10
        rows = new ArrayList<>(rows.subList(0, 10));
        Verifier.Report r = verify(T0.plusSeconds(25), T0.plusSeconds(75));
        assertThat(r.summary()).isEqualTo("INCOMPLETE");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.faults()).isEmpty();
        assertThat(r.gaps()).singleElement().asString()
                .contains("uncovered_span 2026-11-25T10:00:50Z to 2026-11-25T10:01:15Z");
    }

    @Test
    void should_report_a_trimmed_head_as_incomplete_with_the_uncovered_span() throws Exception {
        exportOf25To75();
        startPosition = 9; // the opening checkpoint is now the one at 40 s
        checkpoints = new ArrayList<>(checkpoints.subList(2, checkpoints.size()));
        Verifier.Report r = verify(T0.plusSeconds(25), T0.plusSeconds(75));
        assertThat(r.summary()).as(r.toString()).isEqualTo("INCOMPLETE");
        assertThat(r.gaps()).singleElement().asString()
                .contains("uncovered_span 2026-11-25T10:00:25Z to 2026-11-25T10:00:40Z");
    }

    @Test
    void should_report_a_missing_heartbeat_inside_the_range() throws Exception {
        checkpoints.remove(5); // the one at 50 s: 40 s to 60 s is silent, beyond 10 s + 5 s
        byte[] prev = checkpoints.get(4).hash();
        for (int i = 5; i < checkpoints.size(); i++) { // re-signed so that the checkpoint chain itself holds
            Verifier.StoredCheckpoint c = cp(rows, checkpoints.get(i).size(), T0.plusSeconds(10L * (i + 1)), prev,
                    "running", knownChains, null);
            checkpoints.set(i, c);
            prev = c.hash();
        }
        Verifier.Report r = verify(T0.plusSeconds(5), T0.plusSeconds(95));
        assertThat(r.summary()).isEqualTo("INCOMPLETE");
        assertThat(r.gaps()).singleElement().asString()
                .contains("missing_heartbeat 2026-11-25T10:00:40Z to 2026-11-25T10:01:00Z");
        // outside the range asked for, the same silence is no finding
        assertThat(verify(T0.plusSeconds(65), T0.plusSeconds(95)).summary()).isEqualTo("VALID");
    }

    @Test
    void should_name_a_chain_that_signed_checkpoints_know_and_the_source_lacks() throws Exception {
        knownChains = List.of("gw-deleted", CHAIN);
        Verifier.StoredCheckpoint last = checkpoints.get(10);
        checkpoints.set(10, cp(rows, 20, T0.plusSeconds(100), checkpoints.get(9).hash(), "running", knownChains, null));
        Verifier.Report db = verify(null, null);
        assertThat(db.summary()).isEqualTo("TAMPERED");
        assertThat(db.faults()).singleElement().asString().contains("gw-deleted position 1: missing_chain");
        exportOf25To75();
        checkpoints.set(checkpoints.size() - 1, cp(rows, 16, T0.plusSeconds(80), checkpoints.get(checkpoints.size() - 2)
                .hash(), "running", knownChains, null));
        Verifier.Report export = verify(T0.plusSeconds(25), T0.plusSeconds(75));
        assertThat(export.summary()).isEqualTo("INCOMPLETE");
        assertThat(export.gaps()).singleElement().asString().contains("gw-deleted: missing_chain");
        assertThat(last).isNotNull();
    }

    static Verifier.Witnessed kafka(Verifier.StoredCheckpoint c) throws Exception {
        ObjectNode event = new ObjectMapper().createObjectNode();
        event.put("schema", "attest.checkpoint");
        event.set("checkpoint", new ObjectMapper().readTree(c.canonical()));
        event.put("signature", Base64.getEncoder().encodeToString(c.signature()));
        java.nio.file.Path f = java.nio.file.Files.createTempFile("witness", ".jsonl");
        java.nio.file.Files.writeString(f, "{\"schema\":\"attest.evidence\",\"x\":1.5}\n" + event + "\n");
        return Witness.read(f).get(0);
    }

    @Test
    void should_report_a_fork_against_a_witness() throws Exception {
        List<Verifier.Row> other = VerifierTest.build(20, "fork");
        Verifier.StoredCheckpoint forked = cp(other, 12, T0.plusSeconds(60), checkpoints.get(5).hash(), "running",
                knownChains, null);
        assertThat(verify(null, null, kafka(checkpoints.get(6))).summary()).isEqualTo("VALID");
        Verifier.Report r = verify(null, null, kafka(forked));
        assertThat(r.summary()).isEqualTo("TAMPERED");
        assertThat(r.faults()).singleElement().asString().contains("position 12: fork");
        exportOf25To75();
        assertThat(verify(T0.plusSeconds(25), T0.plusSeconds(75), kafka(forked)).faults()).singleElement().asString()
                .contains("position 12: fork");
    }

    @Test
    void should_report_a_rollback_against_a_witness() throws Exception {
        Verifier.StoredCheckpoint witnessed = checkpoints.get(10);
        rows = new ArrayList<>(rows.subList(0, 14)); // the tail deleted with its checkpoints
        checkpoints = new ArrayList<>(checkpoints.subList(0, 8));
        assertThat(verify(null, null).summary()).as("without a witness").isEqualTo("VALID");
        Verifier.Report r = verify(null, null, kafka(witnessed));
        assertThat(r.summary()).isEqualTo("TAMPERED");
        assertThat(r.faults()).singleElement().asString().contains("position 15: rollback");
    }

    @Test
    void should_report_a_signed_root_that_is_not_the_root_of_the_entries() throws Exception {
        checkpoints.set(10, cp(rows, 20, T0.plusSeconds(100), checkpoints.get(9).hash(), "running", knownChains,
                "00".repeat(32)));
        Verifier.Report r = verify(null, null);
        assertThat(r.faults()).singleElement().asString().contains("position 20: root_mismatch");
    }

    @Test
    void should_report_a_stopped_instance_whose_final_checkpoint_is_gone() throws Exception {
        registry = "stop";
        assertThat(verify(null, null).faults()).singleElement().asString().contains("position 21: truncated");
        checkpoints.add(cp(rows, 20, T0.plusSeconds(101), checkpoints.get(10).hash(), "stopped", knownChains, null));
        assertThat(verify(null, null).summary()).isEqualTo("VALID");
        // a stopped instance covers the rest of any range
        assertThat(verify(T0.plusSeconds(5), T0.plusSeconds(500)).summary()).isEqualTo("VALID");
    }

    static byte[] receipt(List<Verifier.Row> rows, long position, Verifier.StoredCheckpoint c, byte[] entry) {
        List<byte[]> leaves = new ArrayList<>();
        rows.forEach(r -> leaves.add(Merkle.leaf(r.canonical())));
        ObjectNode r = new ObjectMapper().createObjectNode();
        r.put("format", 1);
        r.put("type", "receipt");
        @SuppressWarnings("unchecked")
        Map<String, Object> e = (Map<String, Object>) Canonical.parse(rows.get((int) position - 1).canonical());
        r.put("record_id", (String) e.get("subject_id"));
        r.put("chain_id", CHAIN);
        r.put("position", position);
        r.put("entry", Base64.getEncoder().encodeToString(entry));
        r.put("leaf_index", position - 1);
        r.put("tree_size", c.size());
        var p = r.putArray("inclusion");
        Merkle.inclusion(position - 1, c.size(), Merkle.memory(leaves)).forEach(h -> p.add(HEX.formatHex(h)));
        ObjectNode cp = r.putObject("checkpoint");
        cp.put("size", c.size());
        cp.put("canonical", Base64.getEncoder().encodeToString(c.canonical()));
        cp.put("signature", HEX.formatHex(c.signature()));
        cp.put("key_id", c.keyId());
        cp.put("hash", HEX.formatHex(c.hash()));
        return r.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void should_verify_a_receipt_offline_and_refuse_a_forged_one() throws Exception {
        Map<String, PublicKey> keys = Map.of(VerifierTest.signer().keyId(), VerifierTest.signer().publicKey());
        Verifier.StoredCheckpoint c = checkpoints.get(10);
        byte[] good = receipt(rows, 7, c, rows.get(6).canonical());
        assertThat(Receipts.verify(good, keys).summary()).isEqualTo("VALID");
        byte[] forgedEntry = new String(rows.get(6).canonical(), StandardCharsets.UTF_8).replace("completed", "denied")
                .getBytes(StandardCharsets.UTF_8);
        Verifier.Report forged = Receipts.verify(receipt(rows, 7, c, forgedEntry), keys);
        assertThat(forged.summary()).isEqualTo("TAMPERED");
        assertThat(forged.faults()).singleElement().asString().contains("position 7: bad_inclusion_proof");
        String moved = new String(good, StandardCharsets.UTF_8).replace("\"leaf_index\":6", "\"leaf_index\":5");
        assertThat(Receipts.verify(moved.getBytes(StandardCharsets.UTF_8), keys).faults()).singleElement().asString()
                .contains("receipt_mismatch");
        assertThat(Receipts.verify(good, Map.of()).summary()).isEqualTo("UNVERIFIABLE");
    }
}
