package attest.usage;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class UsageSettlingTest {
    private UsageSettling settling;

    @AfterEach
    void stop() {
        settling.shutdownNow();
    }

    @Test
    void should_drop_and_count_a_charge_that_finds_the_queue_full() throws Exception {
        settling = new UsageSettling(1, 1);
        CountDownLatch busy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger made = new AtomicInteger();
        settling.execute(() -> {
            busy.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> release.getCount() == 0);
            made.incrementAndGet();
        });
        assertThat(busy.await(10, TimeUnit.SECONDS)).isTrue();
        settling.execute(made::incrementAndGet); // queued
        settling.execute(made::incrementAndGet); // the queue (1) is full: dropped, counted, not thrown

        assertThat(settling.dropped()).isEqualTo(1);
        release.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> made.get() == 2);
    }

    @Test
    void should_make_the_queued_charges_before_it_stops_and_drop_later_ones() {
        settling = new UsageSettling(1, 100);
        AtomicInteger made = new AtomicInteger();
        settling.execute(() -> {
            // held until the gateway is stopping, so that the charges below are still queued then
            await().atMost(Duration.ofSeconds(10)).until(settling::isShutdown);
            made.incrementAndGet();
        });
        for (int i = 0; i < 5; i++) {
            settling.execute(made::incrementAndGet);
        }

        settling.drain(10_000);

        assertThat(made.get()).isEqualTo(6);
        settling.execute(made::incrementAndGet); // after the stop: dropped
        assertThat(settling.dropped()).isEqualTo(1);
        assertThat(made.get()).isEqualTo(6);
    }
}
