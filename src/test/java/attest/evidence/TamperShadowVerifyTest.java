package attest.evidence;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The public views stay exactly as migrated: the DBA puts a frozen audit_record_columns in a schema named after the
 * auditors' login (first on its default search_path, "$user"), then changes evidence_record. The gateway's reports
 * (attest_app, /audit/*, BI) and the auditors' public views read the changed table; the auditors' verify reads the
 * frozen copy.
 */
class TamperShadowVerifyTest extends TamperBase {
    @Test
    void verify_reads_a_shadow_audit_record_columns() throws Exception {
        EvidenceRecord r = completedCall("t-shadow-verify", "alice-sub", "alice");
        anchor("t-shadow-verify");
        assertCleanBefore();
        dba("CREATE SCHEMA auditor_ro",
                "GRANT USAGE ON SCHEMA auditor_ro TO auditor_ro",
                "CREATE TABLE auditor_ro.audit_record_columns AS SELECT * FROM public.audit_record_columns",
                "GRANT SELECT ON auditor_ro.audit_record_columns TO auditor_ro",
                "UPDATE evidence_record SET username = 'mallory', outcome = 'denied', rule_id = 'pii' WHERE id = '"
                        + r.getId() + "'");
        assertThat(one("SELECT identity FROM public.audit_denials")).as("the report lies").isEqualTo("mallory");
        var a = verifyAsAuditor();
        var o = verifyAsOwner();
        assertThat(a.code()).as("LEAK? the auditors' own verify: " + a.summary())
                .isNotEqualTo(attest.evidence.chain.Verifier.VALID);
    }
}
