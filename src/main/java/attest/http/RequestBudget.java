package attest.http;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of request bodies that the data plane may hold in memory at once, across all connections. A request
 * reserves its declared length (or, chunked, each chunk as it comes) before it is aggregated, and gives it back
 * when its answer has been written or its connection closes. Thread-safe.
 */
public final class RequestBudget {
    private final long capacity;
    private final AtomicLong used = new AtomicLong();

    /** @param capacity bytes at most (0: no budget) */
    public RequestBudget(long capacity) {
        this.capacity = capacity;
    }

    /** Reserves {@code bytes}; false (and nothing reserved) when that would pass the budget. */
    public boolean tryReserve(long bytes) {
        if (bytes <= 0) {
            return true;
        }
        while (true) {
            long now = used.get();
            long next = now + bytes;
            if (capacity > 0 && next > capacity) {
                return false;
            }
            if (used.compareAndSet(now, next)) {
                return true;
            }
        }
    }

    public void release(long bytes) {
        if (bytes > 0) {
            used.addAndGet(-bytes);
        }
    }

    public long used() {
        return used.get();
    }

    public long capacity() {
        return capacity;
    }
}
