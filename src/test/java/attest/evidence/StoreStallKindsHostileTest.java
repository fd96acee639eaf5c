package attest.evidence;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Hostile review (review4) of "a caller's outcome is the store's" under other kinds of stall than the chain head's
 * row lock: a sleep in a trigger, a commit-time stall, a lock on the outbox or on a record's row, a backend
 * cancelled or terminated mid-commit, very short commit timeouts, and stalls that end when the callers time out.
 */
class StoreStallKindsHostileTest extends StoreStall {

    static void owner(String sql) throws Exception {
        try (Connection c = owner(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @AfterEach
    void clean() throws Exception {
        owner("DROP TRIGGER IF EXISTS review4_sleep ON evidence_record");
        owner("DROP TRIGGER IF EXISTS review4_deferred ON evidence_record");
        owner("DROP FUNCTION IF EXISTS review4_sleep()");
        owner("DROP TABLE IF EXISTS review4_sleep_ms");
    }

    /** Records of request size {@code size} sleep {@code review4_sleep_ms} in a trigger (deferred: at commit). */
    static void sleepingTrigger(int size, boolean deferred) throws Exception {
        owner("CREATE TABLE IF NOT EXISTS review4_sleep_ms (ms int NOT NULL)");
        owner("DELETE FROM review4_sleep_ms");
        owner("INSERT INTO review4_sleep_ms VALUES (0)");
        owner("CREATE OR REPLACE FUNCTION review4_sleep() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$ "
                + "BEGIN IF NEW.request_size = " + size + " THEN "
                + "PERFORM pg_sleep((SELECT ms FROM review4_sleep_ms) / 1000.0); END IF; RETURN NEW; END $$");
        if (deferred) {
            owner("CREATE CONSTRAINT TRIGGER review4_deferred AFTER INSERT OR UPDATE ON evidence_record "
                    + "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION review4_sleep()");
        } else {
            owner("CREATE TRIGGER review4_sleep BEFORE INSERT OR UPDATE ON evidence_record "
                    + "FOR EACH ROW EXECUTE FUNCTION review4_sleep()");
        }
    }

    static void sleepFor(int ms) throws Exception {
        owner("UPDATE review4_sleep_ms SET ms = " + ms);
    }

    EvidenceWriter writer(String chain, Duration linger, Duration timeout) {
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(chain), 100, 32,
                linger, timeout);
        writer.insert(RequestSealedOnceTest.opened(new byte[]{1}), null); // the head row exists and is held
        return writer;
    }

    static OutboxEvent event(UUID id) {
        return new OutboxEvent(UUID.randomUUID(), "attest.evidence", id.toString(), "{}", Instant.now());
    }

    /** The chain's positions are 1..head size, and each record has at most one entry of a kind, matching its state. */
    static void assertChain(String chain) throws Exception {
        try (Connection c = owner()) {
            assertContiguous(c, chain);
            try (PreparedStatement ps = c.prepareStatement("SELECT r.id, r.state, "
                    + "(SELECT count(*) FROM evidence_chain e WHERE e.subject_id = r.id AND e.kind = 'call.open'), "
                    + "(SELECT count(*) FROM evidence_chain e WHERE e.subject_id = r.id AND e.kind = 'call.terminal'),"
                    + "(SELECT count(*) FROM evidence_chain e WHERE e.subject_id = r.id AND e.chain_id = ?) "
                    + "FROM evidence_record r WHERE EXISTS (SELECT 1 FROM evidence_chain e WHERE e.chain_id = ? "
                    + "AND e.subject_id = r.id)")) {
                ps.setString(1, chain);
                ps.setString(2, chain);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String what = rs.getString(2) + " record " + rs.getObject(1);
                        if ("open".equals(rs.getString(2))) {
                            assertThat(rs.getLong(3)).as(what).isEqualTo(1);
                            assertThat(rs.getLong(4)).as(what).isZero();
                        } else {
                            assertThat(rs.getLong(4)).as(what).isEqualTo(1);
                            assertThat(rs.getLong(3)).as(what).isLessThanOrEqualTo(1);
                        }
                    }
                }
            }
        }
    }

    /** Told failed: never committed; told committed: committed (in {@code state}). */
    static void assertOutcome(String what, CompletableFuture<Void> f, UUID id, String state) throws Exception {
        Throwable err = failure(f);
        if (err == null) {
            assertThat(state(id)).as(what + ": told committed").isEqualTo(state);
        } else {
            assertThat(err).isInstanceOf(EvidenceUnavailableException.class);
            assertThat(state(id)).as(what + ": told failed (" + err.getMessage() + ")").isNotEqualTo(state);
        }
    }

