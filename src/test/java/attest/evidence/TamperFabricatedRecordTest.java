package attest.evidence;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A record no chain entry names (fabricated, or a real one duplicated under a new id) appears in the reports. */
class TamperFabricatedRecordTest extends TamperBase {
    @Test
    void fabricated_denial_appears_in_audit_denials() throws Exception {
        EvidenceRecord r = completedCall("t-fabricated", "alice-sub", "alice");
        anchor("t-fabricated");
        assertCleanBefore();
        assertThat(one("SELECT count(*) FROM audit_denials")).isEqualTo("0");
        dba("CREATE TEMP TABLE f AS SELECT * FROM evidence_record WHERE id = '" + r.getId() + "'",
                "UPDATE f SET id = gen_random_uuid(), request_id = 'forged', outcome = 'denied', "
                        + "username = 'bob', subject = 'bob-sub', rule_id = 'pii', reason = 'forged'",
                "INSERT INTO evidence_record SELECT * FROM f");
        assertThat(one("SELECT count(*) FROM audit_denials")).as("the report lies: a denial that never happened")
                .isEqualTo("1");
        assertNotValidAfter("fabricated evidence_record row with no chain entry");
    }
}
