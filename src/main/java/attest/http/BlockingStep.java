package attest.http;

import io.netty.channel.EventLoop;
import io.netty.util.internal.ThreadExecutorMap;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.support.AsyncProcessorSupport;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A route step that may block its thread (a read or write in PostgreSQL outside the evidence writer, a lookup in
 * Keycloak), kept off the connection's event loop. The data plane's steps run on the event loop of the caller's
 * connection (no hand-off per call); a blocking step there would stall every connection of that loop for as long as
 * it blocks, so on an event loop this step runs on a bounded pool of its own and the route goes on on the caller's
 * event loop when it is done. Off an event loop (a held call resumed after approval, a worker pool) it runs in place.
 * A full pool refuses the call with 503 (its evidence is written as for any error), never queues without bound.
 * Wrapping is done where the processor is bound, so the route's step and its id stay as they are.
 */
public final class BlockingStep extends AsyncProcessorSupport {
    private final Processor step;
    private final Predicate<Exchange> blocks;
    private final Executor pool;

    /** A step that always may block. */
    public BlockingStep(Processor step, Executor pool) {
        this(step, e -> true, pool);
    }

    /**
     * @param blocks whether the step will block for this exchange (a budget to count in the store); when it will not,
     *               it runs in place, with no hand-off
     */
    public BlockingStep(Processor step, Predicate<Exchange> blocks, Executor pool) {
        this.step = step;
        this.blocks = blocks;
        this.pool = pool;
    }

    /** The pool blocking steps share: {@code threads} threads, at most {@code queue} steps waiting, then refusals. */
    public static ThreadPoolExecutor pool(int threads, int queue) {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor p = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queue), r -> {
                    Thread t = new Thread(r, "attest-blocking-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.AbortPolicy());
        p.allowCoreThreadTimeOut(true);
        return p;
    }

    /** Whether this thread is a Netty event loop (where nothing may block). */
    public static boolean onEventLoop() {
        return ThreadExecutorMap.currentExecutor() instanceof EventLoop;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        if (!onEventLoop() || !blocks.test(exchange)) {
            runStep(exchange);
            callback.done(true);
            return true;
        }
        Executor back = CallerThread.of(exchange, Runnable::run);
        try {
            pool.execute(() -> {
                // the pool's thread is not the route's: the call's log context goes with the step
                attest.ops.CallLogContext.with(exchange, () -> runStep(exchange));
                back.execute(() -> callback.done(false));
            });
        } catch (RejectedExecutionException e) {
            exchange.setException(GatewayException.busy("the gateway is busy; retry later"));
            callback.done(true);
            return true;
        }
        return false;
    }

    private void runStep(Exchange exchange) {
        try {
            step.process(exchange);
        } catch (Exception e) {
            exchange.setException(e);
        }
    }

    @Override
    public String toString() {
        return "BlockingStep[" + step + "]";
    }
}
