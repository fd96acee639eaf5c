package attest.approval;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Callers blocked on their held call, on this replica. A waiter is woken when this replica settles the
 * call, when a poll of the store sees it settled by another replica, or when its window ends; it then
 * gets the call as stored. No thread is held while waiting.
 */
public final class ApprovalWaiters implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApprovalWaiters.class);

    private final ApprovalStore store;
    private final ScheduledExecutorService scheduler;
    private final Map<UUID, List<CompletableFuture<Approval>>> waiting = new ConcurrentHashMap<>();

    public ApprovalWaiters(ApprovalStore store, Duration pollInterval) {
        this.store = store;
        this.scheduler = Executors.newScheduledThreadPool(4, r -> {
            Thread t = new Thread(r, "attest-approval-waiters");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::poll, pollInterval.toMillis(), pollInterval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** Completes with the stored call once it is settled, or when the window ends, whichever is first. */
    public CompletableFuture<Approval> await(UUID id, Duration window) {
        CompletableFuture<Approval> f = new CompletableFuture<>();
        if (window.isZero() || window.isNegative()) {
            scheduler.execute(() -> complete(f, id));
            return f;
        }
        waiting.computeIfAbsent(id, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(f);
        scheduler.schedule(() -> {
            remove(id, f);
            complete(f, id);
        }, window.toMillis(), TimeUnit.MILLISECONDS);
        return f;
    }

    /** Where waiting callers are resumed. */
    public java.util.concurrent.Executor executor() {
        return scheduler;
    }

    /** This replica settled the call: wake its waiters. */
    public void signal(UUID id) {
        List<CompletableFuture<Approval>> fs = waiting.remove(id);
        if (fs != null) {
            scheduler.execute(() -> fs.forEach(f -> complete(f, id)));
        }
    }

    private void poll() {
        if (waiting.isEmpty()) {
            return;
        }
        try {
            Map<UUID, String> states = store.states(new ArrayList<>(waiting.keySet()));
            states.forEach((id, state) -> {
                if (!Approval.PENDING.equals(state) && !Approval.APPROVED.equals(state)
                        && !Approval.EXECUTING.equals(state)) {
                    signal(id);
                }
            });
        } catch (RuntimeException e) {
            LOG.debug("approval poll failed: {}", e.getClass().getSimpleName());
        }
    }

    private void remove(UUID id, CompletableFuture<Approval> f) {
        waiting.computeIfPresent(id, (k, list) -> {
            list.remove(f);
            return list.isEmpty() ? null : list;
        });
    }

    private void complete(CompletableFuture<Approval> f, UUID id) {
        if (f.isDone()) {
            return;
        }
        try {
            f.complete(store.find(id).orElseThrow());
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
