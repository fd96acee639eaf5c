package attest.logging;

import java.util.AbstractQueue;
import java.util.Collection;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The log appender's queue: a bounded FIFO for one consumer (log4j's async appender thread) that does not wake that
 * thread for every line. Producers (the threads that log: a call's access line is written on a Netty event loop)
 * only add; the first line after the queue ran empty wakes the consumer, which then lingers for
 * {@code lingerNanos} so that the lines of that window are taken and written together. A steady stream of lines
 * thus costs the consumer about two wake-ups per window (the first line's, the window's end), whatever the rate,
 * where a plain {@link java.util.concurrent.ArrayBlockingQueue} signals it once per line; an idle queue costs none.
 * A line waits at most the window (plus the time to write the lines before it). The window ends early once a
 * quarter of the capacity is queued, so a burst is not dropped while the consumer lingers.
 * <p>
 * Order is the order of {@link #offer}; nothing is dropped except by {@link #offer} refusing a line at capacity
 * (the appender's {@code blocking="false"} then counts it). {@link #poll()} never waits, so the appender's drain at
 * stop takes every line queued.
 */
public final class LingeringQueue<E> extends AbstractQueue<E> implements BlockingQueue<E> {
    private final ConcurrentLinkedQueue<E> items = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final int capacity;
    private final int flushAt;
    private final long lingerNanos;
    /** The consumer is parked until a line comes (set by it, cleared by the producer that wakes it). */
    private final AtomicBoolean waiting = new AtomicBoolean();
    /** The consumer is in its window; a producer wakes it early only when the queue reaches {@link #flushAt}. */
    private volatile boolean lingering;
    private volatile Thread consumer;
    private final AtomicInteger wakeUps = new AtomicInteger();

    public LingeringQueue(int capacity, long lingerNanos) {
        if (capacity < 1 || lingerNanos < 0) {
            throw new IllegalArgumentException("capacity >= 1 and linger >= 0");
        }
        this.capacity = capacity;
        this.flushAt = Math.max(1, capacity / 4);
        this.lingerNanos = lingerNanos;
    }

    @Override
    public boolean offer(E e) {
        Objects.requireNonNull(e);
        int n = size.incrementAndGet();
        if (n > capacity) {
            size.decrementAndGet();
            return false;
        }
        items.offer(e);
        if (waiting.get() && waiting.compareAndSet(true, false)) {
            wake();
        } else if (n == flushAt && lingering) {
            wake();
        }
        return true;
    }

    private void wake() {
        Thread t = consumer;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public E poll() {
        E e = items.poll();
        if (e != null) {
            size.decrementAndGet();
        }
        return e;
    }

    @Override
    public E peek() {
        return items.peek();
    }

    @Override
    public E take() throws InterruptedException {
        E e = poll();
        while (e == null) {
            awaitLine();
            linger();
            e = poll();
        }
        return e;
    }

    /** Parks until a line is queued (the producer of the first one wakes this thread). */
    private void awaitLine() throws InterruptedException {
        consumer = Thread.currentThread();
        while (items.isEmpty()) {
            waiting.set(true); // announced before the check: a line added after it sees the flag and wakes us
            if (!items.isEmpty()) {
                break;
            }
            LockSupport.park(this);
            wakeUps.incrementAndGet();
            if (Thread.interrupted()) {
                waiting.set(false);
                throw new InterruptedException();
            }
        }
        waiting.set(false);
    }

    /** Waits out the window, so that the lines that come meanwhile are written with the first one. */
    private void linger() throws InterruptedException {
        long deadline = System.nanoTime() + lingerNanos;
        lingering = true;
        try {
            while (size.get() < flushAt) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                LockSupport.parkNanos(this, left);
                wakeUps.incrementAndGet();
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
        } finally {
            lingering = false;
        }
    }

    /** How many times the consumer returned from a park (for tests: the wake-ups lines cost it). */
    int wakeUps() {
        return wakeUps.get();
    }

    @Override
    public E poll(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        E e;
        while ((e = poll()) == null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            LockSupport.parkNanos(this, Math.min(left, Math.max(lingerNanos, 1_000_000L)));
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
        return e;
    }

    @Override
    public void put(E e) throws InterruptedException {
        while (!offer(e)) {
            LockSupport.parkNanos(this, 1_000_000L); // full: the consumer frees room by writing, not by signalling
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
    }

    @Override
    public boolean offer(E e, long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (!offer(e)) {
            if (deadline - System.nanoTime() <= 0) {
                return false;
            }
            LockSupport.parkNanos(this, 1_000_000L);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
        return true;
    }

    @Override
    public int remainingCapacity() {
        return Math.max(0, capacity - size.get());
    }

    @Override
    public int drainTo(Collection<? super E> c) {
        return drainTo(c, Integer.MAX_VALUE);
    }

    @Override
    public int drainTo(Collection<? super E> c, int maxElements) {
        int n = 0;
        E e;
        while (n < maxElements && (e = poll()) != null) {
            c.add(e);
            n++;
        }
        return n;
    }

    @Override
    public Iterator<E> iterator() {
        Iterator<E> it = items.iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public E next() {
                return it.next();
            }
        };
    }

    @Override
    public int size() {
        return Math.max(0, Math.min(size.get(), capacity));
    }

    @Override
    public boolean isEmpty() {
        return items.isEmpty();
    }
}
