package attest.evidence.chain;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
 * The verifier against an in-memory chain built exactly as the gateway builds it, and every kind of
 * tampering: edit, delete, edit and rehash, tail deletion, a rewritten chain, non-canonical bytes, an
 * altered checkpoint, a missing key.
 */
class VerifierTest {
    static final String CHAIN = "gw-test";
    static KeyFileSigner signer;
    List<Verifier.Row> rows;
    List<Verifier.StoredCheckpoint> checkpoints;

    static synchronized KeyFileSigner signer() throws Exception {
        if (signer == null) {
            signer = KeyFileSigner.load(Path.of(System.getProperty("java.io.tmpdir"), "attest-verifier-test-"
                    + UUID.randomUUID(), "key"), true);
        }
        return signer;
    }

    static byte[] entry(long position, String id) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", id);
        body.put("outcome", "completed");
        return Canonical.of(EvidenceChain.envelope(CHAIN, position, new EvidenceChain.Entry("call.terminal",
                UUID.nameUUIDFromBytes(id.getBytes()), Instant.parse("2026-11-25T10:00:00Z"), body)));
    }

    static List<Verifier.Row> build(int n, String salt) {
        List<Verifier.Row> out = new ArrayList<>();
        byte[] prev = ChainHash.GENESIS;
        for (int i = 1; i <= n; i++) {
            byte[] c = entry(i, salt + i);
            prev = ChainHash.link(prev, c);
            out.add(new Verifier.Row(i, c, prev));
        }
        return out;
    }

    static Verifier.StoredCheckpoint checkpoint(List<Verifier.Row> rows, long size, byte[] previous) throws Exception {
        return checkpoint(rows, size, previous, signer());
    }

    static Verifier.StoredCheckpoint checkpoint(List<Verifier.Row> rows, long size, byte[] previous,
                                                KeyFileSigner by) throws Exception {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("format", 1L);
        body.put("type", "checkpoint");
        body.put("chain_id", CHAIN);
        body.put("size", size);
        body.put("head", HexFormat.of().formatHex(rows.get((int) size - 1).hash()));
        body.put("signed_at", "2026-11-25T10:00:01Z");
        body.put("previous", previous == null ? null : HexFormat.of().formatHex(previous));
        body.put("key_id", by.keyId());
        body.put("algorithm", "Ed25519");
        byte[] canonical = Canonical.of(body);
        return new Verifier.StoredCheckpoint(size, canonical, by.sign(canonical), by.keyId(),
                ChainHash.checkpoint(canonical));
    }

    @BeforeEach
    void chain() throws Exception {
        rows = build(10, "r");
        checkpoints = new ArrayList<>();
        checkpoints.add(checkpoint(rows, 5, null));
        checkpoints.add(checkpoint(rows, 8, checkpoints.get(0).hash()));
    }

    Verifier.Report verify() throws Exception {
        return verify(Map.of(signer().keyId(), signer().publicKey()));
    }

    Verifier.Report verify(Map<String, PublicKey> keys) {
        return new Verifier(keys).verify(source(false));
    }

    /** The test's rows and checkpoints; {@code recordsUnreadable}: as a database whose records could not be read. */
    Verifier.Source source(boolean recordsUnreadable) {
        List<Verifier.Row> r = rows;
        List<Verifier.StoredCheckpoint> c = checkpoints;
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

            public boolean recordsUnreadable() {
                return recordsUnreadable;
            }
        };
    }

    @Test
    void should_accept_an_intact_chain_and_warn_about_its_unanchored_tail() throws Exception {
        Verifier.Report r = verify();
        assertThat(r.code()).isEqualTo(Verifier.VALID);
        assertThat(r.warnings()).singleElement().asString().contains("2 unanchored records after position 8");
    }

    /** A source whose stored records could not be read for the comparison: an intact chain, yet never VALID. */
    @Test
    void should_not_report_valid_when_the_stored_records_could_not_be_read() throws Exception {
        Verifier.Report report = new Verifier(Map.of(signer().keyId(), signer().publicKey())).verify(source(true));
        assertThat(report.faults()).isEmpty();
        assertThat(report.code()).as(report.summary()).isEqualTo(Verifier.UNVERIFIABLE);
        assertThat(report.notes()).anyMatch(n -> n.contains("not checked against their chain entries"));
    }

    @Test
    void should_detect_an_edited_record() throws Exception {
        byte[] edited = new String(rows.get(3).canonical(), StandardCharsets.UTF_8).replace("completed", "denied")
                .getBytes(StandardCharsets.UTF_8);
        rows.set(3, new Verifier.Row(4, edited, rows.get(3).hash()));
        assertFault(4, "hash_mismatch");
    }

    @Test
    void should_detect_a_deleted_record() throws Exception {
        rows.remove(6);
        assertFault(7, "missing_record");
    }

    @Test
    void should_detect_an_edited_and_rehashed_record_at_the_next_link() throws Exception {
        byte[] edited = new String(rows.get(3).canonical(), StandardCharsets.UTF_8).replace("completed", "denied")
                .getBytes(StandardCharsets.UTF_8);
        rows.set(3, new Verifier.Row(4, edited, ChainHash.link(rows.get(2).hash(), edited)));
        assertFault(5, "hash_mismatch");
    }

    @Test
    void should_detect_the_deletion_of_a_tail_that_a_checkpoint_covers() throws Exception {
        rows = new ArrayList<>(rows.subList(0, 6));
        assertFault(7, "truncated");
    }

    @Test
    void should_detect_a_rewritten_and_rehashed_chain_against_the_checkpoints() throws Exception {
        rows = build(10, "forged");
        assertFault(5, "checkpoint_mismatch");
    }

    @Test
    void should_detect_a_non_canonical_record() throws Exception {
        byte[] spaced = new String(rows.get(1).canonical(), StandardCharsets.UTF_8).replace(",", ", ")
                .getBytes(StandardCharsets.UTF_8);
        rows.set(1, new Verifier.Row(2, spaced, rows.get(1).hash()));
        assertFault(2, "not_canonical");
    }

    @Test
    void should_detect_an_altered_checkpoint() throws Exception {
        Verifier.StoredCheckpoint cp = checkpoints.get(1);
        byte[] altered = new String(cp.canonical(), StandardCharsets.UTF_8).replace("\"size\":8", "\"size\":9")
                .getBytes(StandardCharsets.UTF_8);
        checkpoints.set(1, new Verifier.StoredCheckpoint(9, altered, cp.signature(), cp.keyId(), cp.hash()));
        Verifier.Report r = verify();
        assertThat(r.code()).isEqualTo(Verifier.TAMPERED);
        assertThat(r.faults()).singleElement().asString().contains("checkpoint at size 9").contains("bad_signature");
    }

    @Test
    void should_detect_a_removed_checkpoint_in_the_checkpoint_chain() throws Exception {
        checkpoints.remove(0);
        Verifier.Report r = verify();
        assertThat(r.code()).isEqualTo(Verifier.TAMPERED);
        assertThat(r.faults()).singleElement().asString().contains("checkpoint_chain_broken");
    }

    @Test
    void should_verify_across_a_signing_key_rotation_with_both_public_keys() throws Exception {
        KeyFileSigner next = KeyFileSigner.load(Path.of(System.getProperty("java.io.tmpdir"), "attest-verifier-test-"
                + UUID.randomUUID(), "next.key"), true);
        checkpoints.add(checkpoint(rows, 10, checkpoints.get(1).hash(), next));
        Verifier.Report both = verify(Map.of(signer().keyId(), signer().publicKey(), next.keyId(), next.publicKey()));
        assertThat(both.code()).as(both.faults().toString()).isEqualTo(Verifier.VALID);
        assertThat(both.warnings()).isEmpty();
        assertThat(verify().code()).as("only the old key").isEqualTo(Verifier.UNVERIFIABLE);
    }

    @Test
    void should_be_unverifiable_without_the_key() {
        Verifier.Report r = verify(Map.of());
        assertThat(r.code()).isEqualTo(Verifier.UNVERIFIABLE);
    }

    @Test
    void should_detect_an_entry_moved_to_another_position() throws Exception {
        byte[] c = entry(9, "r4");
        rows.set(3, new Verifier.Row(4, c, ChainHash.link(rows.get(2).hash(), c)));
        assertFault(4, "position_mismatch");
    }

    /**
     * An export's source after position 1 with or without a Merkle frontier: the checkpoints, not the manifest, say
     * whether one is needed. {@code checkpoints}: format:size, in signing order. HOLE before: without a frontier (a
     * manifest that claims format 1, or none removed) a checkpoint below the anchor was skipped yet counted, and an
     * export trimmed at its head verified VALID.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            format 2 from position 5, no frontier                       | 5 | false | 2:4,2:8 | anchor_mismatch
            format 2 from position 7 (head trimmed), no frontier        | 7 | false | 2:4,2:8 | anchor_mismatch
            format 1 below the anchor, format 2 after, no frontier      | 7 | false | 1:4,2:8 | anchor_mismatch
            format 2 from position 7 (head trimmed), with its frontier  | 7 | true  | 2:4,2:8 | anchor_mismatch
            format 2 from position 5, with the frontier                 | 5 | true  | 2:4,2:8 | VALID
            format 2 from position 1, no frontier (nothing before it)   | 1 | false | 2:4,2:8 | VALID
            format 1 only from position 7, no frontier (an old export)  | 7 | false | 1:4,1:8 | VALID
            """)
    void should_require_a_frontier_where_the_checkpoints_sign_roots(String what, int first, boolean withFrontier,
                                                                    String signed, String expected) throws Exception {
        List<Verifier.Row> all = build(8, "e");
        List<Verifier.StoredCheckpoint> cps = new ArrayList<>();
        byte[] previous = null;
        int i = 0;
        for (String cp : signed.split(",")) {
            long size = Long.parseLong(cp.split(":")[1]);
            Verifier.StoredCheckpoint c = cp.startsWith("1:") ? checkpoint(all, size, previous)
                    : CompletenessTest.cp(all, size, Instant.parse("2026-11-25T10:00:10Z").plusSeconds(10L * i),
                    previous, "running", List.of(CHAIN), null);
            cps.add(c);
            previous = c.hash();
            i++;
        }
        List<byte[]> leaves = new ArrayList<>();
        all.forEach(r -> leaves.add(Merkle.leaf(r.canonical())));
        Merkle.Frontier tree = withFrontier ? Merkle.Frontier.of(first - 1, Merkle.memory(leaves)) : null;
        Verifier.Source export = new Verifier.Source() {
            public List<String> chains() {
                return List.of(CHAIN);
            }

            public Iterable<Verifier.Row> rows(String chainId) {
                return all.subList(first - 1, all.size());
            }

            public List<Verifier.StoredCheckpoint> checkpoints(String chainId) {
                return cps;
            }

            public Map<String, String> payloadDigests(String recordId) {
                return Map.of();
            }

            public Verifier.Start start(String chainId) {
                return new Verifier.Start(first, first == 1 ? ChainHash.GENESIS : all.get(first - 2).hash());
            }

            public Merkle.Frontier frontier(String chainId) {
                return tree != null ? tree : first == 1 ? new Merkle.Frontier() : null;
            }

            public boolean whole() {
                return false;
            }
        };
        Verifier.Report r = new Verifier(Map.of(signer().keyId(), signer().publicKey())).verify(export);
        if (expected.equals("VALID")) {
            assertThat(r.summary()).as(what + ": " + r).isEqualTo("VALID");
        } else {
            assertThat(r.code()).as(what).isEqualTo(Verifier.TAMPERED);
            assertThat(r.faults()).as(what).singleElement().asString().contains("position " + first + ":")
                    .contains(expected);
        }
    }

    void assertFault(long position, String kind) throws Exception {
        Verifier.Report r = verify();
        assertThat(r.code()).isEqualTo(Verifier.TAMPERED);
        assertThat(r.faults()).singleElement().asString().contains("position " + position + ":").contains(kind);
    }
}
