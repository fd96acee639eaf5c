package attest.evidence;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A service account's call has no username: the reports show its subject (coalesce(username, subject)). The DBA sets
 * username to '' (an empty string, which verify compares as null): audit_access / audit_denials / usage_records now
 * show the identity '' - the caller is hidden.
 */
class TamperEmptyUsernameTest extends TamperBase {
    @Test
    void empty_username_hides_the_identity_in_audit_access() throws Exception {
        EvidenceRecord r = completedCall("t-empty-user", "svc-payroll", null);
        anchor("t-empty-user");
        assertCleanBefore();
        assertThat(one("SELECT string_agg(identity, ',') FROM audit_access")).isEqualTo("svc-payroll");
        dba("UPDATE evidence_record SET username = '' WHERE id = '" + r.getId() + "'");
        assertThat(one("SELECT string_agg(coalesce(identity, '<null>'), ',') FROM audit_access"))
                .as("the report lies: the call's identity is now blank").isEqualTo("");
        assertNotValidAfter("username NULL -> ''");
    }
}
