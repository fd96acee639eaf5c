package attest.evidence;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A store that stalls (a lock held on the chain head, as a long transaction or a failover would) and comes back. A
 * write whose caller gave up waiting while it was still queued is never committed later (the call was refused with
 * 503, and nothing was forwarded); and when one write of a batch is refused by the store (a key it already holds), it
 * fails alone, and the other calls of its batch are committed. Real PostgreSQL (embedded), the writer's own threads.
 */
class StalledStoreTest extends StoreStall {
    static final String CHAIN = "stalled-store";

    /** A writer whose writes all go through its queue (a linger: none is committed in place), 300 ms to commit. */
    void writer() {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN), 100, 32,
                Duration.ofMillis(1), Duration.ofMillis(300));
        writer.insert(RequestSealedOnceTest.opened(new byte[]{1}), null); // the chain's head row exists
    }

    void stallTheStore() throws Exception {
        stallTheStore(CHAIN);
    }

    static long chainEntries(UUID id, String kind) throws Exception {
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM evidence_chain WHERE chain_id = ? AND subject_id = ? AND kind = ?")) {
            ps.setString(1, CHAIN);
            ps.setObject(2, id);
            ps.setString(3, kind);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Test
    void should_never_commit_a_write_whose_caller_gave_up_while_it_was_queued() throws Exception {
        writer();
        stallTheStore();
        // the writer takes this one and waits on the store with it (its caller gives up after 300 ms)
        CompletableFuture<Void> inFlight = writer.commit(RequestSealedOnceTest.opened(new byte[]{2}), true, null);
        await().atMost(Duration.ofSeconds(5)).until(() -> writer.callsWaiting() == 0);
        // queued behind it: a call's open record, whose caller is refused with 503 when its wait times out
        EvidenceRecord refused = RequestSealedOnceTest.opened(new byte[]{3});
        CompletableFuture<Void> open = writer.commit(refused, true, null);
        await().atMost(Duration.ofSeconds(5)).until(open::isDone);
        assertThat(failure(open)).isInstanceOf(EvidenceUnavailableException.class).hasMessageContaining("timed out");
        // the refused call's own terminal record (inserted: its open record was never written, as far as it knows),
        // and another call's write, both queued behind the stall too
        refused.setForwardedAt(null);
        refused.setErrorCode("evidence_unavailable");
        refused.setStatus(503);
        refused.terminate(Outcome.ABORTED, RequestSealedOnceTest.CLOCK.instant());
        CompletableFuture<Void> terminal = writer.submit(refused, true, null);
        EvidenceRecord other = RequestSealedOnceTest.opened(new byte[]{4});
        CompletableFuture<Void> innocent = writer.submit(other, true, null);

        resume();
        terminal.get(10, TimeUnit.SECONDS);
        innocent.get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(inFlight::isDone);
        assertThat(state(refused.getId())).as("the refused call's record: terminal, never left open").isEqualTo("terminal");
        assertThat(chainEntries(refused.getId(), "call.open")).as("the given-up open write never reached the chain")
                .isZero();
        assertThat(chainEntries(refused.getId(), "call.terminal")).isEqualTo(1);
        assertThat(state(other.getId())).isEqualTo("open");
    }

    /**
     * The writer's commit that a stall holds, and whose caller's wait ends: the caller is refused (503, nothing
     * forwarded), and the store gives up that commit when the wait ends, so the stall's end does not commit it late
     * (a record said forwarded for a call that never was). The refused call's own record is then inserted, terminal.
     */
    @Test
    void should_never_commit_an_open_record_whose_call_was_refused_for_the_wait() throws Exception {
        writer();
        stallTheStore();
        OpenEvidenceProcessor open = new OpenEvidenceProcessor(new EvidenceAssembler(CHAIN), writer,
                java.time.Clock.systemUTC());
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{9});
        org.apache.camel.Exchange call = new org.apache.camel.support.DefaultExchange(
                new org.apache.camel.impl.DefaultCamelContext());
        call.setProperty(attest.Exchanges.EVIDENCE, r);
        // the writer takes the open record into a commit that waits on the store; the call gives up after 300 ms
        open.process(call);
        assertThat(call.getException()).as("refused: nothing is forwarded").isInstanceOf(attest.http.GatewayException.class);
        assertThat(r.getForwardedAt()).isNull();
        await().atMost(Duration.ofSeconds(10)).until(() -> waitingOnALock() == 0);

        resume();
        r.setErrorCode("evidence_unavailable");
        r.setStatus(503);
        r.terminate(Outcome.ABORTED, RequestSealedOnceTest.CLOCK.instant());
        writer.insert(r, null); // the refused call's own record: an insert, as far as it knows none exists
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement("SELECT outcome, status, error_code, "
                + "forwarded_at FROM evidence_record WHERE id = ?")) {
            ps.setObject(1, r.getId());
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("aborted");
                assertThat(rs.getInt(2)).isEqualTo(503);
                assertThat(rs.getString(3)).isEqualTo("evidence_unavailable");
                assertThat(rs.getObject(4)).as("never said to be forwarded").isNull();
            }
        }
        assertThat(chainEntries(r.getId(), "call.open")).isZero();
        assertThat(chainEntries(r.getId(), "call.terminal")).isEqualTo(1);
    }

    @Test
    void should_never_commit_later_a_write_committed_in_place_that_its_caller_gave_up() throws Exception {
        // no linger: a write alone is committed on its caller's thread, its reads bounded by the commit timeout
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN), 100, 32,
                Duration.ZERO, Duration.ofMillis(300));
        writer.insert(RequestSealedOnceTest.opened(new byte[]{10}), null);
        stallTheStore();
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{11});
        CompletableFuture<Void> inPlace = writer.commit(r, true, null);
        assertThat(failure(inPlace)).isInstanceOf(EvidenceUnavailableException.class);
        // its statements were sent before the wait: the store, polling for its client, aborts them once it is gone
        await().atMost(Duration.ofSeconds(10)).until(() -> waitingOnALock() == 0);
        resume();
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> state(r.getId()) == null);
        assertThat(chainEntries(r.getId(), "call.open")).isZero();
    }

    /** Backends of this database waiting for a lock (the stalled commits). */
    static long waitingOnALock() throws Exception {
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_stat_activity "
                + "WHERE datname = current_database() AND wait_event_type = 'Lock'")) {
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Test
    void should_fail_alone_a_write_the_store_refuses_and_commit_the_rest_of_its_batch() throws Exception {
        writer();
        stallTheStore();
        // the writer waits on the store with this one; the next three queue behind it and are taken as one batch
        CompletableFuture<Void> first = writer.submit(RequestSealedOnceTest.opened(new byte[]{5}), true, null);
        await().atMost(Duration.ofSeconds(5)).until(() -> writer.callsWaiting() == 0);
        EvidenceRecord a = RequestSealedOnceTest.opened(new byte[]{6});
        EvidenceRecord twin = RequestSealedOnceTest.opened(new byte[]{7});
        twin.setId(a.getId()); // a key the store will already hold when it comes to this write
        EvidenceRecord b = RequestSealedOnceTest.opened(new byte[]{8});
        CompletableFuture<Void> wa = writer.submit(a, true, null);
        CompletableFuture<Void> wTwin = writer.submit(twin, true, null);
        CompletableFuture<Void> wb = writer.submit(b, true, null);

        resume();
        first.get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> wa.isDone() && wTwin.isDone() && wb.isDone());
        assertThat(failure(wa)).isNull();
        assertThat(failure(wb)).as("a write of the same batch, not refused with it").isNull();
        assertThat(failure(wTwin)).isInstanceOf(EvidenceUnavailableException.class);
        assertThat(state(a.getId())).isEqualTo("open");
        assertThat(state(b.getId())).isEqualTo("open");
        assertThat(chainEntries(a.getId(), "call.open")).as("the refused twin left no entry").isEqualTo(1);
        assertThat(writer.healthy()).isTrue();
    }
}
