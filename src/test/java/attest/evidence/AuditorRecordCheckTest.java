package attest.evidence;

import attest.evidence.chain.DatabaseSource;
import attest.evidence.chain.Verifier;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A call's stored record changed behind its chain entry (a database administrator with the triggers off) is found by
 * {@code attest verify --jdbc} under the auditors' own read-only login, not only the owner's: that login reads the
 * record's columns through the view {@code audit_record_columns} (migration V25), and no table. Real PostgreSQL.
 */
class AuditorRecordCheckTest extends StoreStall {
    static final String CHAIN = "auditor-check";

    static Connection auditor() throws Exception {
        return DriverManager.getConnection(db.embedded().jdbcUrl(), Database.AUDITOR_LOGIN,
                Files.readString(Database.auditorPasswordFile(dir.resolve("data"))).strip());
    }

    static Verifier.Report verifyAsAuditor(DatabaseSource[] source) throws Exception {
        try (Connection c = auditor()) {
            source[0] = new DatabaseSource(c);
            return new Verifier(Map.of()).verify(source[0]);
        }
    }

    @Test
    void should_find_a_record_changed_behind_its_chain_entry_under_the_auditors_login() throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN), 100, 32,
                Duration.ZERO, Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{1, 2});
        r.setUsername("alice");
        writer.insert(r, null);
        RequestSealedOnceTest.answer(r, new byte[]{3});
        writer.update(r, null);

        DatabaseSource[] source = new DatabaseSource[1];
        Verifier.Report before = verifyAsAuditor(source);
        assertThat(source[0].recordsUnreadable()).as("the auditors' login reads the records' columns").isFalse();
        assertThat(before.faults()).as(before.summary()).noneMatch(f -> f.contains("record_mismatch"));

        try (Connection c = owner(); Statement st = c.createStatement()) {
            st.execute("SET session_replication_role = replica"); // the append-only guards off, as a DBA can
            try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_record SET username = 'mallory' "
                    + "WHERE id = ?")) {
                ps.setObject(1, r.getId());
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
        }
        Verifier.Report after = verifyAsAuditor(source);
        assertThat(after.code()).as(after.summary()).isEqualTo(Verifier.TAMPERED);
        assertThat(after.faults()).as(after.summary()).anyMatch(f -> f.contains("record_mismatch")
                && f.contains("username"));
    }

    @Test
    void should_let_the_auditors_login_read_no_payload_through_the_view() throws Exception {
        try (Connection c = auditor(); Statement st = c.createStatement();
             var rs = st.executeQuery("SELECT * FROM audit_record_columns LIMIT 0")) {
            var meta = rs.getMetaData();
            for (int i = 1; i <= meta.getColumnCount(); i++) {
                assertThat(meta.getColumnName(i)).doesNotContain("body").isNotEqualTo("payload_key_id");
            }
        }
        try (Connection c = auditor(); Statement st = c.createStatement()) {
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> st.executeQuery(
                    "SELECT request_body FROM evidence_record LIMIT 1"))).as("the table itself stays closed")
                    .hasMessageContaining("permission denied");
        }
    }
}