    /**
     * A statement that sleeps in a trigger (no lock at all) for lengths swept across the commit timeout, in place
     * and through the writer thread: each caller's outcome is the store's, the chain contiguous, the writer healthy.
     */
    @Test
    void should_keep_each_callers_outcome_when_a_trigger_sleeps_across_the_commit_timeout() throws Exception {
        sleepingTrigger(77, false);
        for (Duration linger : List.of(Duration.ZERO, Duration.ofMillis(1))) {
            String chain = "review4-sleep-" + linger.toMillis();
            writer(chain, linger, Duration.ofMillis(200));
            for (int ms = 100; ms <= 300; ms += 10) {
                sleepFor(ms);
                EvidenceRecord r = RequestSealedOnceTest.opened(new byte[77]);
                CompletableFuture<Void> f = writer.commit(r, true, event(r.getId()));
                await().atMost(Duration.ofSeconds(5)).until(f::isDone);
                await().atMost(Duration.ofSeconds(5)).until(() -> writer.callsWaiting() == 0);
                // a late commit would land within the sleep
                await().pollDelay(Duration.ofMillis(ms)).atMost(Duration.ofSeconds(2)).until(() -> true);
                assertOutcome("linger " + linger + ", sleep " + ms + " ms", f, r.getId(), "open");
            }
            sleepFor(0);
            EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{2});
            writer.insert(after, null);
            assertThat(writer.healthy()).isTrue();
            assertChain(chain);
            writer.close();
        }
        writer = null;
    }

    /**
     * A stall at commit time (a deferred constraint trigger that sleeps: the commit's own work, which no
     * statement_timeout bounds). The caller's wait ends and it is told its write failed; the connection was never
     * lost, yet the store commits the write.
     */
    @Test
    void should_never_commit_a_write_whose_caller_was_told_it_failed_when_the_commit_itself_stalls_in_place()
            throws Exception {
        commitStalls(Duration.ZERO);
    }

    /** The same, from the writer thread (its one-trip pipeline: statement_timeout does not cover its commit). */
    @Test
    void should_never_commit_a_write_whose_caller_was_told_it_failed_when_the_commit_itself_stalls_queued()
            throws Exception {
        commitStalls(Duration.ofMillis(1));
    }

    void commitStalls(Duration linger) throws Exception {
        sleepingTrigger(78, true);
        String chain = "review4-deferred-" + linger.toMillis();
        writer(chain, linger, Duration.ofMillis(200));
        sleepFor(600); // shorter than the server's poll for a gone client (1 s)
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[78]);
        long t0 = System.nanoTime();
        CompletableFuture<Void> f = writer.commit(r, true, event(r.getId()));
        await().atMost(Duration.ofSeconds(5)).until(f::isDone);
        System.out.printf("review4 commitStalls %s: %s after %d ms, state now %s%n", linger, failure(f),
                (System.nanoTime() - t0) / 1_000_000, state(r.getId()));
        await().pollDelay(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> true);
        assertOutcome("a commit that stalls, linger " + linger, f, r.getId(), "open");
    }

    /** A lock on the outbox table (ACCESS EXCLUSIVE, as an ALTER TABLE takes): the write with its event. */
    @Test
    void should_never_commit_a_write_given_up_while_the_outbox_is_locked() throws Exception {
        for (Duration linger : List.of(Duration.ZERO, Duration.ofMillis(1))) {
            String chain = "review4-outbox-" + linger.toMillis();
            writer(chain, linger, Duration.ofMillis(200));
            stall = owner();
            stall.setAutoCommit(false);
            try (Statement s = stall.createStatement()) {
                s.execute("LOCK TABLE evidence_outbox IN ACCESS EXCLUSIVE MODE");
            }
            EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{5});
            CompletableFuture<Void> f = writer.commit(r, true, event(r.getId()));
            await().atMost(Duration.ofSeconds(5)).until(f::isDone);
            assertThat(failure(f)).isInstanceOf(EvidenceUnavailableException.class);
            resume();
            await().atMost(Duration.ofSeconds(5)).until(() -> writer.callsWaiting() == 0);
            await().pollDelay(Duration.ofMillis(1200)).atMost(Duration.ofSeconds(3)).until(() -> true);
            assertThat(state(r.getId())).as("told failed, linger " + linger).isNull();
            EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{6});
            writer.insert(after, event(after.getId()));
            assertThat(writer.healthy()).isTrue();
            assertChain(chain);
            writer.close();
        }
        writer = null;
    }

    /** A lock on the record's own row (another transaction updating it): the terminal update given up. */
    @Test
    void should_never_commit_an_update_given_up_while_its_row_is_locked() throws Exception {
        for (Duration linger : List.of(Duration.ZERO, Duration.ofMillis(1))) {
            String chain = "review4-row-" + linger.toMillis();
            writer(chain, linger, Duration.ofMillis(200));
            EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{7});
            writer.insert(r, null);
            stall = owner();
            stall.setAutoCommit(false);
            try (PreparedStatement ps = stall.prepareStatement("SELECT 1 FROM evidence_record WHERE id = ? FOR UPDATE")) {
                ps.setObject(1, r.getId());
                ps.executeQuery().close();
            }
            RequestSealedOnceTest.answer(r, new byte[]{8});
            CompletableFuture<Void> f = writer.commit(r, false, event(r.getId()));
            await().atMost(Duration.ofSeconds(5)).until(f::isDone);
            assertThat(failure(f)).isInstanceOf(EvidenceUnavailableException.class);
            resume();
            await().atMost(Duration.ofSeconds(5)).until(() -> writer.callsWaiting() == 0);
            await().pollDelay(Duration.ofMillis(1200)).atMost(Duration.ofSeconds(3)).until(() -> true);
            assertThat(state(r.getId())).as("told failed, linger " + linger).isEqualTo("open");
            EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{6});
            writer.insert(after, null);
            assertThat(writer.healthy()).isTrue();
            assertChain(chain);
            writer.close();
        }
        writer = null;
    }

    /** The writer's backend cancelled, then terminated, while its statement sleeps: outcome, health, recovery. */
    @Test
    void should_recover_from_a_backend_cancelled_or_terminated_mid_commit() throws Exception {
        sleepingTrigger(79, false);
        for (String kill : List.of("pg_cancel_backend", "pg_terminate_backend")) {
            for (Duration linger : List.of(Duration.ZERO, Duration.ofMillis(1))) {
                String chain = "review4-" + kill + "-" + linger.toMillis();
                writer(chain, linger, Duration.ofMillis(3000));
                sleepFor(2000);
                EvidenceRecord r = RequestSealedOnceTest.opened(new byte[79]);
                CompletableFuture<Void> f = CompletableFuture.supplyAsync(() -> writer.commit(r, true,
                        event(r.getId()))).thenCompose(x -> x);
                await().atMost(Duration.ofSeconds(5)).until(() -> {
                    try (Connection c = owner(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                            "SELECT " + kill + "(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                                    + "AND pid <> pg_backend_pid()")) {
                        return rs.next() && rs.getBoolean(1);
                    }
                });
                await().atMost(Duration.ofSeconds(10)).until(f::isDone);
                sleepFor(0);
                assertThat(failure(f)).as(kill).isInstanceOf(EvidenceUnavailableException.class);
                assertThat(state(r.getId())).as(kill + " mid-statement: nothing committed").isNull();
                EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{9});
                writer.insert(after, event(after.getId()));
                assertThat(state(after.getId())).isEqualTo("open");
                assertThat(writer.healthy()).as(kill + ": healthy after the next commit").isTrue();
                assertChain(chain);
                writer.close();
            }
        }
        writer = null;
    }

    /** Commit timeouts of 1 to 5 ms with no stall at all: every caller's outcome is the store's. */
    @Test
    void should_keep_each_callers_outcome_with_commit_timeouts_of_a_few_milliseconds() throws Exception {
        for (int t = 1; t <= 5; t++) {
            for (Duration linger : List.of(Duration.ZERO, Duration.ofMillis(1))) {
                String chain = "review4-tiny-" + t + "-" + linger.toMillis();
                writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(chain), 100,
                        8, linger, Duration.ofMillis(t));
                List<EvidenceRecord> rs = new ArrayList<>();
                List<CompletableFuture<Void>> fs = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{(byte) i});
                    rs.add(r);
                    fs.add(writer.commit(r, true, event(r.getId())));
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> fs.stream().allMatch(CompletableFuture::isDone));
                await().atMost(Duration.ofSeconds(10)).until(() -> writer.callsWaiting() == 0);
                await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> true);
                for (int i = 0; i < rs.size(); i++) {
                    assertOutcome("timeout " + t + " ms, linger " + linger + ", write " + i, fs.get(i),
                            rs.get(i).getId(), "open");
                }
                if (fs.stream().anyMatch(f -> failure(f) == null)) {
                    assertChain(chain);
                }
                writer.close();
                writer = null;
            }
        }
    }

    /**
     * A mixed batch through the writer thread (inserts, an update, a refusal, a late completion) stalled by an
     * uncommitted insert of one of its keys: when that commits, the store refuses the duplicate; meanwhile another
     * caller gave up. The batch is committed one by one without both: the given-up write never, the duplicate
     * refused, every other write committed; the chain contiguous; the writer healthy.
     */
    @Test
    void should_commit_a_mixed_batch_without_a_duplicate_and_a_write_given_up_meanwhile() throws Exception {
        String chain = "review4-mixed";
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(chain), 100, 32,
                Duration.ofMillis(50), Duration.ofMillis(300));
        writer.insert(RequestSealedOnceTest.opened(new byte[]{1}), null);
        EvidenceRecord updated = RequestSealedOnceTest.opened(new byte[]{40});
        writer.insert(updated, null);
        EvidenceRecord late = RequestSealedOnceTest.opened(new byte[]{41});
        writer.insert(late, null);
        EvidenceRecord twin = RequestSealedOnceTest.opened(new byte[]{42});
        stall = owner();
        stall.setAutoCommit(false);
        try (PreparedStatement ps = stall.prepareStatement("INSERT INTO evidence_record (id, request_id, instance_id, "
                + "state, received_at, method, path, request_size) VALUES (?, ?, 'x', 'open', now(), 'POST', '/', 0)")) {
            ps.setObject(1, twin.getId());
            ps.setString(2, UUID.randomUUID().toString());
            ps.executeUpdate();
        }
        EvidenceRecord refusal = RequestSealedOnceTest.opened(new byte[]{43});
        refusal.setForwardedAt(null);
        refusal.terminate(Outcome.UNAUTHENTICATED, RequestSealedOnceTest.CLOCK.instant());
        CompletableFuture<Void> dup = writer.submit(twin, true, event(twin.getId()));
        EvidenceRecord open = RequestSealedOnceTest.opened(new byte[]{44});
        CompletableFuture<Void> givenUp = writer.commit(open, true, event(open.getId()));
        RequestSealedOnceTest.answer(updated, new byte[]{45});
        CompletableFuture<Void> update = writer.submit(updated, false, event(updated.getId()));
        RequestSealedOnceTest.answer(late, new byte[]{46});
        CompletableFuture<Void> lateDone = writer.submitLate(late, false, null);
        CompletableFuture<Void> refused = writer.submitRefusal(refusal, null);
        await().atMost(Duration.ofSeconds(5)).until(givenUp::isDone);
        assertThat(failure(givenUp)).isInstanceOf(EvidenceUnavailableException.class);
        stall.commit(); // the stall ends: its row holds the twin's key
        stall.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> dup.isDone() && update.isDone() && lateDone.isDone()
                && refused.isDone());
        assertThat(failure(dup)).isInstanceOf(EvidenceUnavailableException.class);
        assertThat(failure(update)).isNull();
        assertThat(failure(lateDone)).isNull();
        assertThat(failure(refused)).isNull();
        await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> true);
        assertThat(state(open.getId())).as("given up while its batch was stalled").isNull();
        assertThat(state(updated.getId())).isEqualTo("terminal");
        assertThat(state(late.getId())).isEqualTo("terminal");
        assertThat(state(refusal.getId())).isEqualTo("terminal");
        assertThat(writer.healthy()).isTrue();
        EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{47});
        writer.insert(after, null);
        assertChain(chain);
    }

    /** Many callers give up at once in a stall of the outbox; none of their writes is committed when it ends. */
    @Test
    void should_commit_none_of_many_writes_given_up_at_once() throws Exception {
        for (Duration linger : List.of(Duration.ZERO, Duration.ofMillis(1))) {
            String chain = "review4-many-" + linger.toMillis();
            writer(chain, linger, Duration.ofMillis(250));
            stall = owner();
            stall.setAutoCommit(false);
            try (Statement s = stall.createStatement()) {
                s.execute("LOCK TABLE evidence_outbox IN ACCESS EXCLUSIVE MODE");
            }
            List<EvidenceRecord> rs = new ArrayList<>();
            List<CompletableFuture<Void>> fs = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{(byte) (50 + i)});
                rs.add(r);
                Thread t = new Thread(() -> fs.add(writer.commit(r, true, event(r.getId()))));
                ts.add(t);
                t.start();
            }
            for (Thread t : ts) {
                t.join(5000);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> fs.size() == 16
                    && fs.stream().allMatch(CompletableFuture::isDone));
            resume();
            await().atMost(Duration.ofSeconds(10)).until(() -> writer.callsWaiting() == 0);
            await().pollDelay(Duration.ofMillis(1200)).atMost(Duration.ofSeconds(3)).until(() -> true);
            long told = fs.stream().filter(f -> failure(f) == null).count();
            long kept = 0;
            for (EvidenceRecord r : rs) {
                if (state(r.getId()) != null) {
                    kept++;
                }
            }
            assertThat(kept).as("committed vs told committed, linger " + linger).isEqualTo(told);
            EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{6});
            writer.insert(after, null);
            assertThat(writer.healthy()).isTrue();
            assertChain(chain);
            writer.close();
        }
        writer = null;
    }

    /** The chain head's stall ending around the moment the callers time out (swept across it), mixed inserts/updates. */
    @Test
    void should_keep_each_callers_outcome_when_the_stall_ends_as_the_wait_does() throws Exception {
        for (Duration linger : List.of(Duration.ZERO, Duration.ofMillis(1))) {
            String chain = "review4-edge-" + linger.toMillis();
            writer(chain, linger, Duration.ofMillis(200));
            for (int ms = 120; ms <= 280; ms += 8) {
                EvidenceRecord r = RequestSealedOnceTest.opened(new byte[]{(byte) ms});
                boolean update = ms % 16 == 0;
                if (update) {
                    writer.insert(r, null);
                    RequestSealedOnceTest.answer(r, new byte[]{7});
                }
                stallTheStore(chain);
                CompletableFuture<Void> f = CompletableFuture.supplyAsync(
                        () -> writer.commit(r, !update, event(r.getId()))).thenCompose(x -> x);
                await().pollDelay(Duration.ofMillis(ms)).atMost(Duration.ofSeconds(2)).until(() -> true);
                resume();
                await().atMost(Duration.ofSeconds(5)).until(f::isDone);
                await().atMost(Duration.ofSeconds(5)).until(() -> writer.callsWaiting() == 0);
                await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> true);
                assertOutcome("linger " + linger + ", stall " + ms + " ms", f, r.getId(), update ? "terminal" : "open");
            }
            EvidenceRecord after = RequestSealedOnceTest.opened(new byte[]{2});
            writer.insert(after, null);
            assertThat(writer.healthy()).isTrue();
            assertChain(chain);
            writer.close();
        }
        writer = null;
    }

    /**
     * docs/evidence.md: "a call waits for its open commit at most attest.evidence.commit-timeout-ms, then gets 503".
     * A commit made in place the long way (the chain head not held: a new writer, or after any failed commit) bounds
     * each read from the store by the commit timeout, not the call's wait: a store slow at each of two round trips
     * (a record insert that takes 150 ms, then the chain head held 130 ms more) keeps the caller about 1.5 commit
     * timeouts, past the moment it should have had its 503.
     */
    @Test
    void should_not_keep_an_in_place_caller_past_its_commit_timeout() throws Exception {
        sleepingTrigger(81, false);
        String chain = "review4-bound";
        try (EvidenceWriter first = new EvidenceWriter(db.sessionFactory(),
                new attest.evidence.chain.EvidenceChain(chain), 100, 32, Duration.ZERO, Duration.ofMillis(200))) {
            first.insert(RequestSealedOnceTest.opened(new byte[]{1}), null); // the head row exists
        }
        // a new writer (a restart): its head is not held, so its first commit goes the long way
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(chain), 100, 32,
                Duration.ZERO, Duration.ofMillis(200));
        sleepFor(150);
        stallTheStore(chain);
        EvidenceRecord r = RequestSealedOnceTest.opened(new byte[81]);
        long t0 = System.nanoTime();
        java.util.concurrent.atomic.AtomicReference<CompletableFuture<Void>> f = new java.util.concurrent.atomic.AtomicReference<>();
        CompletableFuture<Long> elapsed = CompletableFuture.supplyAsync(() -> {
            f.set(writer.commit(r, true, null));
            failure(f.get()); // in place: returns when the commit is done or failed
            return (System.nanoTime() - t0) / 1_000_000;
        });
        await().pollDelay(Duration.ofMillis(280)).atMost(Duration.ofSeconds(2)).until(() -> true);
        resume();
        await().atMost(Duration.ofSeconds(5)).until(elapsed::isDone);
        sleepFor(0);
        assertThat(elapsed.join()).as("the caller's wait (ms), for a commit timeout of 200 ms").isLessThan(260);
        await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> true);
        assertOutcome("in place, the long way", f.get(), r.getId(), "open");
    }
}
