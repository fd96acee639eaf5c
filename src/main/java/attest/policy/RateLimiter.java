package attest.policy;

import java.time.Clock;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests-per-minute per identity and rule, counted in fixed one-minute windows on this replica.
 * Returns 0 when the call may go, otherwise the seconds until the window ends (for Retry-After).
 */
public final class RateLimiter {
    private static final int PRUNE_AT = 100_000;
    private final Clock clock;
    private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

    private static final class Window {
        final long minute;
        long count;

        Window(long minute) {
            this.minute = minute;
        }
    }

    public RateLimiter(Clock clock) {
        this.clock = clock;
    }

    public long acquire(String key, long perMinute) {
        long nowMillis = clock.millis();
        long minute = nowMillis / 60_000;
        if (windows.size() > PRUNE_AT) {
            windows.values().removeIf(w -> w.minute < minute);
        }
        Window w = windows.compute(key, (k, old) -> {
            Window win = old == null || old.minute != minute ? new Window(minute) : old;
            win.count++;
            return win;
        });
        if (w.count <= perMinute) {
            return 0;
        }
        long retry = ((minute + 1) * 60_000 - nowMillis + 999) / 1000;
        return Math.max(1, retry);
    }
}
