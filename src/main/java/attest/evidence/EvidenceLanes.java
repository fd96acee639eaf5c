package attest.evidence;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The evidence writer's two lanes. Calls (authenticated requests, approvals, held calls: someone waits for the
 * commit) and refusals (requests refused before any route saw them: nobody waits) are queued apart, each with its
 * own capacity, so a flood of refusals can neither fill the calls' queue nor get ahead of a call:
 * <ul>
 *   <li>every batch takes the waiting calls first, all of them up to the batch size;</li>
 *   <li>refusals only fill what is left, and at most {@code maxRefusalsPerBatch} of them, so a commit that a
 *       call may have to wait for is never made long by refusals;</li>
 *   <li>a full refusal lane refuses the refusal (the caller counts it instead), never a call.</li>
 * </ul>
 */
final class EvidenceLanes<T> {
    private final BlockingQueue<T> calls;
    private final BlockingQueue<T> refusals;
    private final int maxRefusalsPerBatch;
    private final Semaphore work = new Semaphore(0);
    /** Calls that must not be refused for room (past the calls' capacity), taken first. */
    private final java.util.Queue<T> overflow = new java.util.concurrent.ConcurrentLinkedQueue<>();

    EvidenceLanes(int callCapacity, int refusalCapacity, int maxRefusalsPerBatch) {
        this.calls = new ArrayBlockingQueue<>(callCapacity);
        this.refusals = new ArrayBlockingQueue<>(refusalCapacity);
        this.maxRefusalsPerBatch = Math.max(1, maxRefusalsPerBatch);
    }

    boolean offerCall(T t) {
        return signal(calls.offer(t));
    }

    /** Queues a call even when the calls' lane is full (a late completion: at most one per write committed late). */
    void forceCall(T t) {
        if (!calls.offer(t)) {
            overflow.add(t);
        }
        work.release();
    }

    boolean offerRefusal(T t) {
        return signal(refusals.offer(t));
    }

    private boolean signal(boolean queued) {
        if (queued) {
            work.release();
        }
        return queued;
    }

    /** Waits up to the timeout for anything to be queued; true if something may be waiting. */
    boolean awaitWork(long timeout, TimeUnit unit) throws InterruptedException {
        if (!isEmpty()) {
            return true;
        }
        boolean got = work.tryAcquire(timeout, unit);
        work.drainPermits();
        return got || !isEmpty();
    }

    /** Waits up to the timeout for a call to be queued (the writer's linger): true if one is waiting. */
    boolean awaitCall(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (calls.isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !work.tryAcquire(left, TimeUnit.NANOSECONDS)) {
                return !calls.isEmpty();
            }
        }
        return true;
    }

    /** The next batch: waiting calls first (up to {@code max}), then refusals in what is left (capped). */
    List<T> takeBatch(int max) {
        List<T> batch = new ArrayList<>(Math.min(max, calls.size() + refusals.size() + overflow.size()));
        for (T t; batch.size() < max && (t = overflow.poll()) != null; ) {
            batch.add(t);
        }
        calls.drainTo(batch, max - batch.size());
        int room = Math.min(max - batch.size(), maxRefusalsPerBatch);
        if (room > 0) {
            refusals.drainTo(batch, room);
        }
        return batch;
    }

    /** Adds calls that arrived meanwhile to a batch being lingered on, up to {@code max} in all. */
    void topUpCalls(List<T> batch, int max) {
        if (batch.size() < max) {
            calls.drainTo(batch, max - batch.size());
        }
    }

    boolean isEmpty() {
        return calls.isEmpty() && refusals.isEmpty() && overflow.isEmpty();
    }

    /** Everything still queued (at shutdown), calls first. */
    List<T> drainAll() {
        List<T> all = new ArrayList<>();
        for (T t; (t = overflow.poll()) != null; ) {
            all.add(t);
        }
        calls.drainTo(all);
        refusals.drainTo(all);
        return all;
    }

    int callsWaiting() {
        return calls.size() + overflow.size();
    }

    int refusalsWaiting() {
        return refusals.size();
    }
}
