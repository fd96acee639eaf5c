package attest.evidence;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * audit_completeness reads evidence_chain_head.size and open records; the DBA makes it say the chain is complete. The
 * tests share one database: each puts back what it changed, so that the next finds a store that verifies.
 */
class TamperCompletenessTest extends TamperBase {
    @Test
    void open_call_closed_behind_the_chain() throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain("t-open"), 100, 32,
                Duration.ZERO, Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{1});
        r.setInstanceId("t-open");
        r.setUsername("olivia");
        writer.insert(r, null); // forwarded, never answered: only a call.open entry
        anchor("t-open");
        assertCleanBefore();
        assertThat(one("SELECT open_records FROM audit_completeness WHERE chain_id = 't-open'")).isEqualTo("1");
        dba("UPDATE evidence_record SET state = 'terminal', outcome = 'completed', status = 200, "
                + "completed_at = received_at + interval '1 second', duration_ms = 1000 WHERE id = '" + r.getId() + "'");
        try {
            assertThat(one("SELECT open_records FROM audit_completeness WHERE chain_id = 't-open'"))
                    .as("the report lies: no call in flight").isEqualTo("0");
            assertThat(one("SELECT sum(completed) FROM audit_access WHERE identity = 'olivia'"))
                    .as("the report lies: a completed call").isEqualTo("1");
            assertNotValidAfter("open record made terminal/completed without a call.terminal entry");
        } finally {
            dba("UPDATE evidence_record SET state = 'open', outcome = NULL, status = NULL, completed_at = NULL, "
                    + "duration_ms = NULL WHERE id = '" + r.getId() + "'");
        }
    }

    @Test
    void open_call_moved_to_another_instance() throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain("t-open2"), 100, 32,
                Duration.ZERO, Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{1});
        r.setInstanceId("t-open2");
        writer.insert(r, null);
        anchor("t-open2");
        dba("UPDATE evidence_record SET instance_id = 'elsewhere', masking_report = "
                + "'{\"entities\":[{\"entity_type\":\"CARD\",\"action\":\"mask\",\"count\":7}]}' WHERE id = '"
                + r.getId() + "'");
        try {
            assertThat(one("SELECT open_records FROM audit_completeness WHERE chain_id = 't-open2'"))
                    .as("the report lies: no call in flight").isEqualTo("0");
            assertThat(one("SELECT sum(count) FROM audit_redactions")).as("the report lies: 7 cards masked")
                    .isEqualTo("7");
            assertNotValidAfter("open record's instance_id / masking_report changed (only call.open entry)");
        } finally {
            dba("UPDATE evidence_record SET instance_id = 't-open2', masking_report = NULL WHERE id = '" + r.getId()
                    + "'");
        }
    }

    @Test
    void chain_head_size_hides_unanchored_entries() throws Exception {
        completedCall("t-head", "alice-sub", "alice");
        anchor("t-head"); // signed up to 2, then the instance starts again and appends 2 more, not yet signed
        new attest.evidence.chain.Checkpoints(db.dataSource(), "t-head", signer(), 1000, Duration.ofHours(1), "t",
                java.time.Clock.systemUTC()).start();
        EvidenceRecord more = RequestSealedOnceTest.opened(new byte[]{5});
        more.setInstanceId("t-head");
        writer.insert(more, null);
        RequestSealedOnceTest.answer(more, new byte[]{6});
        writer.update(more, null);
        assertThat(one("SELECT chain_size || '/' || unanchored_records FROM audit_completeness WHERE chain_id = 't-head'"))
                .isEqualTo("4/2");
        dba("UPDATE evidence_chain_head SET size = 2 WHERE chain_id = 't-head'");
        try {
            assertThat(one("SELECT chain_size || '/' || unanchored_records FROM audit_completeness "
                    + "WHERE chain_id = 't-head'")).as("the report lies: everything anchored").isEqualTo("2/0");
            assertNotValidAfter("evidence_chain_head.size lowered to the last checkpoint's size");
        } finally {
            dba("UPDATE evidence_chain_head SET size = 4 WHERE chain_id = 't-head'");
        }
    }

    @Test
    void checkpoint_signed_at_column_moved() throws Exception {
        completedCall("t-cp-time", "alice-sub", "alice");
        anchor("t-cp-time");
        String before = one("SELECT last_checkpoint_at FROM audit_completeness WHERE chain_id = 't-cp-time'");
        dba("UPDATE evidence_checkpoint SET signed_at = signed_at + interval '30 days' WHERE chain_id = 't-cp-time'");
        try {
            assertThat(one("SELECT last_checkpoint_at FROM audit_completeness WHERE chain_id = 't-cp-time'"))
                    .as("the report lies: signed a month later").isNotEqualTo(before);
            assertNotValidAfter("evidence_checkpoint.signed_at column moved (signed bytes intact)");
        } finally {
            dba("UPDATE evidence_checkpoint SET signed_at = signed_at - interval '30 days' "
                    + "WHERE chain_id = 't-cp-time'");
        }
    }
}
