package attest.e2e;

import attest.VerifyCommand;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.stream.Stream;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An outside attack on database-mode verification (docs/evidence.md "Who may change evidence", docs/security.md:
 * an operator with SQL "changes evidence after the fact (detected by the chain and signed checkpoints)"), written
 * without reading the verifier: a database administrator who disables the triggers changes one column of a
 * call's stored evidence (the row the reports, the payload and replay views and {@code audit_denials} read), and
 * the auditor runs {@code attest verify --jdbc} with the public key and the master key. The change must be named.
 * Each row is put back afterwards, so the suite's chain stays verifiable.
 */
class EvidenceRowTamperE2EIT {

    record Change(String table, String column, String value) {
        @Override
        public String toString() {
            return table + "." + column + " = " + value;
        }
    }

    static Stream<Change> changes() {
        return Stream.of(new Change("evidence_record", "username", "'mallory'"),
                new Change("evidence_record", "outcome", "'denied'"),
                new Change("evidence_record", "status", "403"),
                new Change("evidence_record", "decision", "'DENY'"),
                new Change("evidence_record", "rule_id", "'default-deny'"),
                new Change("evidence_record", "model", "'another-model'"),
                new Change("evidence_record", "path", "'/llm/v1/embeddings'"),
                new Change("evidence_record", "upstream", "'llm-oauth'"),
                new Change("evidence_record", "source_address", "'10.6.6.6'"),
                new Change("evidence_record", "request_sha256", "'" + "0".repeat(64) + "'"),
                new Change("evidence_record", "response_sha256", "'" + "0".repeat(64) + "'"),
                // columns the reports read beyond the first fifteen (audit_access, audit_denials, audit_redactions,
                // usage_records): compared since V28
                new Change("evidence_record", "masking_report", "'{\"entities\":[]}'"),
                new Change("evidence_record", "prompt_tokens", "1000000"),
                new Change("evidence_record", "reason", "'approved by policy'"),
                new Change("evidence_record", "received_at", "received_at - interval '1 hour'"),
                new Change("evidence_record", "duration_ms", "1"),
                new Change("evidence_record", "realm_roles", "'{attest-admin}'"),
                new Change("evidence_chain", "subject_id", "'00000000-0000-4000-8000-000000000bad'"),
                new Change("evidence_chain", "kind", "'call.open'"));
    }

    record Run(int code, String output) {
    }

    static Run verify() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[]{"--jdbc", stack().postgres.jdbcUrl(), "--user", "postgres",
                "--public-key", stack().work.resolve("evidence-signing.key.pub").toString(),
                "--master-key-file", stack().work.resolve("evidence-master.key").toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("changes")
    void should_name_a_call_whose_stored_evidence_was_changed_behind_its_chain_entry(Change change) throws Exception {
        String rid = E2E.newRequestId();
        assertThat(E2E.post("/llm/v1/chat/completions", stack().userToken("alice"), rid, E2E.CHAT).statusCode())
                .isEqualTo(200);
        String id = String.valueOf(E2E.evidence(rid).get("id"));
        Run before = verify();
        assertThat(before.code()).as(before.output()).isZero();
        String where = change.table().equals("evidence_record") ? "id = '" + id + "'"
                : "subject_id = '" + id + "' AND kind = 'call.terminal'";
        String original;
        try (Connection c = stack().db(); PreparedStatement ps = c.prepareStatement("SELECT quote_nullable("
                + change.column() + "::text) FROM " + change.table() + " WHERE " + where);
             ResultSet rs = ps.executeQuery()) {
            assertThat(rs.next()).isTrue();
            original = rs.getString(1);
        }
        String cast = change.column().equals("subject_id") ? "::uuid" : "";
        try {
            dba("UPDATE " + change.table() + " SET " + change.column() + " = " + change.value() + cast + " WHERE " + where);
            Run after = verify();
            assertThat(after.code()).as("attest verify --jdbc after %s: %s", change, after.output()).isEqualTo(1);
            assertThat(after.output()).contains("TAMPERED");
        } finally {
            String restore = change.table().equals("evidence_record") ? where
                    : "subject_id = " + change.value() + "::uuid AND chain_id = (SELECT chain_id FROM evidence_chain "
                    + "WHERE subject_id = " + change.value() + "::uuid LIMIT 1)";
            if (change.column().equals("kind")) {
                restore = "subject_id = '" + id + "' AND kind = 'call.open' AND convert_from(canonical, 'UTF8') LIKE "
                        + "'%\"kind\":\"call.terminal\"%'";
            }
            dba("UPDATE " + change.table() + " SET " + change.column() + " = " + original + cast + " WHERE " + restore);
        }
        assertThat(verify().code()).as("put back").isZero();
    }

    static void dba(String sql) throws Exception {
        try (Connection dba = DriverManager.getConnection(stack().postgres.jdbcUrl(), "postgres", "")) {
            dba.createStatement().execute("SET session_replication_role = replica");
            assertThat(dba.createStatement().executeUpdate(sql)).as(sql).isEqualTo(1);
        }
    }
}
