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

    /**
     * Every column of evidence_record the terminal entry holds is compared, not only the fifteen of V25: each one,
     * changed alone behind the entry (as a DBA with the guards off can), is {@code record_mismatch} naming it. A
     * column added to the table later must be compared too, or be listed with its reason in
     * {@link Verifier.UNCOMPARED_COLUMNS}.
     */
    @Test
    void should_find_any_compared_column_changed_behind_its_entry() throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN + "-each"), 100,
                32, Duration.ZERO, Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{1, 2});
        // times as the system clock gives them, and one with nanoseconds the store rounds to microseconds
        r.setReceivedAt(java.time.Instant.now());
        r.setForwardedAt(java.time.Instant.parse("2026-11-30T19:00:00.123456789Z"));
        r.setUsername("alice");
        r.setRealmRoles(new String[]{"llm-user", "role with \"quotes\" and, comma"});
        r.setGroups(new String[]{"/finance"});
        r.setKeyId(java.util.UUID.randomUUID());
        r.setApprovalId(java.util.UUID.randomUUID());
        r.setRulesVersion("rules-v7");
        writer.insert(r, null);
        RequestSealedOnceTest.answer(r, new byte[]{3});
        r.setMaskingReport("{\"entities\":[{\"entity_type\":\"CARD\",\"action\":\"mask\",\"count\":2}]}");
        r.setMaskingExempt(false);
        r.setStreamTimings("[[0,10],[5,20]]");
        writer.update(r, null);

        DatabaseSource[] source = new DatabaseSource[1];
        Verifier.Report before = verifyAsAuditor(source);
        assertThat(before.faults()).as(before.summary()).noneMatch(f -> f.contains("record_mismatch"));

        Map<String, String> types = new java.util.LinkedHashMap<>();
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement("SELECT column_name, data_type "
                + "FROM information_schema.columns WHERE table_name = 'evidence_record' ORDER BY ordinal_position");
             var rs = ps.executeQuery()) {
            while (rs.next()) {
                types.put(rs.getString(1), rs.getString(2));
            }
        }
        java.util.Set<String> uncovered = new java.util.TreeSet<>(types.keySet());
        uncovered.remove("id");
        uncovered.removeAll(Verifier.RECORD_COLUMNS.keySet());
        uncovered.removeAll(Verifier.UNCOMPARED_COLUMNS);
        assertThat(uncovered).as("columns of evidence_record neither compared nor listed as uncompared").isEmpty();

        try (Connection c = owner(); Statement st = c.createStatement()) {
            st.execute("SET session_replication_role = replica"); // the append-only guards off, as a DBA can
            st.execute("CREATE TEMP TABLE saved AS SELECT * FROM evidence_record WHERE id = '" + r.getId() + "'");
            java.util.List<String> missed = new java.util.ArrayList<>();
            for (String col : Verifier.RECORD_COLUMNS.keySet()) {
                String changed = switch (col) {
                    case "state" -> "'open'";
                    case "outcome" -> "'denied'";
                    default -> switch (types.get(col)) {
                        case "text" -> "coalesce(" + col + ", '') || 'x'";
                        case "bigint", "integer" -> "coalesce(" + col + ", 0) + 1";
                        case "boolean" -> "NOT coalesce(" + col + ", false)";
                        case "timestamp with time zone" -> "coalesce(" + col + ", now()) + interval '1 millisecond'";
                        case "uuid" -> "gen_random_uuid()";
                        case "ARRAY" -> "coalesce(" + col + ", '{}') || 'x'::text";
                        default -> throw new AssertionError(col + ": no change for type " + types.get(col));
                    };
                };
                assertThat(st.executeUpdate("UPDATE evidence_record SET " + col + " = " + changed + " WHERE id = '"
                        + r.getId() + "'")).as(col).isEqualTo(1);
                Verifier.Report after = verifyAsAuditor(source);
                if (after.faults().stream().noneMatch(f -> f.contains("record_mismatch") && f.contains(col))) {
                    missed.add(col + " -> " + after.summary());
                }
                st.executeUpdate("UPDATE evidence_record e SET " + col + " = s." + col + " FROM saved s WHERE e.id = s.id");
            }
            assertThat(missed).as("columns changed behind the entry that verified").isEmpty();
        }
        Verifier.Report restored = verifyAsAuditor(source);
        assertThat(restored.faults()).as(restored.summary()).noneMatch(f -> f.contains("record_mismatch"));
    }

    /** A call's record deleted behind the chain (the guards off) is found: the reports no longer show that call. */
    @Test
    void should_find_a_record_deleted_behind_its_chain_entry() throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN + "-gone"), 100,
                32, Duration.ZERO, Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{1});
        writer.insert(r, null);
        RequestSealedOnceTest.answer(r, new byte[]{2});
        writer.update(r, null);
        DatabaseSource[] source = new DatabaseSource[1];
        assertThat(verifyAsAuditor(source).faults()).noneMatch(f -> f.contains("record_missing"));
        try (Connection c = owner(); Statement st = c.createStatement()) {
            st.execute("SET session_replication_role = replica");
            assertThat(st.executeUpdate("DELETE FROM evidence_record WHERE id = '" + r.getId() + "'")).isEqualTo(1);
        }
        Verifier.Report after = verifyAsAuditor(source);
        assertThat(after.code()).as(after.summary()).isEqualTo(Verifier.TAMPERED);
        assertThat(after.faults()).as(after.summary()).anyMatch(f -> f.contains("record_missing"));
    }

    /**
     * Rows that cannot be compared are never VALID: a DBA who changes a row and then revokes the auditors' grant on the
     * view, or renames it away, gets UNVERIFIABLE with a note, not a clean report.
     */
    @Test
    void should_not_report_valid_when_the_records_cannot_be_read() throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN + "-hidden"),
                100, 32, Duration.ZERO, Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{1});
        writer.insert(r, null);
        RequestSealedOnceTest.answer(r, new byte[]{2});
        writer.update(r, null);
        try (Connection c = owner(); Statement st = c.createStatement()) {
            st.execute("REVOKE SELECT ON audit_record_columns FROM " + Database.AUDITOR_LOGIN);
        }
        try {
            DatabaseSource[] source = new DatabaseSource[1];
            Verifier.Report revoked = verifyAsAuditor(source);
            assertThat(source[0].recordsUnreadable()).isTrue();
            assertThat(revoked.code()).as(revoked.summary()).isNotEqualTo(Verifier.VALID);
            assertThat(revoked.notes()).anyMatch(n -> n.contains("not checked against their chain entries"));
        } finally {
            try (Connection c = owner(); Statement st = c.createStatement()) {
                st.execute("GRANT SELECT ON audit_record_columns TO " + Database.AUDITOR_LOGIN);
            }
        }
        try (Connection c = owner(); Statement st = c.createStatement()) {
            st.execute("ALTER VIEW audit_record_columns RENAME TO audit_record_columns_away");
            try {
                Verifier.Report renamed;
                DatabaseSource asOwner;
                try (Connection o = owner()) {
                    asOwner = new DatabaseSource(o);
                    renamed = new Verifier(Map.of()).verify(asOwner);
                }
                assertThat(asOwner.recordsUnreadable()).as("the owner's read of a view renamed away").isTrue();
                assertThat(renamed.code()).as(renamed.summary()).isNotEqualTo(Verifier.VALID);
                assertThat(renamed.notes()).anyMatch(n -> n.contains("not checked against their chain entries"));
            } finally {
                st.execute("ALTER VIEW audit_record_columns_away RENAME TO audit_record_columns");
            }
        }
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
