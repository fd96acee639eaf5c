package attest.evidence;

import org.hibernate.SessionFactory;
import org.hibernate.engine.jdbc.connections.spi.ConnectionProvider;
import org.hibernate.engine.spi.SessionFactoryImplementor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Group commit for evidence. Callers hand in writes and wait for their commit; one writer thread takes
 * every write that is waiting (up to {@code maxBatch}, lingering at most {@code linger} for more) and
 * commits them in one transaction. Under load many calls share a commit; alone, a call commits its own write on
 * its own thread (no hand-off), in one round trip once the chain head is held. A failed commit fails every write
 * in it, and the callers refuse their calls.
 * <p>
 * Two lanes ({@link EvidenceLanes}): calls, whose callers wait for the commit, and refusals (requests refused
 * before any route saw them, and refusal summaries), whose writers do not wait. Every batch takes the waiting
 * calls first and refusals only in what is left, at most {@code maxRefusalsPerBatch}; the refusal lane has its
 * own capacity, so a flood of refusals never delays or refuses a call's evidence.
 */
public final class EvidenceWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EvidenceWriter.class);

    /**
     * One write: a record to insert or update, and an optional outbox event in the same transaction; {@code entry}
     * is the record's chain entry with its body rendered by the submitting thread (its time is the commit's).
     */
    private record Write(EvidenceRecord record, boolean insert, OutboxEvent event, RefusalSummary summary,
                         boolean refusal, attest.evidence.chain.EvidenceChain.Entry entry,
                         CompletableFuture<Void> done, boolean waited, java.util.concurrent.atomic.AtomicInteger state,
                         long submittedNanos) {
        /** Waiting in a lane. */
        static final int QUEUED = 0;
        /** Taken for a commit: its statements may be running, but its commit is not sent yet. */
        static final int CLAIMED = 1;
        /** Its commit is sent (or its one-trip pipeline, which commits at its end): the store decides its outcome. */
        static final int COMMITTING = 2;
        /** Given up by its caller, whose wait timed out first: never committed (the caller refused its call). */
        static final int GIVEN_UP = 3;

        /** @param waited its caller waits for it within the commit timeout ({@link #commit}), and may give it up */
        Write(EvidenceRecord record, boolean insert, OutboxEvent event, RefusalSummary summary, boolean refusal,
              attest.evidence.chain.EvidenceChain.Entry entry, CompletableFuture<Void> done, boolean waited) {
            this(record, insert, event, summary, refusal, entry, done, waited,
                    new java.util.concurrent.atomic.AtomicInteger(QUEUED), System.nanoTime());
        }

        /** Claims this queued write for a commit (the writer, or its caller in place); false if it was given up. */
        boolean claim() {
            return state.compareAndSet(QUEUED, CLAIMED);
        }

        /**
         * By its caller, whose wait timed out: gives this write up unless its commit was already sent. True: it will
         * never be committed (a batch that ran its statements rolls back and commits without it); false: it is being
         * committed, and its outcome is the store's.
         */
        boolean giveUp() {
            return state.compareAndSet(QUEUED, GIVEN_UP) || state.compareAndSet(CLAIMED, GIVEN_UP);
        }

        /** Just before its commit is sent: false if its caller gave it up (then it must not be committed). */
        boolean committing() {
            return state.compareAndSet(CLAIMED, COMMITTING) || state.get() == COMMITTING;
        }

        /** Whether its commit was sent (the store decides its outcome). */
        boolean sent() {
            return state.get() == COMMITTING;
        }

        /** A commit sent that the store refused as a whole and kept nothing of, to be sent again: claimed again. */
        void notSent() {
            state.compareAndSet(COMMITTING, CLAIMED);
        }
    }

    private final SessionFactory sessionFactory;
    /** The pool the session factory uses: the writer's commits are plain JDBC on it. */
    private final DataSource dataSource;
    /** The chain head, held by the writer thread between its commits (read again after a failed one). */
    private final attest.evidence.chain.EvidenceChain.Appender appender;
    private final String chainId;
    private volatile attest.evidence.crypto.PayloadCipher cipher;
    private final EvidenceLanes<Write> lanes;
    private final int maxBatch;
    private final long lingerNanos;
    private final Duration commitTimeout;
    private final Thread thread;
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong oneTrip = new AtomicLong();
    private final AtomicLong inPlace = new AtomicLong();
    /** Held by whoever commits: the writer thread, or a caller committing its own write in place. */
    private final java.util.concurrent.locks.ReentrantLock committing = new java.util.concurrent.locks.ReentrantLock();
    private final AtomicLong written = new AtomicLong();
    private volatile boolean running = true;
    private volatile boolean healthy = true;

    /**
     * @param chain the instance's hash chain: every write is appended to it in the same transaction
     */
    public EvidenceWriter(SessionFactory sessionFactory, attest.evidence.chain.EvidenceChain chain, int queueCapacity,
                          int maxBatch, Duration linger, Duration commitTimeout) {
        this(sessionFactory, chain, queueCapacity, maxBatch, linger, commitTimeout, Math.max(1, queueCapacity / 5),
                Math.max(1, maxBatch / 4));
    }

    /**
     * @param refusalCapacity     refusals waiting at most (past it a refusal's write fails at once)
     * @param maxRefusalsPerBatch refusals per commit at most
     */
    public EvidenceWriter(SessionFactory sessionFactory, attest.evidence.chain.EvidenceChain chain, int queueCapacity,
                          int maxBatch, Duration linger, Duration commitTimeout, int refusalCapacity,
                          int maxRefusalsPerBatch) {
        this.sessionFactory = sessionFactory;
        this.dataSource = ((SessionFactoryImplementor) sessionFactory).getServiceRegistry()
                .requireService(ConnectionProvider.class).unwrap(DataSource.class);
        this.appender = chain.appender();
        this.chainId = chain.chainId();
        this.lanes = new EvidenceLanes<>(queueCapacity, refusalCapacity, maxRefusalsPerBatch);
        this.maxBatch = maxBatch;
        this.lingerNanos = linger.toNanos();
        this.commitTimeout = commitTimeout;
        this.thread = new Thread(this::run, "attest-evidence-writer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Encrypts the payloads of every record written from now on (AttestConfiguration always sets one). */
    public EvidenceWriter encryptWith(attest.evidence.crypto.PayloadCipher cipher) {
        this.cipher = cipher;
        return this;
    }

    /**
     * Inserts a record (and its event), waiting for the commit; as {@link #commit}, a write whose commit was not sent
     * when the wait times out is never committed after its caller was told it failed.
     */
    public void insert(EvidenceRecord record, OutboxEvent event) {
        await(commit(record, true, event));
    }

    /** Updates a record (and adds its event), waiting for the commit; as {@link #insert}. */
    public void update(EvidenceRecord record, OutboxEvent event) {
        await(commit(record, false, event));
    }

    /**
     * Queues a write and returns its commit without waiting; the future fails with
     * {@link EvidenceUnavailableException} when the commit fails or is not sent within the commit timeout, as
     * {@link #insert} and {@link #update} would throw.
     */
    public CompletableFuture<Void> commit(EvidenceRecord record, boolean insert, OutboxEvent event) {
        return commit(record, insert, event, null);
    }

    /**
     * {@link #commit(EvidenceRecord, boolean, OutboxEvent)}; and {@code failed} runs, before the caller is told, when the
     * caller is told the write failed: the caller refuses its call, and {@code failed} completes the record as the
     * call ended (it must only queue, {@link #submitLate}; should the write have committed after all, a connection
     * lost in its commit, the store refuses that completion of a terminal record). A write whose commit was not sent
     * when the caller's wait timed out (still queued, or its batch's statements still running) is then never
     * committed. A write whose commit was sent is waited for: its caller's outcome is the store's, never a 503 for a
     * call the store then records as forwarded or answered (the commit itself is bounded: {@link #graceMillis()}).
     */
    public CompletableFuture<Void> commit(EvidenceRecord record, boolean insert, OutboxEvent event, Runnable failed) {
        CompletableFuture<Void> outcome = new CompletableFuture<>();
        Write[] queued = new Write[1];
        CompletableFuture<Void> committed = submit(record, insert, event, false, queued);
        committed.copy().orTimeout(commitTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((ok, err) -> {
                    if (err instanceof TimeoutException && queued[0] != null) {
                        if (queued[0].giveUp()) {
                            // not sent for commit, and now never will be: a record said to be forwarded that never
                            // was, or a call recorded as answered whose answer was withheld, cannot happen
                            queued[0].done().completeExceptionally(
                                    new EvidenceUnavailableException("evidence commit timed out"));
                        } else {
                            // its commit is sent: the store's outcome is the caller's, in a moment
                            committed.whenComplete((ok2, err2) -> settle(outcome, err2, failed));
                            return;
                        }
                    }
                    settle(outcome, err, failed);
                });
        return outcome;
    }

    /** The caller's outcome of a write: done, or {@link EvidenceUnavailableException} after {@code failed} ran. */
    private static void settle(CompletableFuture<Void> outcome, Throwable err, Runnable failed) {
        if (err == null) {
            outcome.complete(null);
            return;
        }
        if (failed != null) {
            try {
                failed.run();
            } catch (RuntimeException e) {
                LOG.warn("completing a failed write's record failed: {}", rootMessage(e));
            }
        }
        Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null
                ? err.getCause() : err;
        outcome.completeExceptionally(cause instanceof EvidenceUnavailableException eu ? eu
                : new EvidenceUnavailableException(cause instanceof TimeoutException
                ? "evidence commit timed out" : "evidence commit failed"));
    }

    /** Queues a write and returns its commit, without waiting. */
    public CompletableFuture<Void> submit(EvidenceRecord record, boolean insert, OutboxEvent event) {
        return submit(record, insert, event, false, null);
    }

    /**
     * {@link #submit(EvidenceRecord, boolean, OutboxEvent)} for a write that must not be refused for room: the
     * completion of a record whose terminal write failed (the {@code failed} of
     * {@link #commit(EvidenceRecord, boolean, OutboxEvent, Runnable)}), submitted while a stall holds the queue, which
     * may be full of the writes the stall held. Past the queue's capacity if need be (there are at most as many as
     * writes failed).
     */
    public CompletableFuture<Void> submitLate(EvidenceRecord record, boolean insert, OutboxEvent event) {
        return submit(record, insert, event, false, null, true);
    }

    /**
     * Queues the terminal record of a refused request in the refusal lane; nobody waits for it. When the lane
     * is full the returned future fails at once (the caller counts the refusal instead).
     */
    public CompletableFuture<Void> submitRefusal(EvidenceRecord record, OutboxEvent event) {
        return submit(record, true, event, true, null);
    }

    /** Queues a refusal summary in the refusal lane; fails at once when the lane is full (retry later). */
    public CompletableFuture<Void> submitSummary(RefusalSummary summary, OutboxEvent event) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (!running) {
            done.completeExceptionally(new EvidenceUnavailableException("evidence writer stopped"));
        } else if (!lanes.offerRefusal(new Write(null, true, event, summary, true, null, done, false))) {
            done.completeExceptionally(new EvidenceUnavailableException("evidence refusal lane full"));
        }
        return done;
    }

    /** @param queued when not null, gets the write if it was queued (not committed or refused at once) */
    private CompletableFuture<Void> submit(EvidenceRecord record, boolean insert, OutboxEvent event, boolean refusal,
                                           Write[] queued) {
        return submit(record, insert, event, refusal, queued, false);
    }

    /** @param always past the calls' capacity if need be ({@link #submitLate}) */
    private CompletableFuture<Void> submit(EvidenceRecord record, boolean insert, OutboxEvent event, boolean refusal,
                                           Write[] queued, boolean always) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (!running) {
            done.completeExceptionally(new EvidenceUnavailableException("evidence writer stopped"));
            return done;
        }
        EvidenceRecord snapshot = record.snapshot();
        try {
            seal(snapshot);
        } catch (RuntimeException e) {
            // no key, no write: the payload is never stored in the clear instead
            done.completeExceptionally(e instanceof EvidenceUnavailableException eu ? eu
                    : new EvidenceUnavailableException("payload encryption failed"));
            return done;
        }
        String unchained = RecordView.unchained(snapshot);
        if (unchained != null) {
            // its row would hold what its entry leaves out: the verifier would read it as tampered with. Fails alone
            done.completeExceptionally(new EvidenceUnavailableException((refusal ? "refusal" : "evidence")
                    + " not representable in the chain (its entry leaves out " + unchained + ")"));
            return done;
        }
        attest.evidence.chain.EvidenceChain.Entry entry;
        try {
            // the chain entry's body rendered here, on the submitting thread: the writer's one thread only places it
            entry = entry(snapshot, refusal);
        } catch (RuntimeException e) {
            // a record with no canonical form (a lone surrogate, say) fails alone, not the batch it would join
            done.completeExceptionally(new EvidenceUnavailableException(refusal
                    ? "refusal not representable in the chain" : "evidence not representable in the chain"));
            return done;
        }
        Write w = new Write(snapshot, insert, event, null, refusal, entry, done, queued != null);
        // once committed, what the row holds for the request body: a later write of this record that still has that
        // body leaves the column as it is. Set before the caller's own continuations run (they depend on this stage).
        EvidenceRecord.Sealed stored = snapshot.sealedRequest();
        CompletableFuture<Void> remembered = done.thenApply(ok -> {
            record.sealedRequest(stored);
            return ok;
        });
        // a late completion is never committed in place: it may run on whatever thread completed a future
        if (!refusal && !always && committedInPlace(w)) {
            return remembered;
        }
        if (always && !refusal) {
            lanes.forceCall(w);
        } else if (refusal ? !lanes.offerRefusal(w) : !lanes.offerCall(w)) {
            done.completeExceptionally(new EvidenceUnavailableException(refusal ? "evidence refusal lane full"
                    : "evidence queue full"));
        } else if (queued != null) {
            queued[0] = w;
        }
        return remembered;
    }

    /**
     * Commits a call's write on the caller's own thread when nothing else is being committed or waits to be (below
     * saturation, where each commit is a call's latency): the hand-off to the writer thread and back are two thread
     * wake-ups, each longer than the commit itself on an idle machine. On a Netty event loop (the data plane's
     * steps run there) only while the last commit succeeded: an event loop serves many connections, and a commit
     * to a store that has just failed may block for the store's connect or commit timeout; the first commit of a
     * store that stalls blocks its loop for at most the commit timeout, and the calls after it are queued to the
     * writer until a commit succeeds again. Never with a linger (batching is then wanted), and never for refusals
     * (their lane is the writer's alone). Under load the lock or the queue is busy, and the writer thread batches
     * as before.
     *
     * @return whether the write was committed (or failed) here; false: queue it for the writer
     */
    private boolean committedInPlace(Write w) {
        // not from within a commit either (a completed write's continuation that writes again): queue that one
        if (lingerNanos > 0 || lanes.callsWaiting() > 0 || committing.isHeldByCurrentThread()
                || (!healthy && onEventLoop())
                || !committing.tryLock()) {
            return false;
        }
        try {
            inPlace.incrementAndGet();
            w.claim(); // its own, not queued: nobody else can claim it
            commit(List.of(w), true);
        } catch (Throwable e) {
            w.done().completeExceptionally(new EvidenceUnavailableException("evidence commit failed"));
        } finally {
            committing.unlock();
        }
        return true;
    }

    /**
     * In place, the long way: the reads of each step before the commit are bounded by what is left of the caller's
     * wait, so that the caller has its outcome within its commit timeout, however the time is spread over the steps
     * (each read bounded by a whole timeout kept it about one and a half). A step that times out fails the write,
     * whose commit was not sent: the store, its client gone, keeps nothing.
     */
    private void boundInPlace(Connection c, Write w) throws SQLException {
        long left = commitTimeout.toMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - w.submittedNanos());
        if (left <= 0) {
            throw new SQLException("the evidence commit's time ran out before it was sent", "57014");
        }
        c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, left));
    }

    private static boolean onEventLoop() {
        return io.netty.util.internal.ThreadExecutorMap.currentExecutor() instanceof io.netty.channel.EventLoop;
    }

    /** Waits for the outcome of {@link #commit}, which is bounded by the commit timeout itself (no second timer). */
    private void await(CompletableFuture<Void> done) {
        try {
            done.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof EvidenceUnavailableException eu ? eu
                    : new EvidenceUnavailableException("evidence commit failed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EvidenceUnavailableException("interrupted while committing evidence");
        }
    }

    /**
     * Encrypts the record's payloads with one data key. A request body this record already stored (the open
     * record's, the same array) is not sealed again: its stored bytes are reused under their data key, and the
     * write leaves the column as it is ({@link EvidenceRecord#requestStored()}), so a terminal update neither
     * encrypts nor rewrites the prompt. Should that data key no longer seal (destroyed meanwhile), everything is
     * sealed afresh with the current key and written again.
     */
    private void seal(EvidenceRecord r) {
        attest.evidence.crypto.PayloadCipher c = cipher;
        if (c == null || r.getPayloadKeyId() != null || r.isPayloadPurged()) {
            r.sealedRequest(null);
            return;
        }
        if (r.getRequestBody() == null && r.getResponseBody() == null && r.getRawResponseBody() == null) {
            r.sealedRequest(null);
            return; // nothing to seal (a refusal): no data key named
        }
        EvidenceRecord.Sealed stored = r.sealedRequest();
        if (stored != null && stored.plain() == r.getRequestBody() && stored.id().equals(r.getId())) {
            try {
                sealWith(c, r, stored.keyId(), stored);
                return;
            } catch (RuntimeException e) {
                // the stored request's data key cannot seal any more: seal everything afresh below
            }
        }
        sealWith(c, r, c.currentKeyId(), null);
    }

    /** Seals the payloads with {@code keyId}; the request body's stored bytes where {@code stored} has them. */
    private static void sealWith(attest.evidence.crypto.PayloadCipher c, EvidenceRecord r, String keyId,
                                 EvidenceRecord.Sealed stored) {
        String id = r.getId().toString();
        byte[] request = r.getRequestBody();
        byte[] sealedRequest = stored != null ? stored.sealed()
                : request == null ? null : c.encrypt(request, keyId, id + ":request");
        byte[] response = r.getResponseBody() == null ? null : c.encrypt(r.getResponseBody(), keyId, id + ":response");
        byte[] raw = r.getRawResponseBody() == null ? null : c.encrypt(r.getRawResponseBody(), keyId, id + ":raw");
        r.setRequestBody(sealedRequest);
        r.setResponseBody(response);
        r.setRawResponseBody(raw);
        r.setPayloadKeyId(keyId);
        r.requestStored(stored != null);
        r.sealedRequest(request == null ? null : new EvidenceRecord.Sealed(r.getId(), request, sealedRequest, keyId));
    }

    /** Reads a committed record (a held call's, to complete it later), with its payloads decrypted. */
    public EvidenceRecord find(java.util.UUID id) {
        try {
            EvidenceRecord r = sessionFactory.fromStatelessTransaction(s -> s.get(EvidenceRecord.class, id));
            if (r == null) {
                throw new EvidenceUnavailableException("evidence record not found");
            }
            attest.evidence.crypto.PayloadCipher c = cipher;
            if (c != null && r.getPayloadKeyId() != null) {
                try {
                    if (r.getRequestBody() != null) {
                        r.setRequestBody(c.decrypt(r.getRequestBody(), r.getPayloadKeyId(), id + ":request"));
                    }
                    if (r.getResponseBody() != null) {
                        r.setResponseBody(c.decrypt(r.getResponseBody(), r.getPayloadKeyId(), id + ":response"));
                    }
                    if (r.getRawResponseBody() != null) {
                        r.setRawResponseBody(c.decrypt(r.getRawResponseBody(), r.getPayloadKeyId(), id + ":raw"));
                    }
                } catch (attest.evidence.crypto.PayloadCipher.PurgedException e) {
                    r.setRequestBody(null);
                    r.setResponseBody(null);
                    r.setRawResponseBody(null);
                    r.setPayloadPurged(true);
                }
                r.setPayloadKeyId(null); // plaintext again: the next write seals it with the current key
            }
            return r;
        } catch (RuntimeException e) {
            throw e instanceof EvidenceUnavailableException eu ? eu
                    : new EvidenceUnavailableException("evidence store unavailable");
        }
    }

    /** Whether the last commit succeeded. */
    public boolean healthy() {
        return healthy;
    }

    /**
     * Whether nothing is being committed or waits to be: a call's write submitted now may commit in place. (A caller
     * told its write committed may still find the writer thread finishing that commit's batch.)
     */
    boolean idle() {
        return !committing.isLocked() && lanes.callsWaiting() == 0;
    }

    public long commits() {
        return commits.get();
    }

    /** Commits made on a caller's own thread (no hand-off to the writer thread). */
    public long commitsInPlace() {
        return inPlace.get();
    }

    /** Commits sent as one pipeline, in one round trip (a batch of one write with the chain head held). */
    public long commitsInOneTrip() {
        return oneTrip.get();
    }

    public long written() {
        return written.get();
    }

    /** Calls and refusals waiting for a commit now. */
    public int callsWaiting() {
        return lanes.callsWaiting();
    }

    public int refusalsWaiting() {
        return lanes.refusalsWaiting();
    }

    private void run() {
        List<Write> batch = List.of();
        while (running || !lanes.isEmpty()) {
            try {
                if (!lanes.awaitWork(100, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                committing.lock();
                try {
                    batch = lanes.takeBatch(maxBatch);
                    if (batch.isEmpty()) {
                        continue;
                    }
                    if (lingerNanos > 0) {
                        long deadline = System.nanoTime() + lingerNanos;
                        while (batch.size() < maxBatch) {
                            long left = deadline - System.nanoTime();
                            if (left <= 0 || !lanes.awaitCall(left, TimeUnit.NANOSECONDS)) {
                                break;
                            }
                            lanes.topUpCalls(batch, maxBatch);
                        }
                    }
                    batch = claimed(batch);
                    if (!batch.isEmpty()) {
                        commit(batch, false);
                    }
                } finally {
                    committing.unlock();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Throwable e) {
                // the writer must outlive any failure: a dead writer would refuse every call from now on
                LOG.error("evidence writer loop error: {}", e.getClass().getSimpleName());
            } finally {
                batch = List.of();
            }
        }
        for (Write w : lanes.drainAll()) {
            w.done().completeExceptionally(new EvidenceUnavailableException("evidence writer stopped"));
        }
    }

    /** The writes of a batch that this commit claims; the others were given up by their callers (timed out). */
    private static List<Write> claimed(List<Write> batch) {
        List<Write> mine = new ArrayList<>(batch.size());
        for (Write w : batch) {
            if (w.claim()) {
                mine.add(w);
            }
        }
        return mine;
    }

    /** The writes of a batch whose commit is now sent; the others were given up by their callers meanwhile. */
    private static List<Write> committing(List<Write> batch) {
        List<Write> sent = new ArrayList<>(batch.size());
        for (Write w : batch) {
            if (w.committing()) {
                sent.add(w);
            }
        }
        return sent;
    }

    /** How long a commit already sent is waited for by the writer thread (and its callers) at most: a commit timeout. */
    private int graceMillis() {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, commitTimeout.toMillis()));
    }

    /** {@link #inOneTrip}: the batch is to be written the long way; it was committed; its one write was given up. */
    private static final int LONG_WAY = 0;
    private static final int DONE = 1;
    private static final int GIVEN_UP = 2;

    /**
     * Commits a batch. A write whose caller gave up before its commit was sent is never committed: the one-trip
     * pipeline is not sent for it, and a batch written the long way is rolled back and committed again without it.
     *
     * @param inPlace on a caller's thread: every read from the store is bounded by the commit timeout (a stalled
     *                store fails this call in that time, as a queued call's wait would, instead of holding its
     *                thread for the driver's socket timeout)
     * @return false when the store failed (down, unreachable), true when it committed or refused only some rows
     */
    private boolean commit(List<Write> batch, boolean inPlace) {
        Connection c = null;
        boolean isolate = false;
        boolean failed = false;
        List<Write> without = null; // the batch, to commit again without the writes given up while it was written
        int pid = -1;
        java.time.Instant sentAt = null;
        try {
            c = dataSource.getConnection();
            pid = backendPid(c);
            if (inPlace) {
                c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, commitTimeout.toMillis()));
            }
            java.time.Instant now = java.time.Instant.now();
            sentAt = now;
            List<attest.evidence.chain.EvidenceChain.Entry> entries = new ArrayList<>(batch.size());
            for (Write w : batch) {
                entries.add(w.summary() != null
                        ? new attest.evidence.chain.EvidenceChain.Entry(RefusalSummary.KIND, w.summary().id(), now,
                                w.summary().chainBody())
                        : w.entry().at(now));
            }
            int trip = inOneTrip(c, batch, entries, inPlace);
            if (trip == GIVEN_UP) {
                return true; // its caller, who gave it up, refused its call: nothing was sent
            }
            if (trip == LONG_WAY) {
                c.setAutoCommit(false);
                if (inPlace) {
                    boundInPlace(c, batch.get(0));
                }
                write(c, batch);
                if (inPlace) {
                    boundInPlace(c, batch.get(0));
                }
                appender.append(c, entries);
                List<Write> sent = committing(batch);
                if (sent.size() < batch.size()) {
                    // a caller gave up while the batch was written: its write must not commit, nor the rest with it
                    c.rollback();
                    appender.forget();
                    sent.forEach(Write::notSent); // nothing kept: their callers may still give them up
                    without = sent;
                } else {
                    // the callers now wait for this commit's outcome (in place: the caller is the committer), so it
                    // is bounded (a store that froze); a reply not read in time is resolved below (storeOutcome)
                    c.setNetworkTimeout(Runnable::run, graceMillis());
                    c.commit();
                    appender.committed();
                }
            }
            if (without == null) {
                commits.incrementAndGet();
                written.addAndGet(batch.size());
                healthy = true;
                for (Write w : batch) {
                    w.done().complete(null);
                }
            }
        } catch (SQLException | RuntimeException | LinkageError | AssertionError e) {
            // a driver may throw an Error on a dead connection (AssertionError with -ea): treat it as a failed commit
            appender.forget();
            try {
                if (c != null) {
                    c.rollback();
                }
            } catch (SQLException | RuntimeException ignored) {
                // the connection is gone; the rollback has nothing to undo
            }
            boolean refused = refusedByTheStore(e);
            if (!refused && connectionLost(e) && batch.stream().anyMatch(Write::sent)
                    && Boolean.TRUE.equals(storeOutcome(pid, batch.get(0), sentAt))) {
                // the commit was sent and its reply not read (the writer's own bound ran out, not the store): the store
                // committed it, so its callers are told it committed
                LOG.warn("evidence commit of {} writes: reply lost ({}), committed by the store", batch.size(),
                        rootMessage(e));
                commits.incrementAndGet();
                written.addAndGet(batch.size());
                for (Write w : batch) {
                    w.done().complete(null);
                }
                return true;
            }
            if (refused && batch.size() > 1) {
                // the store is up and refused one write's rows (a key it already holds, a row not found): that write
                // fails alone, each of the others is committed on its own, instead of failing every call of the batch
                LOG.warn("evidence commit of {} writes refused: {}; committing them one by one", batch.size(),
                        rootMessage(e));
                batch.forEach(Write::notSent); // nothing kept: their callers may still give them up
                isolate = true;
            } else {
                healthy = healthy && refused; // a write the store refused says nothing of the store's health
                failed = !refused;
                LOG.warn("evidence commit of {} writes failed: {}", batch.size(), rootMessage(e));
                for (Write w : batch) {
                    w.done().completeExceptionally(new EvidenceUnavailableException("evidence store unavailable"));
                }
            }
        } finally {
            if (c != null) {
                try {
                    c.close();
                } catch (SQLException | RuntimeException ignored) {
                    // the pool evicts a broken connection
                }
            }
        }
        if (without != null) {
            return without.isEmpty() || commit(without, inPlace);
        }
        if (isolate) {
            for (int i = 0; i < batch.size(); i++) {
                if (!commit(List.of(batch.get(i)), inPlace)) {
                    // the store itself failed meanwhile: the rest fail now, rather than each waiting for a connection
                    for (Write w : batch.subList(i + 1, batch.size())) {
                        w.done().completeExceptionally(new EvidenceUnavailableException("evidence store unavailable"));
                    }
                    break;
                }
            }
        }
        return !failed;
    }

    private static int backendPid(Connection c) {
        try {
            return c.unwrap(org.postgresql.PGConnection.class).getBackendPID();
        } catch (SQLException | RuntimeException e) {
            return -1;
        }
    }

    /** A failure of the connection itself (I/O, the network timeout), not an error the store reported. */
    private static boolean connectionLost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql) {
                String state = sql.getSQLState();
                return state == null || state.startsWith("08");
            }
        }
        return true;
    }

    /**
     * The store's outcome of a commit sent whose reply was not read (the connection given up by the writer's own
     * bound, or lost): its backend is ended, so that it commits now or never, and then whether its write's chain
     * entry is there. Null when that cannot be known within a commit timeout, and at least a second (the store is
     * unreachable, or its commit cannot be interrupted).
     */
    private Boolean storeOutcome(int pid, Write w, java.time.Instant sentAt) {
        if (pid <= 0 || sentAt == null) {
            return null;
        }
        // a commit timeout, and at least the store's poll for a gone client (a few ms cannot find out anything)
        int bound = Math.max(graceMillis(), 1000);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(bound);
        Connection c = null;
        try {
            c = dataSource.getConnection();
            c.setNetworkTimeout(Runnable::run, bound);
            c.setAutoCommit(true);
            try (Statement s = c.createStatement()) {
                s.execute("RESET ROLE"); // a backend of the same login may be ended by it
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_terminate_backend(?)")) {
                ps.setInt(1, pid);
                ps.executeQuery().close();
            }
            boolean gone = false;
            while (!gone && System.nanoTime() < deadline) {
                try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_stat_activity WHERE pid = ?")) {
                    ps.setInt(1, pid);
                    try (ResultSet rs = ps.executeQuery()) {
                        gone = !rs.next();
                    }
                }
                if (!gone) {
                    java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
                }
            }
            try (Statement s = c.createStatement()) {
                s.execute("SET ROLE " + Database.APP_ROLE);
            }
            if (!gone) {
                return null; // still committing (a commit that cannot be interrupted): unknown
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM evidence_chain WHERE chain_id = ? "
                    + "AND subject_id = ? AND kind = ? AND recorded_at >= ?")) {
                ps.setString(1, chainId);
                ps.setObject(2, w.summary() != null ? w.summary().id() : w.record().getId());
                ps.setString(3, w.summary() != null ? RefusalSummary.KIND : w.entry().kind());
                ps.setObject(4, java.time.OffsetDateTime.ofInstant(sentAt.minusMillis(1), java.time.ZoneOffset.UTC));
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next();
                }
            }
        } catch (SQLException | RuntimeException e) {
            if (c != null) {
                try {
                    c.abort(Runnable::run); // its role may not be the gateway's: never back to the pool
                } catch (SQLException | RuntimeException ignored) {
                    // gone
                }
            }
            LOG.warn("the outcome of an evidence commit whose reply was lost is unknown: {}", rootMessage(e));
            return null;
        } finally {
            if (c != null) {
                try {
                    c.close();
                } catch (SQLException | RuntimeException ignored) {
                    // the pool evicts a broken connection
                }
            }
        }
    }

    /**
     * Whether a failed commit was the store refusing one write's content rather than the store failing: an integrity
     * constraint (SQLSTATE class 23: a key it already holds), a value it cannot take (class 22: a data exception, such as
     * a character its encoding has no place for), a record to update not found (AT002, migration V24), or
     * the append-only guard refusing a change to a terminal record (42501 with the guard's message: any other 42501 is
     * a permission the gateway's role lacks, a store that refuses every write, not one write's rows).
     */
    static boolean refusedByTheStore(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql) {
                for (SQLException x = sql; x != null; x = x.getNextException()) {
                    String state = x.getSQLState();
                    if (state != null && (state.startsWith("23") || state.startsWith("22") || state.equals("AT002")
                            || state.equals("42501")
                            && x.getMessage() != null && x.getMessage().contains(APPEND_ONLY_GUARD))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * A batch of one record write (the common case below saturation, where each commit is a call's latency) in one
     * round trip: the record's insert or update, its outbox event, the chain head's move and the chain entry are
     * sent as one pipeline of statements, which PostgreSQL runs as one implicit transaction, committed at its end
     * or not at all. The head's move ({@code attest_advance_chain_head}) and the update's row check
     * ({@code attest_expect_one}) raise errors in the database, so a pipeline that would break the chain or miss
     * its row keeps nothing. A head moved by another appender is read again the long way, in a new transaction.
     *
     * @return false when the batch is to be written the long way (larger batch, no head held, or head moved)
     */
    private int inOneTrip(Connection c, List<Write> batch, List<attest.evidence.chain.EvidenceChain.Entry> entries,
                          boolean inPlace) throws SQLException {
        if (batch.size() != 1 || batch.get(0).summary() != null) {
            return LONG_WAY;
        }
        var pipelined = appender.pipelined(entries);
        if (pipelined == null) {
            return LONG_WAY;
        }
        Write w = batch.get(0);
        // the pipeline commits at its end, so it is sent only for a write its caller still waits for, and bounded in
        // the store: in place, the caller gives up after the commit timeout (the network timeout), and the store gives
        // up first, so that a pipeline its caller gave up is never committed when a stall ends before the server polls
        // for the client (client_connection_check_interval); from the writer thread, the caller waits for the
        // outcome of a pipeline sent, and the store gives up when the caller's wait would have ended. For this
        // implicit transaction only.
        // A write nobody waits for with a deadline (a stream's end, a refusal, a record completed late) is bounded
        // by a whole commit timeout from now: what is left of a wait nobody has would cancel it in the store as soon
        // as a stall longer than the commit timeout ends, and lose, say, a stream's outcome.
        long statementMillis;
        if (inPlace) {
            statementMillis = Math.max(1, commitTimeout.toMillis() * 3 / 4);
        } else {
            statementMillis = w.waited() ? Math.max(1, commitTimeout.toMillis()
                    - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - w.submittedNanos())) : commitTimeout.toMillis();
            c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, statementMillis + graceMillis()));
        }
        String sql = "SELECT set_config('statement_timeout', ?, true); "
                + (w.insert() ? EvidenceRows.INSERT_RECORD : EvidenceRows.updateOne(w.record()))
                + (w.event() != null ? "; " + EvidenceRows.INSERT_OUTBOX : "") + "; " + pipelined.sql();
        c.setAutoCommit(true);
        if (!w.committing()) {
            appender.forget();
            return GIVEN_UP;
        }
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            int i = 1;
            ps.setString(i++, statementMillis + "ms");
            i = w.insert() ? EvidenceRows.bindInsert(c, ps, i, w.record()) : EvidenceRows.bindUpdate(c, ps, i, w.record());
            if (w.event() != null) {
                i = EvidenceRows.bindEvent(ps, i, w.event());
            }
            pipelined.bind(ps, i);
            ps.execute(); // every statement's error is thrown here: the implicit transaction kept nothing
        } catch (SQLException e) {
            appender.forget();
            if (HEAD_MOVED.equals(e.getSQLState())) {
                w.notSent(); // nothing kept: its caller may give it up again while it is written the long way
                return LONG_WAY;
            }
            throw e;
        }
        pipelined.committed();
        oneTrip.incrementAndGet();
        return DONE;
    }

    /** How the append-only guards' refusals begin (migrations V4, V7, V8: raised as insufficient_privilege). */
    private static final String APPEND_ONLY_GUARD = "evidence is append-only";

    /** The SQLSTATE of attest_advance_chain_head when the head is not where the writer holds it (migration V24). */
    private static final String HEAD_MOVED = "AT001";

    /**
     * The batch's rows in plain JDBC, one batch per statement: record inserts, record updates (each must find its
     * row), outbox events; refusal summaries one by one (rare).
     */
    private static void write(Connection c, List<Write> batch) throws SQLException {
        int inserts = 0;
        int updates = 0;
        int events = 0;
        for (Write w : batch) {
            if (w.summary() != null) {
                w.summary().insert(c);
            } else if (w.insert()) {
                inserts++;
            } else {
                updates++;
            }
            if (w.event() != null) {
                events++;
            }
        }
        if (inserts > 0) {
            try (PreparedStatement ps = c.prepareStatement(EvidenceRows.INSERT_RECORD)) {
                for (Write w : batch) {
                    if (w.summary() == null && w.insert()) {
                        EvidenceRows.addInsert(c, ps, w.record());
                    }
                }
                ps.executeBatch();
            }
        }
        if (updates > 0) {
            // in batch order; a run of updates of one kind (writing the request body, or keeping it) at a time, each
            // run in as few statements as its length in powers of two (EvidenceRows.updateRows). A record updated
            // twice in the batch starts a new run: one statement updates a row once, whatever rows name it
            List<EvidenceRecord> run = new ArrayList<>();
            java.util.Set<java.util.UUID> inRun = new java.util.HashSet<>();
            boolean keeping = false;
            for (Write w : batch) {
                if (w.summary() != null || w.insert()) {
                    continue;
                }
                boolean keep = w.record().requestStored();
                if (!run.isEmpty() && (keep != keeping || inRun.contains(w.record().getId()))) {
                    updateRun(c, run, keeping);
                    run.clear();
                    inRun.clear();
                }
                keeping = keep;
                run.add(w.record());
                inRun.add(w.record().getId());
            }
            updateRun(c, run, keeping);
        }
        if (events > 0) {
            try (PreparedStatement ps = c.prepareStatement(EvidenceRows.INSERT_OUTBOX)) {
                for (Write w : batch) {
                    if (w.event() != null) {
                        EvidenceRows.addEvent(ps, w.event());
                    }
                }
                ps.executeBatch();
            }
        }
    }

    /**
     * Updates a run of records of one kind ({@link EvidenceRecord#requestStored()} all alike), in order: in statements
     * of {@link EvidenceRows#updateRows} of the largest power of two of rows left (at most
     * {@link EvidenceRows#MAX_ROWS_PER_UPDATE}), the last one alone by {@link EvidenceRows#update}. Every record must
     * be found: a statement that updates fewer rows than it was given fails the batch (AT002, as a record not found),
     * which the writer then commits write by write.
     */
    private static void updateRun(Connection c, List<EvidenceRecord> run, boolean keep) throws SQLException {
        int done = 0;
        while (done < run.size()) {
            int n = Integer.highestOneBit(Math.min(run.size() - done, EvidenceRows.MAX_ROWS_PER_UPDATE));
            int updated;
            if (n == 1) {
                try (PreparedStatement ps = c.prepareStatement(EvidenceRows.update(run.get(done)))) {
                    EvidenceRows.bindUpdate(c, ps, 1, run.get(done));
                    updated = ps.executeUpdate();
                }
            } else {
                try (PreparedStatement ps = c.prepareStatement(EvidenceRows.updateRows(keep, n))) {
                    int i = 1;
                    for (EvidenceRecord r : run.subList(done, done + n)) {
                        i = EvidenceRows.addRow(c, ps, i, r);
                    }
                    updated = ps.executeUpdate();
                }
            }
            if (updated != n) {
                throw new SQLException("an evidence record to update was not found", "AT002");
            }
            done += n;
        }
    }

    /**
     * A refused request's chain entry without its null and empty fields (absent means null): the same
     * evidence in about two thirds of the bytes, so that a refusal's stored bytes stay bounded.
     */
    static attest.evidence.chain.EvidenceChain.Entry compact(attest.evidence.chain.EvidenceChain.Entry e) {
        Object body = Compact.withoutNulls(e.body());
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> m = body == null ? java.util.Map.of() : (java.util.Map<String, Object>) body;
        return new attest.evidence.chain.EvidenceChain.Entry(e.kind(), e.subjectId(), e.at(), m);
    }

    /** A record's chain entry, its body rendered ({@link #compact} for a refusal); its time is set at the commit. */
    private static attest.evidence.chain.EvidenceChain.Entry entry(EvidenceRecord r, boolean refusal) {
        attest.evidence.chain.EvidenceChain.Entry e = attest.evidence.chain.ChainRecords.call(r, java.time.Instant.EPOCH);
        return (refusal ? compact(e) : e).rendered();
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName();
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
