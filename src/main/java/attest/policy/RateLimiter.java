package attest.policy;

import java.time.Clock;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests-per-minute per identity and rule. Returns 0 when the call may go, otherwise the seconds until the
 * window ends (for Retry-After). The gateway counts in PostgreSQL, shared by every replica
 * ({@link attest.usage.SharedRateLimiter}); {@link #inMemory} counts on one replica only, for tests of one engine.
 */
public interface RateLimiter {
    long acquire(String key, long perMinute);

    /**
     * Whether {@link #acquire} may block its thread for this key (a read or write in the store), so that a caller on
     * an event loop can hand it off first; an in-memory limiter never blocks.
     */
    default boolean blocks(String key, long perMinute) {
        return false;
    }

    /** Fixed one-minute windows in this JVM (tests only: two replicas would each admit the limit). */
    static RateLimiter inMemory(Clock clock) {
        return new InMemory(clock);
    }

    final class InMemory implements RateLimiter {
        private static final int PRUNE_AT = 100_000;
        private final Clock clock;
        private final ConcurrentHashMap<String, long[]> windows = new ConcurrentHashMap<>();

        InMemory(Clock clock) {
            this.clock = clock;
        }

        @Override
        public long acquire(String key, long perMinute) {
            long nowMillis = clock.millis();
            long minute = nowMillis / 60_000;
            if (windows.size() > PRUNE_AT) {
                windows.values().removeIf(w -> w[0] < minute);
            }
            long[] w = windows.compute(key, (k, old) -> {
                long[] win = old == null || old[0] != minute ? new long[]{minute, 0} : old;
                win[1]++;
                return win;
            });
            if (w[1] <= perMinute) {
                return 0;
            }
            return Math.max(1, ((minute + 1) * 60_000 - nowMillis + 999) / 1000);
        }
    }
}
