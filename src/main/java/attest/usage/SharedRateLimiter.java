package attest.usage;

import attest.policy.RateLimiter;

import java.util.List;

/**
 * A policy rule's requests-per-minute, counted in PostgreSQL ({@link UsageCounters}) so that every replica shares
 * one count: N requests a minute across all of them, never N per replica.
 */
public final class SharedRateLimiter implements RateLimiter {
    private final java.util.function.Supplier<UsageCounters> counters;

    public SharedRateLimiter(java.util.function.Supplier<UsageCounters> counters) {
        this.counters = counters;
    }

    @Override
    public long acquire(String key, long perMinute) {
        return counters.get().admit(List.of(limit(key, perMinute))).map(UsageCounters.Refusal::retryAfterSeconds)
                .orElse(0L);
    }

    /** Counted in PostgreSQL, unless this replica has requests of the window taken ahead (in memory). */
    @Override
    public boolean blocks(String key, long perMinute) {
        return !counters.get().takenAhead(List.of(limit(key, perMinute)));
    }

    private static Limit limit(String key, long perMinute) {
        return new Limit("the policy rule's request limit", key, "rule:" + key, Limit.REQUESTS, "minute", perMinute);
    }
}
