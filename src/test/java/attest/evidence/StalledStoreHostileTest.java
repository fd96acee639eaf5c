package attest.evidence;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Hostile review of the stalled-store change (7e41752, 8388056, ffb881c): the same embedded PostgreSQL and the same
 * stall (the chain head's row held FOR UPDATE) as {@link StalledStoreTest}, aimed at the edges of its promises.
 */
class StalledStoreHostileTest extends StoreStall {
    static final String CHAIN = "stalled-hostile";

    /** A writer whose writes all go through its queue (a linger), 300 ms to commit; its chain's head row exists. */
    void writer(int queueCapacity) {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN), queueCapacity,
                32, Duration.ofMillis(1), Duration.ofMillis(300));
        writer.insert(RequestSealedOnceTest.opened(new byte[]{1}), null);
    }

    void stallTheStore() throws Exception {
        stallTheStore(CHAIN);
    }

    static void owner(String sql) throws Exception {
        try (Connection c = owner(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /**
     * Promise 2 under load: a stall fills the calls' queue (writes whose callers already gave up stay in it until the
     * writer drains them). The open record taken into the stalled commit is refused with its call, and when the stall
     * ends it is not committed late (before 2026-11-30 14:00 it committed, and its late completion could be refused
     * for the full queue: the record stayed open, said to be forwarded, for a call refused with 503).
     */
    @Test
    void should_never_commit_an_open_record_refused_for_the_wait_even_when_the_stall_filled_the_queue()
            throws Exception {
        writer(2);
        stallTheStore();
        OpenEvidenceProcessor open = new OpenEvidenceProcessor(new EvidenceAssembler(CHAIN), writer,
                java.time.Clock.systemUTC());
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{9});
        Exchange call = new DefaultExchange(new DefaultCamelContext());
        call.setProperty(Exchanges.EVIDENCE, r);
        open.process(call); // taken into the stalled commit; the call gives up after 300 ms
        assertThat(call.getException()).isInstanceOf(attest.http.GatewayException.class);
        // two more calls arrive during the stall and give up too: their writes fill the queue (capacity 2)
        CompletableFuture<Void> a = writer.commit(RequestSealedOnceTest.opened(new byte[]{10}), true, null);
        CompletableFuture<Void> b = writer.commit(RequestSealedOnceTest.opened(new byte[]{11}), true, null);
        await().atMost(Duration.ofSeconds(5)).until(() -> a.isDone() && b.isDone());
        assertThat(failure(a)).isInstanceOf(EvidenceUnavailableException.class);
        assertThat(failure(b)).isInstanceOf(EvidenceUnavailableException.class);

        resume();
        await().atMost(Duration.ofSeconds(10)).until(() -> writer.callsWaiting() == 0);
        EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{12});
        writer.insert(after, null); // the writer commits again, after everything the stall held
        assertThat(state(after.getId())).isEqualTo("open");
        assertThat(state(r.getId())).as("the refused call's open record: never committed, never said forwarded")
                .isNull();
    }

    /**
     * Promise 3: a commit made in place that its caller gave up (the network timeout of the commit timeout) is
     * aborted by PostgreSQL only once the server polls for the client (client_connection_check_interval, 1 s). A
     * stall that ends in that second lets the pipelined implicit transaction run to its end and commit: the call
     * was refused with 503, and its record says open and forwarded.
     */
    @Test
    void should_never_commit_an_in_place_write_given_up_when_the_stall_ends_just_after() throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN), 100, 32,
                Duration.ZERO, Duration.ofMillis(300));
        writer.insert(RequestSealedOnceTest.opened(new byte[]{12}), null); // the head is held: one-trip commits
        stallTheStore();
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{13});
        CompletableFuture<Void> inPlace = writer.commit(r, true, null);
        assertThat(inPlace).isDone(); // made in place, on this thread
        assertThat(failure(inPlace)).isInstanceOf(EvidenceUnavailableException.class);
        resume(); // the stall ends 300 ms into the statement: before the server's first poll for its client
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).untilAsserted(() -> assertThat(
                state(r.getId())).as("a write its caller was told failed (and refused its call for)").isNull());
    }

    /** The store's own bound on an in-place commit lasts for that commit only: the pool's sessions keep theirs. */
    @Test
    void should_leave_the_pools_sessions_unbounded_after_in_place_commits() throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN), 100, 32,
                Duration.ZERO, Duration.ofMillis(300));
        for (int i = 0; i < 5; i++) {
            assertThat(failure(writer.commit(RequestSealedOnceTest.opened(new byte[]{22}), true, null))).isNull();
        }
        assertThat(writer.commitsInOneTrip()).isPositive();
        java.util.List<Connection> all = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                all.add(db.dataSource().getConnection());
            }
            for (Connection c : all) {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW statement_timeout")) {
                    rs.next();
                    assertThat(rs.getString(1)).isEqualTo("0");
                }
            }
        } finally {
            for (Connection c : all) {
                c.close();
            }
        }
    }

    /**
     * Health: every 42501 (insufficient_privilege) is taken for the append-only guard refusing one write, so a store
     * that denies the gateway's role every insert (a grant lost in a migration, a role changed by hand) leaves
     * {@code healthy()} true while every call's evidence fails, and splits every batch into single commits.
     */
    @Test
    void should_not_be_healthy_while_the_store_denies_every_write() throws Exception {
        writer(100);
        assertThat(writer.healthy()).isTrue();
        owner("REVOKE INSERT ON evidence_record FROM " + Database.APP_ROLE);
        try {
            CompletableFuture<Void> one = writer.submit(RequestSealedOnceTest.opened(new byte[]{14}), true, null);
            CompletableFuture<Void> two = writer.submit(RequestSealedOnceTest.opened(new byte[]{15}), true, null);
            await().atMost(Duration.ofSeconds(10)).until(() -> one.isDone() && two.isDone());
            assertThat(failure(one)).isInstanceOf(EvidenceUnavailableException.class);
            assertThat(failure(two)).isInstanceOf(EvidenceUnavailableException.class);
            assertThat(writer.healthy()).as("every write fails: the store is not healthy for this gateway").isFalse();
        } finally {
            owner("GRANT INSERT ON evidence_record TO " + Database.APP_ROLE);
        }
    }

    /** The fix above keeps promise 4 for the guard itself: a change to a terminal record fails alone, not its batch. */
    @Test
    void should_still_fail_alone_a_write_the_append_only_guard_refuses() throws Exception {
        writer(100);
        EvidenceRecord done = RequestSealedOnceTest.opened(new byte[]{18});
        RequestSealedOnceTest.answer(done, new byte[]{19});
        writer.insert(done, null); // terminal
        stallTheStore();
        CompletableFuture<Void> inFlight = writer.submit(RequestSealedOnceTest.opened(new byte[]{20}), true, null);
        await().atMost(Duration.ofSeconds(5)).until(() -> writer.callsWaiting() == 0);
        done.setStatus(500);
        CompletableFuture<Void> change = writer.submit(done, false, null); // the guard refuses it (42501)
        EvidenceRecord other = RequestSealedOnceTest.opened(new byte[]{21});
        CompletableFuture<Void> innocent = writer.submit(other, true, null);
        resume();
        inFlight.get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> change.isDone() && innocent.isDone());
        assertThat(failure(change)).isInstanceOf(EvidenceUnavailableException.class);
        assertThat(failure(innocent)).isNull();
        assertThat(state(other.getId())).isEqualTo("open");
        assertThat(writer.healthy()).isTrue();
    }

    /**
     * Promise 1's other side: a call that was forwarded and whose terminal write timed out in the queue (the answer
     * withheld, 503) now has that write dropped; nobody completes its record, which stays open, said to be forwarded,
     * while the instance lives (before the change the write committed late). The open record committed late is
     * completed at once (8388056); the terminal dropped is not.
     */
    @Test
    void should_complete_a_forwarded_call_whose_terminal_write_was_dropped() throws Exception {
        writer(100);
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{16});
        writer.insert(r, null); // committed open: the upstream is called
        stallTheStore();
        CompletableFuture<Void> inFlight = writer.commit(RequestSealedOnceTest.opened(new byte[]{17}), true, null);
        await().atMost(Duration.ofSeconds(5)).until(() -> writer.callsWaiting() == 0);
        RecordEvidenceProcessor record = new RecordEvidenceProcessor(new EvidenceAssembler(CHAIN), writer, "t",
                java.time.Clock.systemUTC());
        Exchange call = new DefaultExchange(new DefaultCamelContext());
        call.setProperty(Exchanges.EVIDENCE, r);
        call.setProperty(Exchanges.EVIDENCE_WRITTEN, true);
        call.getMessage().setBody(new byte[]{1, 2, 3});
        record.process(call); // its terminal write queues behind the stall; the wait times out: 503, answer withheld
        assertThat(call.getException()).isInstanceOf(EvidenceUnavailableException.class);

        resume();
        await().atMost(Duration.ofSeconds(10)).until(inFlight::isDone);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(state(r.getId()))
                .as("a call that ended (503) has terminal evidence, not an open record said to be forwarded")
                .isEqualTo("terminal"));
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement("SELECT outcome, status, error_code, "
                + "(SELECT count(*) FROM evidence_chain e WHERE e.subject_id = r.id AND e.kind = 'call.terminal'), "
                + "(SELECT count(*) FROM evidence_outbox o WHERE o.event_key = r.id::text) "
                + "FROM evidence_record r WHERE id = ?")) {
            ps.setObject(1, r.getId());
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("aborted");
                assertThat(rs.getInt(2)).as("the caller's answer").isEqualTo(503);
                assertThat(rs.getString(3)).isEqualTo("evidence_unavailable");
                assertThat(rs.getLong(4)).as("one terminal chain entry").isEqualTo(1);
                assertThat(rs.getLong(5)).as("its terminal event").isEqualTo(1);
            }
        }
    }

    /**
     * A forwarded call's terminal write that the writer took into a commit the stall holds, when the caller's wait
     * ends: the caller is told it failed (503, the answer withheld), so the store must not record the call as answered.
     * Before 2026-11-30 14:00 that commit went on, and committed when the stall ended: a record saying 200, with the
     * answer, for a call whose answer was withheld. Now the store gives that commit up when the wait ends, and the
     * record is completed as the call ended.
     */
    @Test
    void should_never_record_as_answered_a_call_whose_terminal_write_was_being_committed_when_its_wait_ended()
            throws Exception {
        writer(100);
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{18});
        writer.insert(r, null); // committed open: the upstream is called
        stallTheStore();
        RecordEvidenceProcessor record = new RecordEvidenceProcessor(new EvidenceAssembler(CHAIN), writer, "t",
                java.time.Clock.systemUTC());
        Exchange call = new DefaultExchange(new DefaultCamelContext());
        call.setProperty(Exchanges.EVIDENCE, r);
        call.setProperty(Exchanges.EVIDENCE_WRITTEN, true);
        call.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        call.getMessage().setBody(new byte[]{1, 2, 3});
        record.process(call); // the writer takes its terminal write into the stalled commit; the wait times out
        assertThat(call.getException()).isInstanceOf(EvidenceUnavailableException.class);
        assertThat(writer.callsWaiting()).as("not dropped from the queue: it was being committed").isLessThanOrEqualTo(1);

        resume();
        await().atMost(Duration.ofSeconds(10)).until(() -> writer.callsWaiting() == 0);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(state(r.getId()))
                .as("a call that ended (503) has terminal evidence, not an open record said to be forwarded")
                .isEqualTo("terminal"));
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement("SELECT outcome, status, error_code, "
                + "(SELECT count(*) FROM evidence_chain e WHERE e.subject_id = r.id AND e.kind = 'call.terminal') "
                + "FROM evidence_record r WHERE id = ?")) {
            ps.setObject(1, r.getId());
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(2)).as("the caller's answer, not the upstream's").isEqualTo(503);
                assertThat(rs.getString(1)).isEqualTo("aborted");
                assertThat(rs.getString(3)).isEqualTo("evidence_unavailable");
                assertThat(rs.getLong(4)).as("one terminal chain entry").isEqualTo(1);
            }
        }
    }

    /**
     * A batch written the long way (two writes) while the stall holds it, and one of them given up by its caller
     * meanwhile: the batch is rolled back and committed again without it, so the write nobody waits for (a refusal's
     * record) commits and the given-up one never does.
     */
    @Test
    void should_commit_a_batch_again_without_the_write_given_up_while_its_statements_ran() throws Exception {
        // a commit timeout of 2 s, not 300 ms: the inserts before and after the stall wait for their commits within it
        // (on a loaded machine one took longer than 300 ms: "evidence commit timed out"), and the call given up while
        // the stall holds its batch times out all the same, the stall lasting until resume()
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN), 100, 32,
                Duration.ofMillis(100), Duration.ofSeconds(2));
        writer.insert(RequestSealedOnceTest.opened(new byte[]{1}), null);
        stallTheStore();
        EvidenceRecord refusal = RequestSealedOnceTest.opened(new byte[]{19});
        refusal.setForwardedAt(null);
        refusal.terminate(Outcome.UNAUTHENTICATED, RequestSealedOnceTest.CLOCK.instant());
        CompletableFuture<Void> refused = writer.submitRefusal(refusal, null);
        EvidenceRecord open = RequestSealedOnceTest.opened(new byte[]{20});
        CompletableFuture<Void> call = writer.commit(open, true, null); // joins the refusal's batch (100 ms linger)
        await().atMost(Duration.ofSeconds(5)).until(call::isDone);
        assertThat(failure(call)).isInstanceOf(EvidenceUnavailableException.class);
        assertThat(writer.callsWaiting() + writer.refusalsWaiting()).as("both taken into one commit").isZero();

        resume();
        refused.get(10, TimeUnit.SECONDS);
        assertThat(state(refusal.getId())).isEqualTo("terminal");
        assertThat(state(open.getId())).as("given up while its batch was written: never committed").isNull();
        EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{21});
        writer.insert(after, null); // the chain goes on from the batch committed again
        assertThat(state(after.getId())).isEqualTo("open");
    }

    /**
     * Promise 1 holds for {@link EvidenceWriter#commit} only: {@link EvidenceWriter#insert} and {@link EvidenceWriter#update}
     * (HoldCallProcessor's held record, CloseHeldCallProcessor, CrashRecovery) wait on the write's own future and
     * leave it queued when the wait times out, so it is committed after its caller was told it failed: a held call
     * refused with 503 whose held record (naming an approval that was never stored) appears when the stall ends.
     * docs/evidence.md says a call's write that is still queued when its wait times out is dropped.
     */
    @Test
    void should_never_commit_a_held_record_whose_insert_timed_out_while_queued() throws Exception {
        writer(100);
        stallTheStore();
        CompletableFuture<Void> inFlight = writer.commit(RequestSealedOnceTest.opened(new byte[]{23}), true, null);
        await().atMost(Duration.ofSeconds(5)).until(() -> writer.callsWaiting() == 0);
        EvidenceRecord held = RequestSealedOnceTest.opened(new byte[]{24});
        held.setForwardedAt(null);
        held.setApprovalId(UUID.randomUUID());
        Throwable refused = null;
        try {
            writer.insert(held, null); // as HoldCallProcessor: refused with 503 when this throws
        } catch (EvidenceUnavailableException e) {
            refused = e;
        }
        assertThat(refused).as("the held call refused for the wait").isNotNull();
        resume();
        await().atMost(Duration.ofSeconds(10)).until(inFlight::isDone);
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).untilAsserted(() -> assertThat(
                state(held.getId())).as("a write its caller was told failed, still queued when it gave up").isNull());
    }

    /**
     * Promise 5 under a store that stalls and comes back several times while four callers commit open and terminal
     * records (in place and queued, some timing out while queued, some while being written, some waiting for a commit
     * already sent), with duplicate keys thrown in (isolation), and refusals in their lane. Then:
     * every write its caller was told committed is committed; no record has two entries of one kind; every record's
     * entries match its state; the chain's positions are contiguous up to its head; the writer still commits.
     */
    @Test
    void should_keep_the_chain_and_the_callers_right_through_stalls() throws Exception {
        throughStalls("stalled-hostile-fuzz", Duration.ZERO);
    }

    /** The same, every write queued (a linger: none in place). */
    @Test
    void should_keep_the_chain_and_the_callers_right_through_stalls_all_queued() throws Exception {
        throughStalls("stalled-hostile-fuzz-queued", Duration.ofMillis(1));
    }

    void throughStalls(String chain, Duration linger) throws Exception {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(chain), 50, 8,
                linger, Duration.ofMillis(250));
        java.util.Set<UUID> givenUp = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.Set<UUID> toldFailed = java.util.concurrent.ConcurrentHashMap.newKeySet();
        writer.insert(RequestSealedOnceTest.opened(new byte[]{1}), null); // the head row exists
        java.util.Map<UUID, String> toldCommitted = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.Set<UUID> all = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong twinsCommitted = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong ops = new java.util.concurrent.atomic.AtomicLong();
        java.util.List<Thread> callers = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int seed = t;
            Thread th = new Thread(() -> {
                java.util.Random rnd = new java.util.Random(seed);
                UUID last = null;
                while (!stop.get()) {
                    ops.incrementAndGet();
                    EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{(byte) rnd.nextInt()});
                    if (last != null && rnd.nextInt(6) == 0) {
                        r.setId(last); // a key the store holds: refused, alone
                        if (failure(writer.commit(r, true, null)) == null) {
                            twinsCommitted.incrementAndGet();
                        }
                        continue;
                    }
                    if (rnd.nextInt(5) == 0) {
                        EvidenceRecord refused = RequestSealedOnceTest.opened(new byte[]{2});
                        refused.setForwardedAt(null);
                        refused.terminate(Outcome.DENIED, RequestSealedOnceTest.CLOCK.instant());
                        all.add(refused.getId());
                        writer.submitRefusal(refused, null);
                    }
                    all.add(r.getId());
                    EvidenceRecord open = r;
                    Throwable err = failure(writer.commit(r, true, null));
                    if (err != null) {
                        givenUp.add(r.getId());
                        continue;
                    }
                    toldCommitted.put(r.getId(), "open");
                    last = r.getId();
                    RequestSealedOnceTest.answer(r, new byte[]{3});
                    if (failure(writer.commit(r, false, null)) == null) {
                        toldCommitted.put(r.getId(), "terminal");
                    } else {
                        toldFailed.add(r.getId());
                    }
                }
            }, "hostile-caller-" + t);
            callers.add(th);
            th.start();
        }
        for (int k = 0; k < 5; k++) {
            await().pollDelay(Duration.ofMillis(150)).atMost(Duration.ofSeconds(1)).until(() -> true);
            stallTheStore(chain);
            await().pollDelay(Duration.ofMillis(200 + 100 * k)).atMost(Duration.ofSeconds(2)).until(() -> true);
            resume();
        }
        await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(1)).until(() -> true);
        stop.set(true);
        for (Thread th : callers) {
            th.join(10_000);
            assertThat(th.isAlive()).as("a caller stuck").isFalse();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> writer.callsWaiting() == 0 && writer.refusalsWaiting() == 0);
        EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{4});
        writer.insert(after, null); // the writer lives
        assertThat(twinsCommitted.get()).as("a duplicate key said to be committed").isZero();
        try (Connection c = owner()) {
            for (var e : toldCommitted.entrySet()) {
                try (PreparedStatement ps = c.prepareStatement("SELECT state FROM evidence_record WHERE id = ?")) {
                    ps.setObject(1, e.getKey());
                    try (ResultSet rs = ps.executeQuery()) {
                        assertThat(rs.next()).as("told committed: " + e).isTrue();
                        if (e.getValue().equals("terminal")) {
                            assertThat(rs.getString(1)).as("told committed: " + e).isEqualTo("terminal");
                        }
                    }
                }
            }
            assertContiguous(c, chain);
            try (PreparedStatement ps = c.prepareStatement("SELECT subject_id, kind, count(*) FROM evidence_chain "
                    + "WHERE chain_id = ? GROUP BY subject_id, kind HAVING count(*) > 1")) {
                ps.setString(1, chain);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).as("a record with two entries of one kind").isFalse();
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT r.id, r.state, "
                    + "(SELECT count(*) FROM evidence_chain e WHERE e.chain_id = ? AND e.subject_id = r.id "
                    + " AND e.kind = 'call.open'), "
                    + "(SELECT count(*) FROM evidence_chain e WHERE e.chain_id = ? AND e.subject_id = r.id "
                    + " AND e.kind = 'call.terminal') FROM evidence_record r WHERE r.id = ANY (?)")) {
                ps.setString(1, chain);
                ps.setString(2, chain);
                ps.setArray(3, c.createArrayOf("uuid", all.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String state = rs.getString(2);
                        long opens = rs.getLong(3);
                        long terminals = rs.getLong(4);
                        if ("open".equals(state)) {
                            assertThat(opens).as("open record " + rs.getObject(1)).isEqualTo(1);
                            assertThat(terminals).as("open record " + rs.getObject(1)).isZero();
                        } else {
                            assertThat(terminals).as("terminal record " + rs.getObject(1)).isEqualTo(1);
                        }
                    }
                }
            }
        }
        // the store's outcome is the caller's: a write its caller was told failed was never committed
        for (UUID id : givenUp) {
            assertThat(state(id)).as("an open write whose caller was refused, committed: " + id).isNull();
        }
        for (UUID id : toldFailed) {
            assertThat(state(id)).as("a terminal write whose caller was told failed, committed: " + id)
                    .isEqualTo("open");
        }
        System.out.printf("%s: %d ops, %d told committed, %d opens and %d terminals told failed%n", chain, ops.get(),
                toldCommitted.size(), givenUp.size(), toldFailed.size());
        assertThat(ops.get()).isGreaterThan(20);
    }
}
