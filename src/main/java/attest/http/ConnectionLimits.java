package attest.http;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Open connections of one plane, in total and per source address, against their caps. Thread-safe; a source's
 * entry disappears when its last connection closes, so memory follows the connections that are open.
 */
public final class ConnectionLimits {
    /** Why a connection was refused, or null when it was admitted. */
    public enum Refusal { TOTAL, PER_SOURCE }

    private final int maxTotal;
    private final int maxPerSource;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<String, Integer> perSource = new ConcurrentHashMap<>();

    /** @param maxTotal connections at once at most (0: no cap); @param maxPerSource per source address (0: no cap) */
    public ConnectionLimits(int maxTotal, int maxPerSource) {
        this.maxTotal = maxTotal;
        this.maxPerSource = maxPerSource;
    }

    /** Admits a new connection from {@code source} (null when unknown), or says why not; admitted ones must be released. */
    public Refusal tryAcquire(String source) {
        if (total.incrementAndGet() > maxTotal && maxTotal > 0) {
            total.decrementAndGet();
            return Refusal.TOTAL;
        }
        String key = source == null ? "" : source;
        boolean[] over = {false};
        perSource.compute(key, (k, n) -> {
            int next = n == null ? 1 : n + 1;
            if (maxPerSource > 0 && next > maxPerSource) {
                over[0] = true;
                return n;
            }
            return next;
        });
        if (over[0]) {
            total.decrementAndGet();
            return Refusal.PER_SOURCE;
        }
        return null;
    }

    public void release(String source) {
        String key = source == null ? "" : source;
        perSource.computeIfPresent(key, (k, n) -> n <= 1 ? null : n - 1);
        total.decrementAndGet();
    }

    public int open() {
        return total.get();
    }

    public int open(String source) {
        return perSource.getOrDefault(source == null ? "" : source, 0);
    }
}
