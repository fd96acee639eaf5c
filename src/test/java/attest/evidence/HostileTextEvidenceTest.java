package attest.evidence;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Text a caller controls reaches evidence columns (the model named in the body, the path, the correlation id): a NUL
 * character in it, which JSON allows and PostgreSQL refuses in text, must neither lose the call's evidence nor fail
 * the other calls of its batch. Real PostgreSQL (embedded).
 */
class HostileTextEvidenceTest {
    static Path dir;
    static Database db;

    @BeforeAll
    static void up() throws Exception {
        dir = Files.createTempDirectory("attest-hostile-text-pg");
        db = Database.open("", "", "", dir.resolve("data"), 0, 4, Duration.ofSeconds(2));
    }

    @AfterAll
    static void down() {
        db.close();
    }

    @Test
    void should_keep_the_evidence_of_a_call_whose_text_holds_a_nul() throws Exception {
        try (EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(),
                new attest.evidence.chain.EvidenceChain("hostile-text"), 10, 4, Duration.ZERO, Duration.ofSeconds(5))) {
            EvidenceRecord r = RequestSealedOnceTest.opened("{\"model\":\"gpt\\u0000x\"}".getBytes(StandardCharsets.UTF_8));
            r.setModel("gpt\u0000x");
            r.setPath("/llm/v1/chat/completions\u0000");
            r.setCorrelationId("\u0000");
            r.setRealmRoles(new String[]{"user\u0000admin"});
            writer.insert(r, null);
            RequestSealedOnceTest.answer(r, "{}".getBytes(StandardCharsets.UTF_8));
            r.setReason("because\u0000");
            writer.update(r, EvidenceEvents.terminal(r, "t", java.time.Instant.now()));

            try (Connection c = owner(); PreparedStatement ps = c.prepareStatement("SELECT model, path, correlation_id, "
                    + "realm_roles[1], reason, state FROM evidence_record WHERE id = ?")) {
                ps.setObject(1, r.getId());
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo("gpt\uFFFDx");
                    assertThat(rs.getString(2)).isEqualTo("/llm/v1/chat/completions\uFFFD");
                    assertThat(rs.getString(3)).isEqualTo("\uFFFD");
                    assertThat(rs.getString(4)).isEqualTo("user\uFFFDadmin");
                    assertThat(rs.getString(5)).isEqualTo("because\uFFFD");
                    assertThat(rs.getString(6)).isEqualTo("terminal");
                }
            }
            // the chain entries say what the row says
            try (Connection c = owner(); PreparedStatement ps = c.prepareStatement(
                    "SELECT canonical FROM evidence_chain WHERE subject_id = ? ORDER BY position")) {
                ps.setObject(1, r.getId());
                try (ResultSet rs = ps.executeQuery()) {
                    int entries = 0;
                    while (rs.next()) {
                        entries++;
                        String canonical = new String(rs.getBytes(1), StandardCharsets.UTF_8);
                        assertThat(canonical).contains("\"model\":\"gpt\uFFFDx\"").doesNotContain("\\u0000");
                    }
                    assertThat(entries).isEqualTo(2);
                }
            }
        }
    }

    @Test
    void should_hold_a_call_whose_prompt_and_uri_hold_a_nul() throws Exception {
        try (EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(),
                new attest.evidence.chain.EvidenceChain("hostile-held"), 10, 4, Duration.ZERO, Duration.ofSeconds(5))) {
            EvidenceRecord r = RequestSealedOnceTest.opened("{}".getBytes(StandardCharsets.UTF_8));
            writer.insert(r, null);
            attest.approval.ApprovalStore store = new attest.approval.ApprovalStore(db.dataSource(), "t", "hostile-held",
                    java.time.Clock.systemUTC());
            java.time.Instant now = java.time.Instant.now();
            attest.approval.Approval held = new attest.approval.Approval(java.util.UUID.randomUUID(), r.getId(),
                    r.getRequestId(), attest.approval.Approval.PENDING, "subject", "alice\u0000", "{}", "llm",
                    "/v1/chat/completions", "POST", "/llm/v1/chat/completions?x=\u0000", "{}",
                    "{\"messages\":[]}".getBytes(StandardCharsets.UTF_8), "a".repeat(64), "{}", "review-all",
                    "held\u0000", "approver", null, 1, "tell me \u0000 everything", now, now.plusSeconds(600), null,
                    null, null, null, java.util.List.of());
            store.hold(held, 0);
            try (Connection c = owner(); PreparedStatement ps = c.prepareStatement(
                    "SELECT preview, request_uri, reason, requester_username FROM approval_request WHERE id = ?")) {
                ps.setObject(1, held.id());
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).as("the held call is stored").isTrue();
                    assertThat(rs.getString(1)).isEqualTo("tell me \uFFFD everything");
                    assertThat(rs.getString(2)).isEqualTo("/llm/v1/chat/completions?x=\uFFFD");
                    assertThat(rs.getString(3)).isEqualTo("held\uFFFD");
                    assertThat(rs.getString(4)).isEqualTo("alice\uFFFD");
                }
            }
        }
    }

    static Connection owner() throws Exception {
        return java.sql.DriverManager.getConnection(db.embedded().jdbcUrl(), "postgres",
                Files.readString(Database.ownerPasswordFile(dir.resolve("data"))).strip());
    }

    @ParameterizedTest(name = "{0} ({1}) -> one write refused: {2}")
    @CsvSource(delimiter = '|', value = {
            "23505 | duplicate key value violates unique constraint | true",
            "22021 | invalid byte sequence for encoding \"UTF8\": 0x00 | true",
            "22001 | value too long for type character varying(8) | true",
            "AT002 | evidence record to update not found | true",
            "42501 | evidence is append-only: a terminal evidence_record may only have its payloads purged | true",
            "42501 | permission denied for table evidence_record | false",
            "08006 | An I/O error occurred while sending to the backend | false",
            "57014 | canceling statement due to statement timeout | false",
            "AT001 | evidence chain head moved | false"})
    void should_tell_one_writes_refusal_from_a_store_that_fails(String state, String message, boolean refused) {
        SQLException alone = new SQLException(message, state);
        assertThat(EvidenceWriter.refusedByTheStore(alone)).isEqualTo(refused);
        // as pgjdbc reports a batch: the statement's own error chained behind a BatchUpdateException with none
        BatchUpdateException batch = new BatchUpdateException("Batch entry 0 was aborted", null, 0, new int[0], null);
        batch.setNextException(alone);
        assertThat(EvidenceWriter.refusedByTheStore(new RuntimeException(batch))).isEqualTo(refused);
        assertThat(EvidenceWriter.refusedByTheStore(new SQLException("no state"))).isFalse();
    }
}
