package attest.evidence;

import attest.approval.Approval;
import attest.approval.ApprovalStore;
import attest.identity.Identity;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A held call approved by carol: the DBA changes who approved it, and the request's state, in the approval tables; or
 * inserts an approval of its own. The tests share one database: an approval left changed fails the next one's check.
 */
class TamperApprovalTest extends TamperBase {

    UUID heldAndApproved(String chain) throws Exception {
        return held(chain, "approve");
    }

    /**
     * A call held for approval by the real {@link ApprovalStore} and taken to an end as the routes take it: left
     * pending, approved by carol, denied by carol and closed (approval.denied), or expired and closed
     * (approval.expired); then its chain is signed.
     */
    UUID held(String chain, String end) throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(chain), 10, 4,
                java.time.Duration.ZERO, java.time.Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened("{}".getBytes(StandardCharsets.UTF_8));
        r.setInstanceId(chain);
        writer.insert(r, null);
        ApprovalStore store = new ApprovalStore(db.dataSource(), "t", chain, java.time.Clock.systemUTC());
        Instant now = Instant.now();
        Approval held = new Approval(UUID.randomUUID(), r.getId(), r.getRequestId(), Approval.PENDING, "bob-sub", "bob",
                "{}", "llm", "/v1/chat/completions", "POST", "/llm/v1/chat/completions", "{}",
                "{\"messages\":[]}".getBytes(StandardCharsets.UTF_8), "a".repeat(64), "{}", "review-all", "held",
                "approver", null, 1, "preview", now, now.plusSeconds(600), null, null, null, null, List.of());
        store.hold(held, 0);
        Identity carol = new Identity("carol-sub", "carol", Identity.USER, "portal", List.of("approver"), List.of(),
                "tok", "iss", now);
        ApprovalStore.Result closed = new ApprovalStore.Result(410, "[]", "{}".getBytes(StandardCharsets.UTF_8));
        switch (end) {
            case "approve" -> assertThat(store.decide(held.id(), carol, "approve", "ok", "web"))
                    .isEqualTo(ApprovalStore.DecideResult.APPROVED);
            case "deny" -> {
                assertThat(store.decide(held.id(), carol, "deny", "no", "web"))
                        .isEqualTo(ApprovalStore.DecideResult.DENIED);
                store.finish(held, Approval.DENIED, closed, java.time.Duration.ZERO, null, "denied",
                        new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode());
            }
            case "expire" -> {
                assertThat(store.expire(held.id())).isTrue();
                store.finish(held, Approval.EXPIRED, closed, java.time.Duration.ZERO, null, "expired",
                        new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode());
            }
            default -> {
                // left pending
            }
        }
        anchor(chain);
        return held.id();
    }

    static UUID approved;
    static UUID denied;
    static UUID expired;
    static UUID pending;

    @org.junit.jupiter.api.BeforeEach
    void fourApprovals() throws Exception {
        if (approved == null) {
            approved = held("t-appr-approved", "approve");
            denied = held("t-appr-denied", "deny");
            expired = held("t-appr-expired", "expire");
            pending = held("t-appr-pending", "pending");
        }
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> approvalTampers() {
        return java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of("denied approval turned approved", "denied",
                        "UPDATE approval_request SET state = 'approved' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("expired approval turned approved", "expired",
                        "UPDATE approval_request SET state = 'approved' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("pending approval turned approved", "pending",
                        "UPDATE approval_request SET state = 'approved', decided_at = now() WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("pending approval given a decision time", "pending",
                        "UPDATE approval_request SET decided_at = now() WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("approved call marked executed, never run", "approved",
                        "UPDATE approval_request SET state = 'executed', executed_at = now() WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("approved call put back to pending", "approved",
                        "UPDATE approval_request SET state = 'pending', decided_at = NULL WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("approved call given an execution time", "approved",
                        "UPDATE approval_request SET executed_at = now() WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("requester renamed", "approved",
                        "UPDATE approval_request SET requester_username = 'eve' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("requester removed", "denied",
                        "UPDATE approval_request SET requester_username = NULL WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("rule changed", "denied",
                        "UPDATE approval_request SET rule_id = 'low-risk' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("reason changed", "approved",
                        "UPDATE approval_request SET reason = 'routine' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("approvals required raised", "approved",
                        "UPDATE approval_request SET approvals_required = 2 WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("created_at moved", "approved",
                        "UPDATE approval_request SET created_at = created_at - interval '1 hour' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("decided_at moved (latency hidden)", "approved",
                        "UPDATE approval_request SET decided_at = created_at + interval '1 second' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("denial's decided_at moved", "denied",
                        "UPDATE approval_request SET decided_at = decided_at + interval '1 day' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("expiry decided before it was held", "expired",
                        "UPDATE approval_request SET decided_at = created_at - interval '1 day' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("request id changed", "approved",
                        "UPDATE approval_request SET request_id = 'other' WHERE id = '%s'"),
                org.junit.jupiter.params.provider.Arguments.of("flagged set", "approved",
                        "UPDATE approval_request SET flagged = 'digest_mismatch' WHERE id = '%s'"));
    }

    static UUID approval(String which) {
        return switch (which) {
            case "approved" -> approved;
            case "denied" -> denied;
            case "expired" -> expired;
            default -> pending;
        };
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("approvalTampers")
    void should_not_verify_an_approval_row_changed_behind_its_entries(String what, String which, String sql)
            throws Exception {
        assertCleanBefore();
        UUID id = approval(which);
        dba("DROP TABLE IF EXISTS approval_backup",
                "CREATE TABLE approval_backup AS SELECT * FROM approval_request WHERE id = '" + id + "'",
                sql.formatted(id));
        try {
            assertNotValidAfter(what);
        } finally {
            dba("DELETE FROM approval_request WHERE id = '" + id + "'",
                    "INSERT INTO approval_request SELECT * FROM approval_backup", "DROP TABLE approval_backup");
        }
    }

    @Test
    void should_name_the_changed_column_of_an_approval() throws Exception {
        dba("UPDATE approval_request SET state = 'approved' WHERE id = '" + denied + "'");
        try {
            assertThat(verifyAsAuditor().faults()).anyMatch(f -> f.contains("approval " + denied)
                    && f.contains("approval_mismatch") && f.contains("state"));
        } finally {
            dba("UPDATE approval_request SET state = 'denied' WHERE id = '" + denied + "'");
        }
    }

    @Test
    void approver_renamed_in_approval_decision() throws Exception {
        UUID id = heldAndApproved("t-approval-approver");
        assertCleanBefore();
        assertThat(one("SELECT decisions FROM audit_approvals WHERE approval_id = '" + id + "'"))
                .isEqualTo("carol:approve");
        dba("UPDATE approval_decision SET approver_username = 'dave', approver_subject = 'dave-sub' "
                + "WHERE approval_id = '" + id + "'");
        try {
            assertThat(one("SELECT decisions FROM audit_approvals WHERE approval_id = '" + id + "'"))
                    .as("the report lies: dave approved").isEqualTo("dave:approve");
            assertNotValidAfter("approval_decision approver changed");
        } finally {
            dba("UPDATE approval_decision SET approver_username = 'carol', approver_subject = 'carol-sub' "
                    + "WHERE approval_id = '" + id + "'");
        }
    }

    @Test
    void approval_state_and_decision_flipped() throws Exception {
        UUID id = heldAndApproved("t-approval-state");
        String decidedAt = oneAsOwner("SELECT decided_at::text FROM approval_request WHERE id = '" + id + "'");
        dba("UPDATE approval_decision SET decision = 'deny' WHERE approval_id = '" + id + "'",
                "UPDATE approval_request SET state = 'denied', requester_username = 'eve', "
                        + "decided_at = created_at + interval '1 second' WHERE id = '" + id + "'");
        try {
            assertThat(one("SELECT state || ' ' || requester || ' ' || decisions FROM audit_approvals "
                    + "WHERE approval_id = '" + id + "'")).as("the report lies").isEqualTo("denied eve carol:deny");
            assertNotValidAfter("approval_request state/requester/decided_at and approval_decision decision changed");
        } finally {
            dba("UPDATE approval_decision SET decision = 'approve' WHERE approval_id = '" + id + "'",
                    "UPDATE approval_request SET state = 'approved', requester_username = 'bob', decided_at = '"
                            + decidedAt + "' WHERE id = '" + id + "'");
        }
    }

    /** An approval no chain entry names, inserted behind the chain: audit_approvals shows a held call never held. */
    @Test
    void approval_request_fabricated() throws Exception {
        EvidenceRecord r = completedCall("t-appr-del", "ann-sub", "ann");
        dba("INSERT INTO approval_request (id, evidence_id, request_id, instance_id, state, requester_subject, "
                + "identity_json, upstream, target_path, method, request_uri, request_headers, request_body, "
                + "request_sha256, facts_json, rule_id, reason, approvals_required, preview, created_at, expires_at) "
                + "VALUES (gen_random_uuid(), '" + r.getId() + "', 'req', 't-appr-del', 'approved', 'ann-sub', '{}', "
                + "'llm', '/x', 'POST', '/x', '{}', '\\x00', 'aa', '{}', 'r', 'forged approval', 1, 'p', now(), now())");
        anchor("t-appr-del");
        try {
            assertThat(one("SELECT count(*) FROM audit_approvals WHERE reason = 'forged approval'"))
                    .as("the report lies: a held call and approval no chain entry names").isEqualTo("1");
            assertNotValidAfter("approval_request row fabricated with no approval.* entries");
        } finally {
            dba("DELETE FROM approval_request WHERE reason = 'forged approval'");
        }
    }
}
