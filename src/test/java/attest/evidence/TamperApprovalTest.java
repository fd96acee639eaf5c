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
        assertThat(store.decide(held.id(), carol, "approve", "ok", "web")).isEqualTo(ApprovalStore.DecideResult.APPROVED);
        anchor(chain);
        return held.id();
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
