package attest.masking;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.function.LongSupplier;

/**
 * Judges whether a masking pass went over its time budget by the CPU time of the thread that ran it, not by the wall
 * clock: a pass that waited for a core on a loaded machine, or through a garbage collector's pause, did not cost what
 * the budget guards against (a detector gone slow), and must not fail a legitimate answer closed.
 *
 * <p>Reading a thread's CPU time is a system call (a few microseconds on a virtual machine), too dear for every piece
 * of a stream; so it is read at most once per {@code budget / 10} of wall time on each thread, at the start of a pass,
 * and once more at the end of a pass only when the pass took longer than the budget on the wall clock (a thread's CPU
 * time never runs faster than the wall clock, so a pass within the budget on the wall clock is within it on the CPU
 * too). The reading before a pass is at most {@code budget / 10} of wall time older than its start, so the CPU time
 * charged to a pass is what it used plus at most a tenth of the budget: a pass that used more than the budget always
 * fails; one that used less than nine tenths of it never does. Where the thread's CPU time cannot be read (a JVM
 * without it, a virtual thread), the wall clock decides, as it did before.
 */
final class PassClock {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final long budgetNanos;
    private final long staleNanos;
    private final LongSupplier wall;
    private final LongSupplier cpu;
    /** Per thread: {wall time of the last CPU reading, that reading (or -1: none could be made)}. */
    private final ThreadLocal<long[]> readings = ThreadLocal.withInitial(() -> new long[] {0L, -1L});

    PassClock(long budgetNanos) {
        this(budgetNanos, System::nanoTime, threadCpu());
    }

    PassClock(long budgetNanos, LongSupplier wall, LongSupplier cpu) {
        if (budgetNanos < 0) {
            throw new IllegalArgumentException("attest.masking.time-budget-ms must not be negative");
        }
        this.budgetNanos = budgetNanos;
        this.staleNanos = budgetNanos / 10;
        this.wall = wall;
        this.cpu = cpu;
    }

    /** This JVM's reading of the current thread's CPU time, or a supplier of -1 where it has none. */
    private static LongSupplier threadCpu() {
        boolean on;
        try {
            on = THREADS.isCurrentThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled();
        } catch (UnsupportedOperationException e) {
            on = false;
        }
        if (!on) {
            return () -> -1L;
        }
        return () -> {
            try {
                return THREADS.getCurrentThreadCpuTime();
            } catch (UnsupportedOperationException e) {
                return -1L;
            }
        };
    }

    /** Marks the start of a pass on this thread; returns the wall time to hand to {@link #over} with {@link #baseline}. */
    long start() {
        long now = wall.getAsLong();
        long[] r = readings.get();
        if (r[1] < 0 || now - r[0] > staleNanos) {
            // the wall time is taken before the CPU reading: the interval it bounds is, if anything, longer
            r[0] = now;
            r[1] = cpu.getAsLong();
        }
        return now;
    }

    /**
     * The CPU reading this thread's pass, just started, is charged from (-1: none); taken right after {@link #start}
     * and kept by the pass, so that a pass run inside another (which may make a fresh reading) does not move it.
     */
    long baseline() {
        return readings.get()[1];
    }

    /**
     * Whether the pass started at {@code start} (on this thread), charged from {@code before} ({@link #baseline}), went
     * over the budget (every pass does over 0).
     */
    boolean over(long start, long before) {
        if (budgetNanos == 0) {
            return true;
        }
        if (wall.getAsLong() - start <= budgetNanos) {
            return false;
        }
        if (before < 0) {
            return true;
        }
        long now = cpu.getAsLong();
        return now < 0 || now - before > budgetNanos;
    }
}
