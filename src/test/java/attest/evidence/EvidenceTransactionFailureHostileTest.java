package attest.evidence;

import attest.approval.Approval;
import attest.approval.ApprovalStore;
import attest.audit.PayloadReads;
import attest.evidence.chain.EvidenceChain;
import attest.evidence.chain.Verifier;
import attest.identity.Identity;
import attest.keys.KeyStore;
import attest.usage.Budget;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An outside review of docs/evidence.md "Where evidence is written", from the spec only: an approval decision, a key
 * created or revoked and an auditor's read each commit their row, chain entry and outbox row in one transaction, or
 * none of them. The store is made to fail at every statement of the write in turn, and at its commit: each failure is
 * the unavailable exception (503), leaves nothing of the write behind (so nothing can reach Kafka), and the chain
 * still verifies after a later write on the same store succeeds.
 */
class EvidenceTransactionFailureHostileTest extends TamperBase {

    /** A DataSource whose connections throw on the Nth executed statement of an armed write, or on its commit. */
    static final class FailingStore {
        final AtomicInteger failAt = new AtomicInteger(-1); // -1: never; 0: on commit
        final AtomicInteger executed = new AtomicInteger();
        /** When set, the thread's own arming (statement number, 0: commit, -1: never) replaces the shared one. */
        final ThreadLocal<int[]> mine = new ThreadLocal<>();
        final DataSource dataSource;

        FailingStore(DataSource real) {
            dataSource = (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{DataSource.class},
                    (p, m, a) -> {
                        Object r = invoke(real, m, a);
                        return r instanceof Connection c ? connection(c) : r;
                    });
        }

        void arm(int n) {
            executed.set(0);
            failAt.set(n);
        }

        Connection connection(Connection real) {
            return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{Connection.class},
                    (p, m, a) -> {
                        int[] t = mine.get();
                        if (m.getName().equals("commit") && (t != null ? t[0] == 0 : failAt.get() == 0)) {
                            throw new SQLException("injected: commit failed", "08006");
                        }
                        Object r = invoke(real, m, a);
                        return r instanceof Statement s ? statement(s) : r;
                    });
        }

        Statement statement(Statement real) {
            List<Class<?>> ifaces = new ArrayList<>();
            for (Class<?> i : new Class<?>[]{java.sql.CallableStatement.class, java.sql.PreparedStatement.class,
                    Statement.class}) {
                if (i.isInstance(real)) {
                    ifaces.add(i);
                    break;
                }
            }
            InvocationHandler h = (p, m, a) -> {
                int[] t = mine.get();
                if (m.getName().startsWith("execute") && (t != null ? ++t[1] == t[0]
                        : executed.incrementAndGet() == failAt.get())) {
                    throw new SQLException("injected: statement " + failAt.get() + " failed", "08006");
                }
                return invoke(real, m, a);
            };
            return (Statement) Proxy.newProxyInstance(getClass().getClassLoader(), ifaces.toArray(Class<?>[]::new), h);
        }

