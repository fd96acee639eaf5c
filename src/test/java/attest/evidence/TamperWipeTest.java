package attest.evidence;

import attest.evidence.chain.DatabaseSource;
import attest.evidence.chain.Verifier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.sql.Connection;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A chain of six entries, signed twice by its instance (start and stop at size 2, start and stop at size 6); then the
 * DBA wipes the store (every record and entry, and more) or truncates the chain to its first two entries, and hides
 * what it can of the rest. `attest verify --jdbc` is run without --from/--to, as an auditor would run it for "is the
 * store intact": wherever the checkpoints, the chain head or the instance registry still say the chain was longer,
 * it must not say VALID. Every test puts the store back (from copies the DBA's session keeps).
 */
class TamperWipeTest extends TamperBase {
    static final String CHAIN = "t-wipe";
    static final List<String> TABLES = List.of("evidence_record", "evidence_chain", "evidence_checkpoint",
            "evidence_chain_head", "evidence_instance");
    static boolean written;

    @BeforeEach
    void sixEntriesSignedTwice() throws Exception {
        if (written) {
            return;
        }
        completedCall(CHAIN, "alice-sub", "alice");
        anchor(CHAIN);
        EvidenceRecord more = RequestSealedOnceTest.opened(new byte[]{5});
        more.setInstanceId(CHAIN);
        writer.insert(more, null);
        RequestSealedOnceTest.answer(more, new byte[]{6});
        writer.update(more, null);
        EvidenceRecord last = RequestSealedOnceTest.opened(new byte[]{7});
        last.setInstanceId(CHAIN);
        writer.insert(last, null);
        RequestSealedOnceTest.answer(last, new byte[]{8});
        writer.update(last, null);
        anchor(CHAIN);
        assertThat(oneAsOwner("SELECT size FROM evidence_chain_head WHERE chain_id = '" + CHAIN + "'")).isEqualTo("6");
        written = true;
    }

    static final String TRUNCATE = "DELETE FROM evidence_record WHERE id IN (SELECT subject_id FROM evidence_chain "
            + "WHERE chain_id = '" + CHAIN + "' AND position > 2)";
    static final String TRUNCATE_ENTRIES = "DELETE FROM evidence_chain WHERE chain_id = '" + CHAIN + "' AND position > 2";
    static final String TRUNCATE_CHECKPOINTS = "DELETE FROM evidence_checkpoint WHERE chain_id = '" + CHAIN
            + "' AND size > 2";
    static final String HEAD_BACK = "UPDATE evidence_chain_head h SET size = 2, head = c.hash FROM evidence_chain c "
            + "WHERE h.chain_id = '" + CHAIN + "' AND c.chain_id = h.chain_id AND c.position = 2";

    static Stream<Arguments> wipes() {
        return Stream.of(
                Arguments.of("every record and chain entry deleted (checkpoints, head, registry kept)",
                        List.of("DELETE FROM evidence_record", "DELETE FROM evidence_chain")),
                Arguments.of("every record, entry and checkpoint deleted (head, registry kept)",
                        List.of("DELETE FROM evidence_record", "DELETE FROM evidence_chain",
                                "DELETE FROM evidence_checkpoint")),
                Arguments.of("every record, entry, checkpoint and head deleted (registry kept)",
                        List.of("DELETE FROM evidence_record", "DELETE FROM evidence_chain",
                                "DELETE FROM evidence_checkpoint", "DELETE FROM evidence_chain_head")),
                Arguments.of("chain truncated to 2 entries (checkpoints beyond kept)",
                        List.of(TRUNCATE, TRUNCATE_ENTRIES)),
                Arguments.of("chain truncated to 2 entries, checkpoints beyond deleted (head says 6)",
                        List.of(TRUNCATE, TRUNCATE_ENTRIES, TRUNCATE_CHECKPOINTS)),
                Arguments.of("chain truncated to 2 entries, checkpoints beyond deleted, head moved back to 2 "
                                + "(the registry still holds the second start and stop)",
                        List.of(TRUNCATE, TRUNCATE_ENTRIES, TRUNCATE_CHECKPOINTS, HEAD_BACK)),
                Arguments.of("chain truncated to 2 entries, the last stop's checkpoint deleted, head moved back "
                                + "(the registry's last row is a start)",
                        List.of(TRUNCATE, TRUNCATE_ENTRIES, TRUNCATE_CHECKPOINTS, HEAD_BACK,
                                "DELETE FROM evidence_instance WHERE chain_id = '" + CHAIN + "' AND at = (SELECT max(at) "
                                        + "FROM evidence_instance WHERE chain_id = '" + CHAIN + "')")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("wipes")
    void should_not_verify_a_wiped_or_truncated_store(String what, List<String> sql) throws Exception {
        assertCleanBefore();
        backup();
        dba(sql.toArray(String[]::new));
        try {
            assertNotValidAfter(what);
        } finally {
            restore();
        }
    }

    /** Everything of the chain gone, registry included: no trace is left in the store, and only a witness tells. */
    @Test
    void should_find_a_chain_wiped_without_a_trace_only_with_a_witness() throws Exception {
        assertCleanBefore();
        java.nio.file.Path witness = dir.resolve("witness.jsonl");
        try (Connection c = owner(); var st = c.createStatement(); var rs = st.executeQuery(
                "SELECT encode(canonical, 'base64'), encode(signature, 'hex'), key_id FROM evidence_checkpoint "
                        + "WHERE chain_id = '" + CHAIN + "' ORDER BY size DESC, signed_at DESC LIMIT 1")) {
            rs.next();
            java.nio.file.Files.writeString(witness, "{\"canonical\":\"" + rs.getString(1).replace("\n", "")
                    + "\",\"signature\":\"" + rs.getString(2) + "\",\"key_id\":\"" + rs.getString(3) + "\"}\n");
        }
        backup();
        dba(TABLES.stream().map(t -> "DELETE FROM " + t).toArray(String[]::new));
        try (Connection c = AuditorRecordCheckTest.auditor()) {
            Verifier.Report r = new Verifier(keys()).verify(new DatabaseSource(c), new Verifier.Options(null, null,
                    5_000, 10_000, attest.evidence.chain.Witness.read(witness)));
            assertThat(r.code()).as(r.summary() + " " + r.faults()).isEqualTo(Verifier.TAMPERED);
            assertThat(r.faults()).anyMatch(f -> f.contains(CHAIN) && f.contains("missing_chain"));
        } finally {
            restore();
        }
    }

    static void backup() throws Exception {
        dba(TABLES.stream().flatMap(t -> Stream.of("DROP TABLE IF EXISTS wipe_" + t,
                "CREATE TABLE wipe_" + t + " AS SELECT * FROM " + t)).toArray(String[]::new));
    }

    static void restore() throws Exception {
        dba(TABLES.stream().flatMap(t -> Stream.of("DELETE FROM " + t, "INSERT INTO " + t + " SELECT * FROM wipe_" + t,
                "DROP TABLE wipe_" + t)).toArray(String[]::new));
    }
}
