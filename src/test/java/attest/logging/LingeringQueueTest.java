package attest.logging;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class LingeringQueueTest {
    private static final long LINGER = TimeUnit.MILLISECONDS.toNanos(100);

    @Test
    void should_hand_every_line_to_the_consumer_in_the_order_each_producer_offered_it() throws Exception {
        LingeringQueue<long[]> q = new LingeringQueue<>(1 << 16, TimeUnit.MILLISECONDS.toNanos(5));
        int producers = 4;
        int each = 20_000;
        List<long[]> taken = new ArrayList<>();
        CompletableFuture<Void> consumer = CompletableFuture.runAsync(() -> {
            try {
                while (taken.size() < producers * each) {
                    taken.add(q.take());
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            long id = p;
            threads.add(started(() -> {
                for (int i = 0; i < each; i++) {
                    while (!q.offer(new long[]{id, i})) {
                        Thread.onSpinWait(); // full for a moment: the consumer is writing
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        consumer.get(30, TimeUnit.SECONDS);
        long[] next = new long[producers];
        for (long[] line : taken) {
            assertThat(line[1]).as("producer %d's order", line[0]).isEqualTo(next[(int) line[0]]++);
        }
        assertThat(next).containsOnly(each);
        assertThat(q).isEmpty();
    }

    @Test
    void should_wake_the_consumer_about_twice_a_window_not_once_a_line() throws Exception {
        LingeringQueue<Integer> q = new LingeringQueue<>(1024, LINGER);
        int lines = 300;
        List<Integer> taken = new ArrayList<>();
        Thread consumer = started(() -> {
            try {
                while (taken.size() < lines) {
                    taken.add(q.take());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long start = System.nanoTime();
        for (int i = 0; i < lines; i++) {
            q.offer(i);
            LockSupport.parkNanos(1_000_000); // paced like calls at one connection: about one a millisecond
        }
        consumer.join(10_000);
        long windows = (System.nanoTime() - start) / LINGER + 1;
        assertThat(taken).hasSize(lines).isSorted();
        // a plain ArrayBlockingQueue signals its taker for each of the 300 lines the taker was waiting for
        assertThat(q.wakeUps()).as("wake-ups for %d lines over %d windows", lines, windows)
                .isLessThanOrEqualTo((int) (2 * windows + 2)).isLessThan(lines);
    }

    @Test
    void should_hand_a_lone_line_over_within_the_window() throws Exception {
        LingeringQueue<String> q = new LingeringQueue<>(16, LINGER);
        AtomicReference<String> got = new AtomicReference<>();
        CountDownLatch waiting = new CountDownLatch(1);
        Thread consumer = started(() -> {
            try {
                waiting.countDown();
                got.set(q.take());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        waiting.await();
        await().until(() -> consumer.getState() == Thread.State.WAITING); // parked, nothing queued
        long offered = System.nanoTime();
        q.offer("line");
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(got.get()).isEqualTo("line"));
        assertThat(System.nanoTime() - offered).as("the window lets the next lines join").isGreaterThanOrEqualTo(LINGER);
    }

    @Test
    void should_end_the_window_early_once_a_quarter_of_the_queue_is_full() throws Exception {
        LingeringQueue<Integer> q = new LingeringQueue<>(8, TimeUnit.SECONDS.toNanos(30));
        CompletableFuture<Integer> first = CompletableFuture.supplyAsync(() -> {
            try {
                return q.take();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        q.offer(1);
        q.offer(2); // a quarter of 8
        assertThat(first.get(10, TimeUnit.SECONDS)).isEqualTo(1);
    }

    @Test
    void should_refuse_a_line_at_capacity_and_keep_the_ones_queued() {
        LingeringQueue<Integer> q = new LingeringQueue<>(2, LINGER);
        assertThat(q.offer(1)).isTrue();
        assertThat(q.offer(2)).isTrue();
        assertThat(q.offer(3)).isFalse();
        assertThat(q.remainingCapacity()).isZero();
        assertThat(q.poll()).isEqualTo(1);
        assertThat(q.offer(3)).isTrue();
        assertThat(q).containsExactly(2, 3);
    }

    @Test
    void should_let_an_interrupt_end_a_wait() throws Exception {
        LingeringQueue<Integer> q = new LingeringQueue<>(2, LINGER);
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        Thread consumer = started(() -> {
            try {
                q.take();
                failure.complete(null);
            } catch (InterruptedException e) {
                failure.complete(e);
            }
        });
        await().until(() -> consumer.getState() == Thread.State.WAITING);
        consumer.interrupt();
        assertThat(failure.get(5, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
        assertThatThrownBy(() -> new LingeringQueue<>(0, LINGER)).isInstanceOf(IllegalArgumentException.class);
    }

    private static Thread started(Runnable r) {
        Thread t = new Thread(r);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