        static Object invoke(Object target, java.lang.reflect.Method m, Object[] a) throws Throwable {
            try {
                return m.invoke(target, a);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }

    /** What one write leaves behind: its own row(s), the chain's entries and the outbox's rows. */
    record Counts(long rows, long chain, long outbox) {
    }

    static long count(String sql) throws Exception {
        return Long.parseLong(oneAsOwner(sql));
    }

    static Counts counts(String chain, String rowsSql) throws Exception {
        return new Counts(count(rowsSql), count("SELECT count(*) FROM evidence_chain WHERE chain_id = '" + chain + "'"),
                count("SELECT count(*) FROM evidence_outbox"));
    }

    /**
     * Runs the write with the store failing at statement 1, 2, ... until it needs fewer, and at its commit; after
     * each: a failure is the unavailable exception and nothing of it is committed; a success commits all of it.
     * Then one more clean write on the same store, and the chain verifies.
     */
    static void failEverywhere(String chain, FailingStore fs, Supplier<String> rowsSql, Runnable write, int rowsPerWrite)
            throws Exception {
        failEverywhere(chain, fs, rowsSql, write, rowsPerWrite, 1);
    }

    static void failEverywhere(String chain, FailingStore fs, Supplier<String> rowsSql, Runnable write, int rowsPerWrite,
                               int entriesPerWrite) throws Exception {
        List<String> seen = new ArrayList<>();
        for (int n = 1; n <= 40; n++) {
            if (attempt(chain, fs, rowsSql, write, rowsPerWrite, entriesPerWrite, n, seen)) {
                break;
            }
        }
        attempt(chain, fs, rowsSql, write, rowsPerWrite, entriesPerWrite, 0, seen);
        fs.arm(-1);
        Counts before = counts(chain, rowsSql.get());
        write.run();
        Counts after = counts(chain, rowsSql.get());
        assertThat(after).as("a clean write after the failures").isEqualTo(new Counts(before.rows() + rowsPerWrite,
                before.chain() + entriesPerWrite, before.outbox() + 1));
        try (Connection c = owner()) {
            assertContiguous(c, chain);
        }
        anchor(chain);
        Verifier.Report o = verifyAsOwner();
        assertThat(o.code()).as("verify after failures " + seen + ": " + o.summary() + " " + o.faults())
                .isEqualTo(Verifier.VALID);
        assertThat(seen).as("the store failed at least once").anyMatch(s -> s.startsWith("failed"));
    }

    /** True when the write went through (the armed statement was past its last). */
    static boolean attempt(String chain, FailingStore fs, Supplier<String> rowsSql, Runnable write, int rowsPerWrite,
                           int entriesPerWrite, int n, List<String> seen) throws Exception {
        Counts before = counts(chain, rowsSql.get());
        fs.arm(n);
        RuntimeException thrown = null;
        try {
            write.run();
        } catch (RuntimeException e) {
            thrown = e;
        } finally {
            fs.arm(-1);
        }
        Counts after = counts(chain, rowsSql.get());
        String at = n == 0 ? "commit" : "statement " + n;
        if (thrown != null) {
            seen.add("failed at " + at);
            assertThat(thrown).as("the failure at " + at).isInstanceOf(EvidenceUnavailableException.class);
            assertThat(after).as("nothing committed when the store failed at " + at).isEqualTo(before);
            return false;
        }
        seen.add("passed at " + at);
        assertThat(n).as("a write whose commit failed did not report it").isNotZero();
        assertThat(after).as("all committed when the write passed (armed at " + at + ")")
                .isEqualTo(new Counts(before.rows() + rowsPerWrite, before.chain() + entriesPerWrite,
                        before.outbox() + 1));
        return true;
    }

    static KeyStore.Draft draft(String name) {
        return new KeyStore.Draft(name, "bob-sub", "bob", "user", "portal", List.of("llm"), List.of("gpt-4o*"),
                new Budget(60L, 10_000L, 1_000_000L, null, "month"), Instant.now().plusSeconds(86_400));
    }

    @Test
    void should_commit_a_key_creation_whole_or_not_at_all_wherever_the_store_fails() throws Exception {
        String chain = "h89-key-create";
        FailingStore fs = new FailingStore(db.dataSource());
        KeyStore store = new KeyStore(fs.dataSource, chain, "attest.key", Clock.systemUTC());
        failEverywhere(chain, fs, () -> "SELECT count(*) FROM api_key WHERE name LIKE 'h89-%'",
                () -> store.create(draft("h89-" + UUID.randomUUID()), "bob-sub"), 1);
    }

    @Test
    void should_commit_a_key_revocation_whole_or_not_at_all_wherever_the_store_fails() throws Exception {
        String chain = "h89-key-revoke";
        FailingStore fs = new FailingStore(db.dataSource());
        KeyStore store = new KeyStore(fs.dataSource, chain, "attest.key", Clock.systemUTC());
        List<UUID> keys = new ArrayList<>();
        for (int i = 0; i < 45; i++) {
            keys.add(store.create(draft("h89r-" + i), "bob-sub").key().id());
        }
        AtomicInteger next = new AtomicInteger();
        failEverywhere(chain, fs, () -> "SELECT count(*) FROM api_key WHERE name LIKE 'h89r-%' AND revoked_at IS NOT NULL",
                () -> {
                    UUID id = keys.get(next.get());
                    // a revocation that failed is retried on the same key; one that passed moves on
                    if (store.revoke(id, "admin-sub")) {
                        next.incrementAndGet();
                    } else {
                        throw new AssertionError("a live key's revocation changed nothing: " + id);
                    }
                }, 1);
    }

    @Test
    void should_commit_an_approval_decision_whole_or_not_at_all_wherever_the_store_fails() throws Exception {
        String chain = "h89-approval";
        FailingStore fs = new FailingStore(db.dataSource());
        ApprovalStore store = new ApprovalStore(fs.dataSource, "attest.approval", chain, Clock.systemUTC());
        Identity carol = new Identity("carol-sub", "carol", Identity.USER, "portal", List.of("approver"), List.of(),
                "tok", "iss", Instant.now());
        writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain("h89-held-calls"), 10, 4,
                java.time.Duration.ZERO, java.time.Duration.ofSeconds(5));
        List<UUID> held = new ArrayList<>();
        for (int i = 0; i < 45; i++) {
            EvidenceRecord call = RequestSealedOnceTest.opened("{}".getBytes(StandardCharsets.UTF_8));
            call.setInstanceId("h89-held-calls");
            writer.insert(call, null);
            Instant now = Instant.now();
            Approval a = new Approval(UUID.randomUUID(), call.getId(), call.getRequestId(), Approval.PENDING, "bob-sub",
                    "bob", "{}", "llm", "/v1/chat/completions", "POST", "/llm/v1/chat/completions", "{}",
                    "{\"messages\":[]}".getBytes(StandardCharsets.UTF_8), "a".repeat(64), "{}", "review-all", "held",
                    "approver", null, 2, "preview", now, now.plusSeconds(600), null, null, null, null, List.of());
            store.hold(a, 0);
            held.add(a.id());
        }
        String ids = String.join(",", held.stream().map(u -> "'" + u + "'").toList());
        AtomicInteger next = new AtomicInteger();
        // two approvals required: the first approve is a decision that leaves the call pending (one event, one entry)
        failEverywhere(chain, fs, () -> "SELECT count(*) FROM approval_event WHERE kind <> 'held' AND approval_id IN ("
                        + ids + ")",
                () -> {
                    ApprovalStore.DecideResult r = store.decide(held.get(next.get()), carol, "approve", "ok", "web");
                    next.incrementAndGet();
                    assertThat(r).isNotNull();
                }, 1);
    }

