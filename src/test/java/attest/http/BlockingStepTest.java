package attest.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.apache.camel.Exchange;
import org.apache.camel.component.netty.NettyConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where a step that may block runs: in place off an event loop or when it will not block this time; on the pool from
 * an event loop, with the route going on on the caller's loop; refused with 503 when the pool is full; a step's
 * failure is the exchange's, wherever it ran.
 */
class BlockingStepTest {
    static NioEventLoopGroup loops;
    static DefaultCamelContext camel;

    @BeforeAll
    static void up() {
        loops = new NioEventLoopGroup(1);
        camel = new DefaultCamelContext();
    }

    @AfterAll
    static void down() {
        loops.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }

    /** What one run of the step saw: the thread the step ran on, the thread the route went on, sync or not, error. */
    record Run(String stepThread, String doneThread, boolean sync, Exception error) {
    }

    /** Runs the wrapped step for an exchange whose caller's connection is served by {@code loops}. */
    static Run run(boolean fromLoop, boolean blocks, ThreadPoolExecutor pool, Exception fails) throws Exception {
        NioSocketChannel ch = new NioSocketChannel();
        ch.pipeline().addLast("caller", new ChannelInboundHandlerAdapter());
        loops.register(ch).sync();
        ChannelHandlerContext ctx = ch.pipeline().context("caller");
        Exchange exchange = new DefaultExchange(camel);
        exchange.getMessage().setHeader(NettyConstants.NETTY_CHANNEL_HANDLER_CONTEXT, ctx);
        AtomicReference<String> stepThread = new AtomicReference<>();
        BlockingStep step = new BlockingStep(e -> {
            stepThread.set(Thread.currentThread().getName());
            if (fails != null) {
                throw fails;
            }
        }, e -> blocks, pool);
        CompletableFuture<String> done = new CompletableFuture<>();
        CompletableFuture<Boolean> sync = new CompletableFuture<>();
        Runnable go = () -> sync.complete(step.process(exchange, doneSync ->
                done.complete(Thread.currentThread().getName())));
        if (fromLoop) {
            ch.eventLoop().execute(go);
        } else {
            go.run();
        }
        String doneOn = done.get(10, TimeUnit.SECONDS);
        boolean wasSync = sync.get(10, TimeUnit.SECONDS);
        ch.close().sync();
        String caller = Thread.currentThread().getName();
        return new Run(kind(stepThread.get(), caller), kind(doneOn, caller), wasSync, exchange.getException());
    }

    @ParameterizedTest(name = "from loop {0}, blocks {1}: step on {2}, route goes on on {3}, sync {4}")
    @CsvSource({
            // an event loop and a step that will block: the pool runs it, the caller's loop goes on
            "true,  true,  attest-blocking, loop,   false",
            // an event loop, and this time the step will not block: in place, no hand-off
            "true,  false, loop,            loop,   true",
            // not an event loop (a worker pool, a held call resumed): in place either way
            "false, true,  main,            main,   true",
            "false, false, main,            main,   true",
    })
    void runs_where_blocking_is_allowed(boolean fromLoop, boolean blocks, String stepOn, String goesOn, boolean sync)
            throws Exception {
        ThreadPoolExecutor pool = BlockingStep.pool(2, 4);
        try {
            Run r = run(fromLoop, blocks, pool, null);
            assertThat(r.stepThread()).as("the step's thread").isEqualTo(stepOn);
            assertThat(r.doneThread()).as("where the route goes on").isEqualTo(goesOn);
            assertThat(r.sync()).isEqualTo(sync);
            assertThat(r.error()).isNull();
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest(name = "from loop {0}: the step's failure is the exchange's")
    @CsvSource({"true", "false"})
    void a_failing_step_fails_the_exchange(boolean fromLoop) throws Exception {
        ThreadPoolExecutor pool = BlockingStep.pool(2, 4);
        try {
            Run r = run(fromLoop, true, pool, new IllegalStateException("store down"));
            assertThat(r.error()).isInstanceOf(IllegalStateException.class).hasMessage("store down");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void a_full_pool_refuses_the_call_with_503_and_does_not_run_the_step() throws Exception {
        ThreadPoolExecutor pool = BlockingStep.pool(1, 1);
        CountDownLatch release = new CountDownLatch(1);
        try {
            pool.execute(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            pool.execute(() -> { }); // the queue's one place
            Run r = run(true, true, pool, null);
            assertThat(r.stepThread()).as("never run").isEqualTo("none");
            assertThat(r.sync()).isTrue();
            assertThat(r.error()).isInstanceOfSatisfying(GatewayException.class, g -> {
                assertThat(g.status()).isEqualTo(503);
                assertThat(g.code()).isEqualTo("busy");
                assertThat(g.headers()).containsEntry("Retry-After", "1");
            });
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
    }

    @Test
    void only_netty_event_loops_count_as_event_loops() throws Exception {
        assertThat(BlockingStep.onEventLoop()).isFalse();
        assertThat(loops.next().submit(BlockingStep::onEventLoop).get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(BlockingStep.pool(1, 1).submit(BlockingStep::onEventLoop).get(10, TimeUnit.SECONDS)).isFalse();
    }

    /** The kind of thread: the pool's, the caller's event loop, the test's own ("main"), or none. */
    private static String kind(String thread, String caller) {
        if (thread == null) {
            return "none";
        }
        if (thread.startsWith("attest-blocking")) {
            return "attest-blocking";
        }
        if (thread.startsWith("nioEventLoopGroup")) {
            return "loop";
        }
        return thread.equals(caller) ? "main" : thread;
    }
}
