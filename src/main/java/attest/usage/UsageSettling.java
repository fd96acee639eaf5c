package attest.usage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionHandler;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The threads a stream's usage is settled on when it ends ({@link SettleUsageProcessor}): a charge to the budgets is
 * a database transaction, which must never hold the event loop that ended the stream. A few threads (charges of
 * different streams go in parallel, as the connection pool allows), a bounded queue; a charge that finds the queue
 * full (the database far behind) or the gateway stopping is dropped, as a charge that fails is, and counted: the
 * warning names how many were dropped, at most once a minute.
 */
public final class UsageSettling extends ThreadPoolExecutor {
    private static final Logger LOG = LoggerFactory.getLogger(UsageSettling.class);
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong lastWarned = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);

    public UsageSettling(int threads, int queue) {
        super(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(queue), r -> {
            Thread t = new Thread(r, "attest-usage-settle");
            t.setDaemon(true);
            return t;
        });
        allowCoreThreadTimeOut(true);
        setRejectedExecutionHandler(new Drop());
    }

    /** Charges dropped so far (queue full, or the gateway stopping). */
    public long dropped() {
        return dropped.get();
    }

    /** Stops taking charges and waits up to {@code millis} for those queued (before the database closes). */
    public void drain(long millis) {
        shutdown();
        try {
            if (!awaitTermination(millis, TimeUnit.MILLISECONDS)) {
                LOG.warn("usage of {} streams was not charged: the gateway stopped first", getQueue().size());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private final class Drop implements RejectedExecutionHandler {
        @Override
        public void rejectedExecution(Runnable r, ThreadPoolExecutor executor) {
            long n = dropped.incrementAndGet();
            long now = System.nanoTime();
            long last = lastWarned.get();
            if (now - last >= WARN_EVERY_NANOS && lastWarned.compareAndSet(last, now)) {
                LOG.warn("usage of a stream was not charged to its budgets ({}): {} dropped so far",
                        executor.isShutdown() ? "the gateway is stopping" : "the settlement queue is full", n);
            }
        }
    }
}
