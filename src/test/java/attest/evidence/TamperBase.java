package attest.evidence;

import attest.evidence.chain.DatabaseSource;
import attest.evidence.chain.Verifier;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A DBA's tampering (guards off) against the reports, and what `attest verify --jdbc` says of it. Real PostgreSQL. */
abstract class TamperBase extends StoreStall {
    static attest.evidence.chain.KeyFileSigner signer;

    static synchronized attest.evidence.chain.KeyFileSigner signer() {
        if (signer == null) {
            signer = attest.evidence.chain.KeyFileSigner.load(dir.resolve("checkpoint-key"), true);
        }
        return signer;
    }

    static Map<String, java.security.PublicKey> keys() {
        return Map.of(signer().keyId(), signer().publicKey());
    }

    /** Signs the chain as its instance does: a start checkpoint at its current size, then the stopped one. */
    static void anchor(String chain) {
        attest.evidence.chain.Checkpoints cps = new attest.evidence.chain.Checkpoints(db.dataSource(), chain, signer(),
                1000, Duration.ofHours(1), "t", java.time.Clock.systemUTC());
        cps.start();
        cps.stop();
    }

    static Verifier.Report verifyAsAuditor() throws Exception {
        try (Connection c = AuditorRecordCheckTest.auditor()) {
            return new Verifier(keys()).verify(new DatabaseSource(c));
        }
    }

    static Verifier.Report verifyAsOwner() throws Exception {
        try (Connection c = owner()) {
            return new Verifier(keys()).verify(new DatabaseSource(c));
        }
    }

    /** Runs statements as the owner with the append-only guards off. */
    static void dba(String... sql) throws Exception {
        try (Connection c = owner(); Statement st = c.createStatement()) {
            st.execute("SET session_replication_role = replica");
            for (String s : sql) {
                st.execute(s);
            }
        }
    }

    static String one(String sql) throws Exception {
        try (Connection c = AuditorRecordCheckTest.auditor(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? String.valueOf(rs.getObject(1)) : "<no row>";
        }
    }

    static String oneAsOwner(String sql) throws Exception {
        try (Connection c = owner(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? String.valueOf(rs.getObject(1)) : "<no row>";
        }
    }

    EvidenceRecord completedCall(String chain, String subject, String username) throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(chain), 100, 32,
                Duration.ZERO, Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{1, 2});
        r.setInstanceId(chain);
        r.setSubject(subject);
        r.setUsername(username);
        r.setUpstream("llm");
        r.setModel("gpt");
        writer.insert(r, null);
        RequestSealedOnceTest.answer(r, new byte[]{3});
        writer.update(r, null);
        return r;
    }

    /** Both logins' verification: VALID before the tamper, and never VALID after it once a report lies. */
    static void assertCleanBefore() throws Exception {
        Verifier.Report a = verifyAsAuditor();
        Verifier.Report o = verifyAsOwner();
        assertThat(a.code()).as("auditor before: " + a.summary() + " " + a.faults()).isEqualTo(Verifier.VALID);
        assertThat(o.code()).as("owner before: " + o.summary()).isEqualTo(Verifier.VALID);
    }

    static void assertNotValidAfter(String what) throws Exception {
        Verifier.Report a = verifyAsAuditor();
        Verifier.Report o = verifyAsOwner();
        org.assertj.core.api.SoftAssertions s = new org.assertj.core.api.SoftAssertions();
        s.assertThat(a.code()).as("LEAK? auditor's verify after " + what + ": " + a.summary())
                .isNotEqualTo(Verifier.VALID);
        s.assertThat(o.code()).as("LEAK? owner's verify after " + what + ": " + o.summary())
                .isNotEqualTo(Verifier.VALID);
        s.assertAll();
    }
}
