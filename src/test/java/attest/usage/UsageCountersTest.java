package attest.usage;

import attest.evidence.Database;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shared request limits against a real PostgreSQL, with two "replicas" (two {@link UsageCounters} on one database)
 * racing: never more admitted than the limit, small limits exact, large ones taken in chunks, and a new window
 * starts from zero whatever a replica took ahead in the old one.
 */
class UsageCountersTest {
    static Database db;
    /** Mid-minute, so that no race straddles a window's end. */
    static final Clock FIXED = Clock.fixed(Instant.parse("2026-11-29T11:00:30Z"), ZoneOffset.UTC);

    @BeforeAll
    static void up() throws Exception {
        db = Database.open("", "", "", Files.createTempDirectory("attest-usage-pg"), 0, 8, Duration.ofSeconds(2));
    }

    @AfterAll
    static void down() {
        db.close();
    }

    static Limit limit(long max) {
        String scope = "test:" + UUID.randomUUID();
        return new Limit("a test limit", "rule-" + scope, scope, Limit.REQUESTS, "minute", max);
    }

    @ParameterizedTest(name = "limit {0}: chunk {1}")
    @CsvSource({"1, 1", "5, 1", "99, 1", "100, 1", "250, 2", "6400, 64", "100000, 64"})
    void chunks_are_one_percent_of_a_limit_at_most_64(long max, long chunk) {
        assertThat(UsageCounters.chunk(limit(max))).isEqualTo(chunk);
    }

    /** Racing threads on two replicas, more calls than the limit: exactly the limit for small ones. */
    @ParameterizedTest(name = "limit {0}, {1} calls")
    @CsvSource({"1, 40", "7, 40", "99, 160"})
    void a_small_limit_admits_exactly_its_size_across_replicas(long max, int calls) throws Exception {
        Limit l = limit(max);
        long admitted = race(l, calls, FIXED);
        assertThat(admitted).isEqualTo(max);
        assertThat(new UsageCounters(db.dataSource(), FIXED).used(l)).isEqualTo(max);
    }

    /** A large limit is taken in chunks: never more than the limit, and at most one chunk per replica short. */
    @ParameterizedTest(name = "limit {0}, {1} calls")
    @CsvSource({"300, 500", "1000, 1400", "6400, 6600"})
    void a_large_limit_never_admits_more_than_its_size(long max, int calls) throws Exception {
        Limit l = limit(max);
        long admitted = race(l, calls, FIXED);
        assertThat(admitted).isLessThanOrEqualTo(max).isGreaterThanOrEqualTo(max - 2 * UsageCounters.chunk(l));
        assertThat(new UsageCounters(db.dataSource(), FIXED).used(l)).isLessThanOrEqualTo(max);
    }

    @Test
    void a_large_limit_costs_one_round_trip_per_chunk_not_per_call() {
        Limit l = limit(100_000);
        UsageCounters one = new UsageCounters(db.dataSource(), FIXED);
        for (int i = 0; i < 640; i++) {
            assertThat(one.admit(List.of(l))).isEmpty();
        }
        // 640 calls took 10 chunks of 64 from the shared counter, and nothing more
        assertThat(one.used(l)).isEqualTo(640);
    }

    @Test
    void should_say_whether_a_call_is_admitted_from_what_was_taken_ahead_without_taking_it() {
        Limit large = limit(200); // chunk 2
        Instant t0 = Instant.parse("2026-11-29T10:00:10Z");
        attest.identity.FakeClock clock = new attest.identity.FakeClock(t0);
        UsageCounters one = new UsageCounters(db.dataSource(), clock);
        assertThat(one.takenAhead(List.of(large))).isFalse(); // nothing yet: the store
        assertThat(one.admit(List.of(large))).isEmpty(); // took 2, used 1
        assertThat(one.takenAhead(List.of(large))).isTrue();
        assertThat(one.takenAhead(List.of(large))).isTrue(); // a peek takes nothing
        assertThat(one.admit(List.of(large))).isEmpty(); // the one ahead
        assertThat(one.takenAhead(List.of(large))).isFalse();
        assertThat(one.used(large)).isEqualTo(2);
        // a small limit is counted in the store for every call
        Limit small = limit(5);
        assertThat(one.admit(List.of(small))).isEmpty();
        assertThat(one.takenAhead(List.of(small))).isFalse();
        // a window over: what was taken ahead is not for the next one
        assertThat(one.admit(List.of(large))).isEmpty();
        clock.advance(Duration.ofSeconds(60));
        assertThat(one.takenAhead(List.of(large))).isFalse();
    }

    @Test
    void what_a_replica_took_ahead_does_not_outlive_its_window() {
        Limit l = limit(200); // chunk 2
        Instant t0 = Instant.parse("2026-11-29T10:00:10Z");
        attest.identity.FakeClock clock = new attest.identity.FakeClock(t0);
        UsageCounters one = new UsageCounters(db.dataSource(), clock);
        UsageCounters other = new UsageCounters(db.dataSource(), clock);
        assertThat(one.admit(List.of(l))).isEmpty(); // took 2, used 1, one left ahead
        // the other replica spends the rest of the window
        for (int i = 0; i < 198; i++) {
            assertThat(other.admit(List.of(l))).isEmpty();
        }
        assertThat(other.admit(List.of(l))).isPresent();
        assertThat(one.admit(List.of(l))).isEmpty(); // its own one left ahead: the 200th
        assertThat(one.admit(List.of(l))).isPresent();
        // the next minute: a fresh count; nothing carried over from the old window
        clock.advance(Duration.ofSeconds(60));
        assertThat(one.admit(List.of(l))).isEmpty();
        assertThat(one.used(l)).isEqualTo(2);
    }

    private static long race(Limit l, int calls, Clock clock) throws Exception {
        UsageCounters a = new UsageCounters(db.dataSource(), clock);
        UsageCounters b = new UsageCounters(db.dataSource(), clock);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Boolean>> tasks = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                UsageCounters replica = i % 2 == 0 ? a : b;
                tasks.add(() -> replica.admit(List.of(l)).isEmpty());
            }
            long admitted = 0;
            for (Future<Boolean> f : pool.invokeAll(tasks)) {
                admitted += f.get() ? 1 : 0;
            }
            return admitted;
        } finally {
            pool.shutdownNow();
        }
    }
}