    @Test
    void should_record_an_auditors_read_or_refuse_it_wherever_the_store_fails() throws Exception {
        String chain = "h89-audit";
        writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain("h89-calls"), 10, 4, java.time.Duration.ZERO,
                java.time.Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened("{\"q\":1}".getBytes(StandardCharsets.UTF_8));
        r.setInstanceId("h89-calls");
        writer.insert(r, null);
        FailingStore fs = new FailingStore(db.dataSource());
        PayloadReads reads = new PayloadReads(fs.dataSource, new EvidenceChain(chain), null, "attest.audit",
                Clock.systemUTC());
        Identity auditor = new Identity("aud-sub", "aud", Identity.USER, "portal", List.of("auditor"), List.of(),
                "tok", "iss", Instant.now());
        failEverywhere(chain, fs, () -> "SELECT 0", () -> assertThat(reads.read(r.getId(), auditor)).isPresent(), 0);
    }

    @Test
    void should_commit_a_checkpoint_whole_or_not_at_all_wherever_the_store_fails() throws Exception {
        String chain = "h89-checkpoint";
        writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 10, 4, java.time.Duration.ZERO,
                java.time.Duration.ofSeconds(5));
        EvidenceRecord r = RequestSealedOnceTest.opened("{}".getBytes(StandardCharsets.UTF_8));
        r.setInstanceId(chain);
        writer.insert(r, null);
        FailingStore fs = new FailingStore(db.dataSource());
        attest.evidence.chain.Checkpoints cps = new attest.evidence.chain.Checkpoints(fs.dataSource, chain, signer(),
                1000, java.time.Duration.ofHours(1), "attest.checkpoint", Clock.systemUTC());
        cps.start();
        // a checkpoint and its stop row are one write: both or neither, with the checkpoint's event
        failEverywhere(chain, fs, () -> "SELECT (SELECT count(*) FROM evidence_checkpoint WHERE chain_id = '" + chain
                + "') + (SELECT count(*) FROM evidence_instance WHERE chain_id = '" + chain + "')", cps::stop, 2, 0);
    }

    @Test
    void should_keep_rows_entries_and_events_in_step_when_failing_and_passing_key_writes_race() throws Exception {
        String chain = "h89-key-race";
        FailingStore fs = new FailingStore(db.dataSource());
        KeyStore store = new KeyStore(fs.dataSource, chain, "attest.key", Clock.systemUTC());
        store.create(draft("h89x-first"), "bob-sub");
        String rows = "SELECT count(*) FROM api_key WHERE name LIKE 'h89x-%'";
        Counts before = counts(chain, rows);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        AtomicInteger passed = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        try {
            List<java.util.concurrent.Future<?>> all = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                all.add(pool.submit(() -> {
                    java.util.Random random = new java.util.Random(thread);
                    for (int i = 0; i < 12; i++) {
                        // half the writes fail at a random statement (1..8: 8 is past the last) or at commit
                        int at = random.nextBoolean() ? -1 : random.nextInt(9);
                        fs.mine.set(new int[]{at, 0});
                        try {
                            store.create(draft("h89x-" + thread + "-" + i), "bob-sub");
                            passed.incrementAndGet();
                        } catch (EvidenceUnavailableException e) {
                            failed.incrementAndGet();
                        } finally {
                            fs.mine.remove();
                        }
                    }
                    return null;
                }));
            }
            for (var f : all) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(failed.get()).as("some writes failed").isPositive();
        assertThat(counts(chain, rows)).as("rows, entries and events in step").isEqualTo(new Counts(
                before.rows() + passed.get(), before.chain() + passed.get(), before.outbox() + passed.get()));
        try (Connection c = owner()) {
            assertContiguous(c, chain);
        }
        anchor(chain);
        Verifier.Report o = verifyAsOwner();
        assertThat(o.code()).as(o.summary() + " " + o.faults()).isEqualTo(Verifier.VALID);
    }
}
