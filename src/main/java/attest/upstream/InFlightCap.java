package attest.upstream;

import attest.http.GatewayException;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An upstream's cap of calls in flight ({@code max-connections}) and its queue of calls waiting for a place
 * ({@code max-waiting}), for the JDK client ({@link JdkTransport}), whose connection pool is its own: a call in flight
 * holds one HTTP/1.1 connection, so counting calls in flight caps the connections it opens. A call that finds a place
 * free goes at once; past the cap it waits in the queue, first come first served, holding no thread (its turn is a
 * future); past a full queue it is refused at once. A turn that ended while it waited (its deadline, a cancel) is
 * skipped when a place comes free.
 */
final class InFlightCap {
    private final int max;
    private final int maxWaiting;
    /** Calls in flight (places out); guarded by this. */
    private int inFlight;
    /** Turns waiting for a place, first come first served; guarded by this. */
    private final ArrayDeque<CompletableFuture<Runnable>> waiting = new ArrayDeque<>();

    InFlightCap(int max, int maxWaiting) {
        this.max = max;
        this.maxWaiting = maxWaiting;
    }

    /**
     * A call's turn: completed with the place's release (run it once the call is over; a second run does nothing) at
     * once while fewer than {@code max} calls are in flight, else when a place comes free to it; failed at once with
     * 503 {@code upstream_busy} when the queue is full. Cancel a waiting turn to leave the queue.
     */
    CompletableFuture<Runnable> enter() {
        CompletableFuture<Runnable> turn = new CompletableFuture<>();
        synchronized (this) {
            if (inFlight < max) {
                inFlight++;
                turn.complete(place());
                return turn;
            }
            waiting.removeIf(CompletableFuture::isDone); // ended while waiting: their places in the queue are free
            if (waiting.size() < maxWaiting) {
                waiting.addLast(turn);
                return turn;
            }
        }
        turn.completeExceptionally(GatewayException.upstreamBusy(
                "the upstream's calls in flight are at their cap and its queue is full; retry later"));
        return turn;
    }

    /** Ends every waiting turn with {@code why} (the client closes). */
    void close(RuntimeException why) {
        CompletableFuture<Runnable> t;
        while (true) {
            synchronized (this) {
                t = waiting.pollFirst();
            }
            if (t == null) {
                return;
            }
            t.completeExceptionally(why);
        }
    }

    /** A place, given back once. */
    private Runnable place() {
        AtomicBoolean back = new AtomicBoolean();
        return () -> {
            if (back.compareAndSet(false, true)) {
                leave();
            }
        };
    }

    /** A call in flight is over: its place goes to the first turn still waiting, else it is free. */
    private void leave() {
        while (true) {
            CompletableFuture<Runnable> next;
            synchronized (this) {
                next = waiting.pollFirst();
                if (next == null) {
                    inFlight--;
                    return;
                }
            }
            if (next.complete(place())) {
                return; // the place goes over to it
            }
            // it ended while it waited: the next one
        }
    }
}
