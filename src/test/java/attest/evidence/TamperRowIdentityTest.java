package attest.evidence;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A DBA's changes that no single compared column shows: an empty string where the entry has none, and a second row
 * under a call's own id (primary key dropped). Each in its own chain; tests run in one database, so each restores
 * what it changed.
 */
class TamperRowIdentityTest extends TamperBase {

    EvidenceRecord refusal(String chain, String user) {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(chain), 100, 32,
                Duration.ZERO, Duration.ofSeconds(5));
        EvidenceRecord d = RequestSealedOnceTest.opened(new byte[]{9});
        d.setInstanceId(chain);
        d.setForwardedAt(null);
        d.setSubject(user + "-sub");
        d.setUsername(user);
        d.setUpstream("llm");
        d.setModel("gpt");
        d.setRuleId("pii");
        d.setReason("card number");
        d.setStatus(403);
        d.terminate(Outcome.DENIED, java.time.Instant.now());
        writer.insert(d, null);
        return d;
    }

    /** A call refused before routing (no usage) made to look like a call that reached an upstream. */
    @Test
    void usage_status_empty_string_adds_a_call_to_usage_reports() throws Exception {
        EvidenceRecord d = refusal("t-usage", "ursula");
        anchor("t-usage");
        assertCleanBefore();
        assertThat(oneAsOwner("SELECT count(*) FROM usage_records WHERE identity = 'ursula'")).isEqualTo("0");
        dba("UPDATE evidence_record SET usage_status = '' WHERE id = '" + d.getId() + "'");
        try {
            assertThat(oneAsOwner("SELECT count(*) FROM usage_records WHERE identity = 'ursula'"))
                    .as("the report lies: a call that reached an upstream").isEqualTo("1");
            assertNotValidAfter("usage_status NULL -> '' on a refusal");
        } finally {
            dba("UPDATE evidence_record SET usage_status = NULL WHERE id = '" + d.getId() + "'");
        }
    }

    /** The primary key dropped, and a second row under a call's own id: the reports count it twice / a denial. */
    @Test
    void duplicate_row_under_the_same_id() throws Exception {
        EvidenceRecord r = completedCall("t-dup-id", "dora-sub", "dora");
        anchor("t-dup-id");
        assertCleanBefore();
        dba("ALTER TABLE evidence_record DROP CONSTRAINT evidence_record_pkey CASCADE",
                "CREATE TEMP TABLE f AS SELECT * FROM evidence_record WHERE id = '" + r.getId() + "'",
                "UPDATE f SET outcome = 'denied', rule_id = 'pii', reason = 'forged'",
                "INSERT INTO evidence_record SELECT * FROM f");
        try {
            assertThat(one("SELECT count(*) FROM audit_denials WHERE identity = 'dora'"))
                    .as("the report lies: dora was denied").isEqualTo("1");
            assertNotValidAfter("primary key dropped, second row under the same id");
        } finally {
            dba("DELETE FROM evidence_record WHERE id = '" + r.getId() + "' AND outcome = 'denied'",
                    "ALTER TABLE evidence_record ADD PRIMARY KEY (id)");
        }
    }

    /**
     * A virtual key refused at the door for too many denials is named by its key_id (and its owner as subject), as its
     * calls are: the record as the gateway writes it verifies; a DBA who moves the lock-out onto another key, or
     * erases the key or the owner, is caught.
     */
    @Test
    void key_of_a_too_many_denials_refusal_changed_or_erased() throws Exception {
        String chain = "t-key-refusal";
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(chain), 100, 32,
                Duration.ZERO, Duration.ofSeconds(5));
        java.util.UUID key = java.util.UUID.randomUUID();
        java.time.Instant now = java.time.Instant.now();
        EvidenceRecord r = new EvidenceAssembler(chain).refusal(new attest.http.RefusedRequest(429, "too_many_denials",
                "too many calls refused by policy", "POST", "/llm/v1/chat/completions", "192.0.2.14", null, 2L, null,
                null, "kora-sub", key), now);
        writer.submitRefusal(r, EvidenceEvents.refusal(r, "attest.evidence.v1", now))
                .get(10, java.util.concurrent.TimeUnit.SECONDS);
        anchor(chain);
        assertCleanBefore();
        assertThat(oneAsOwner("SELECT key_id::text || ' ' || subject FROM evidence_record WHERE id = '" + r.getId()
                + "'")).isEqualTo(key + " kora-sub");
        for (String[] t : new String[][] {
                {"another key", "key_id = gen_random_uuid()"},
                {"the key erased", "key_id = NULL"},
                {"the owner erased", "subject = NULL"}}) {
            dba("UPDATE evidence_record SET " + t[1] + " WHERE id = '" + r.getId() + "'");
            try {
                assertNotValidAfter(t[0] + " on a key's too_many_denials refusal");
            } finally {
                dba("UPDATE evidence_record SET key_id = '" + key + "', subject = 'kora-sub' WHERE id = '" + r.getId()
                        + "'");
            }
        }
    }
}
