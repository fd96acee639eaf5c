package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The masking time budget is CPU time on the pass's thread: a pass that waited (a loaded machine, a collector's pause)
 * is not failed closed; one whose detectors burned the budget is, however its reading of the thread's CPU was timed.
 */
class PassClockTest {

    /**
     * Budget 100 (so a reading is stale after 10). Each row: the wall and CPU time the thread spent since its last
     * reading before the pass ({@code idleWall}, {@code idleCpu}, the thread's first pass when idleWall is -1), then the
     * pass's own wall and CPU time, and whether the pass is over.
     */
    @ParameterizedTest(name = "[{index}] idle {0}/{1}, pass wall {2} cpu {3} -> over {4}")
    @CsvSource({
            // the thread's first pass: read at its start
            "-1, 0, 50, 50, false",
            "-1, 0, 100, 100, false",
            "-1, 0, 101, 101, true",
            "-1, 0, 5000, 5, false",       // descheduled or a collector's pause: waited, cost nothing
            "-1, 0, 5000, 99, false",
            "-1, 0, 5000, 101, true",      // slow on the wall clock and on the CPU
            // the last reading is fresh (within a tenth of the budget): CPU before the pass is charged to it
            "5, 5, 5000, 94, false",
            "5, 5, 5000, 96, true",        // 96 + 5 > 100: charged at most a tenth of the budget more than it used
            "10, 10, 5000, 90, false",
            "10, 10, 5000, 91, true",
            "10, 0, 5000, 100, false",     // the thread waited since its reading: nothing is charged
            // a stale reading is made afresh at the pass's start: what the thread did before is not charged
            "11, 11, 5000, 99, false",
            "100000, 100000, 5000, 99, false",
            "100000, 100000, 5000, 101, true",
            // within the budget on the wall clock: within it on the CPU; the CPU is not read at the end
            "5, 5, 100, 100, false",
    })
    void should_charge_a_pass_its_cpu_time_not_its_wait(long idleWall, long idleCpu, long passWall, long passCpu,
                                                        boolean over) {
        AtomicLong wall = new AtomicLong(1_000);
        AtomicLong cpu = new AtomicLong(7_000);
        AtomicLong cpuReads = new AtomicLong();
        PassClock clock = new PassClock(100, wall::get, () -> {
            cpuReads.incrementAndGet();
            return cpu.get();
        });
        if (idleWall >= 0) {
            clock.over(clock.start(), clock.baseline()); // an earlier pass on this thread, which made the reading
            wall.addAndGet(idleWall);
            cpu.addAndGet(idleCpu);
        }
        long start = clock.start();
        long base = clock.baseline();
        long readsAtStart = cpuReads.get();
        wall.addAndGet(passWall);
        cpu.addAndGet(passCpu);
        assertThat(clock.over(start, base)).isEqualTo(over);
        if (passWall <= 100) {
            assertThat(cpuReads.get()).as("no CPU reading at the end of a pass within the budget on the wall clock")
                    .isEqualTo(readsAtStart);
        }
    }

    @Test
    void should_charge_an_outer_pass_from_its_own_reading_when_an_inner_pass_reads_afresh() {
        AtomicLong wall = new AtomicLong(1_000);
        AtomicLong cpu = new AtomicLong(7_000);
        PassClock clock = new PassClock(100, wall::get, cpu::get);
        long outer = clock.start();
        long outerBase = clock.baseline();
        wall.addAndGet(60);
        cpu.addAndGet(60); // the outer pass's own work
        long inner = clock.start(); // stale by then: a fresh reading
        long innerBase = clock.baseline();
        wall.addAndGet(5);
        cpu.addAndGet(5);
        assertThat(clock.over(inner, innerBase)).isFalse();
        wall.addAndGet(1000);
        cpu.addAndGet(50); // 115 of CPU in all for the outer pass
        assertThat(clock.over(outer, outerBase)).isTrue();
    }

    @Test
    void should_decide_by_the_wall_clock_where_no_cpu_time_can_be_read() {
        AtomicLong wall = new AtomicLong();
        PassClock clock = new PassClock(100, wall::get, () -> -1L);
        long start = clock.start();
        wall.addAndGet(100);
        assertThat(clock.over(start, clock.baseline())).isFalse();
        start = clock.start();
        wall.addAndGet(101);
        assertThat(clock.over(start, clock.baseline())).isTrue();
    }

    @Test
    void should_fail_every_pass_under_a_zero_budget_and_refuse_a_negative_one() {
        AtomicLong wall = new AtomicLong();
        PassClock clock = new PassClock(0, wall::get, () -> 0L);
        assertThat(clock.over(clock.start(), clock.baseline())).isTrue();
        assertThatThrownBy(() -> new PassClock(-1, wall::get, () -> 0L)).isInstanceOf(IllegalArgumentException.class);
    }

    private static final MaskingService SERVICE = new MaskingService(List.of(), Duration.ofMillis(50));

    @Test
    void should_not_fail_a_pass_that_waited_past_the_budget() {
        assumeTrue(ManagementFactory.getThreadMXBean().isCurrentThreadCpuTimeSupported());
        // a pass parked for four times the budget, as a thread waiting for a core or a collector is
        String out = SERVICE.run(() -> {
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            while (System.nanoTime() < until) {
                LockSupport.parkNanos(until - System.nanoTime());
            }
            return "masked";
        });
        assertThat(out).isEqualTo("masked");
    }

    @Test
    void should_fail_a_pass_that_burned_its_budget_of_cpu() {
        assumeTrue(ManagementFactory.getThreadMXBean().isCurrentThreadCpuTimeSupported());
        var threads = ManagementFactory.getThreadMXBean();
        assertThatThrownBy(() -> SERVICE.run(() -> {
            long from = threads.getCurrentThreadCpuTime();
            long spins = 0;
            while (threads.getCurrentThreadCpuTime() - from < TimeUnit.MILLISECONDS.toNanos(100)) {
                spins++;
            }
            return spins;
        })).isInstanceOf(MaskingFailedException.class).hasMessageContaining("time budget");
    }
}
