package attest.evidence;

import attest.evidence.chain.EvidenceChain;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A survivor's claim of a dead instance (docs/evidence-format.md section 4.5) is one transaction of
 * {@link EvidenceTransactions}: the lease claimed, the dead chain's head fenced and the {@code chain.closed} statement
 * appended to the survivor's chain commit together, or (the store failing at any statement, or at the commit) none of
 * them does and the claim is an {@link EvidenceUnavailableException}, as every other evidence write's failure is.
 */
class DeadInstanceCloserTest extends TamperBase {

    /** A survivor of an unbroken run and an instance silent for two hours (its head row made, as at its start). */
    private static DeadInstanceCloser survivorOf(String survivor, String dead, javax.sql.DataSource store)
            throws Exception {
        InstanceLease s = new InstanceLease(db.dataSource(), survivor, Duration.ofHours(1));
        InstanceLease d = new InstanceLease(db.dataSource(), dead, Duration.ofHours(1));
        s.renew();
        d.renew();
        try (Connection c = owner(); Statement st = c.createStatement()) {
            st.executeUpdate("UPDATE evidence_instance_lease SET since = now() - interval '3 hours' WHERE chain_id = '"
                    + survivor + "'");
            st.executeUpdate("UPDATE evidence_instance_lease SET renewed_at = now() - interval '2 hours', since = now() "
                    + "- interval '4 hours' WHERE chain_id = '" + dead + "'");
            st.executeUpdate("INSERT INTO evidence_chain_head (chain_id, size, head) VALUES ('" + dead
                    + "', 0, decode(repeat('00', 32), 'hex'))");
        }
        return new DeadInstanceCloser(store, s, new EvidenceChain(survivor), null, "t", Clock.systemUTC());
    }

    /** What a claim leaves behind: the lease's claimant, the head's fence, the statements and the outbox's rows. */
    private record State(String leaseClosedBy, String headClosedBy, String statements, String outbox) {
    }

    private static State state(String survivor, String dead) throws Exception {
        return new State(oneAsOwner("SELECT closed_by FROM evidence_instance_lease WHERE chain_id = '" + dead + "'"),
                oneAsOwner("SELECT closed_by FROM evidence_chain_head WHERE chain_id = '" + dead + "'"),
                oneAsOwner("SELECT count(*) FROM evidence_chain WHERE chain_id = '" + survivor
                        + "' AND kind = 'chain.closed'"),
                oneAsOwner("SELECT count(*) FROM evidence_outbox"));
    }

    @Test
    void should_claim_fence_and_state_a_dead_instance_in_one_commit() throws Exception {
        DeadInstanceCloser closer = survivorOf("h93-a", "h93-b", db.dataSource());
        String outbox = oneAsOwner("SELECT count(*) FROM evidence_outbox");

        assertThat(closer.claim()).contains("h93-b");

        assertThat(state("h93-a", "h93-b")).isEqualTo(new State("h93-a", "h93-a", "1", outbox));
        assertThat(oneAsOwner("SELECT convert_from(canonical, 'UTF8') FROM evidence_chain WHERE chain_id = 'h93-a' "
                + "AND kind = 'chain.closed'")).contains("\"closed_chain_id\":\"h93-b\"").contains("\"size\":0");
        assertThat(closer.claim()).as("claimed once").isEmpty();
        try (Connection c = owner()) {
            assertContiguous(c, "h93-a");
        }
    }

    @Test
    void should_leave_nothing_claimed_when_the_store_fails_at_the_commit_or_at_any_statement() throws Exception {
        EvidenceTransactionFailureHostileTest.FailingStore fs =
                new EvidenceTransactionFailureHostileTest.FailingStore(db.dataSource());
        DeadInstanceCloser closer = survivorOf("h93-s", "h93-d", fs.dataSource);
        State before = state("h93-s", "h93-d");
        assertThat(before.leaseClosedBy()).isEqualTo("null");
        List<String> failed = new ArrayList<>();
        List<String> claimed = List.of();
        for (int n = 0; n <= 40 && claimed.isEmpty(); n++) { // 0: the commit, then statement 1, 2, ...
            String at = n == 0 ? "the commit" : "statement " + n;
            fs.arm(n);
            try {
                claimed = closer.claim(); // passes once the armed statement is past the claim's last
            } catch (RuntimeException e) {
                assertThat(e).as("the failure at " + at).isInstanceOf(EvidenceUnavailableException.class)
                        .hasMessage(DeadInstanceCloser.UNAVAILABLE);
                assertThat(state("h93-s", "h93-d")).as("nothing committed, failed at " + at).isEqualTo(before);
                failed.add(at);
            } finally {
                fs.arm(-1);
            }
        }
        assertThat(failed).as("the claim failed at its commit and at each of its statements").contains("the commit")
                .hasSizeGreaterThan(4);
        assertThat(claimed).as("then it passed").contains("h93-d");
        assertThat(state("h93-s", "h93-d")).isEqualTo(new State("h93-s", "h93-s", "1", before.outbox()));
        try (Connection c = owner()) {
            assertContiguous(c, "h93-s");
        }
    }
}
