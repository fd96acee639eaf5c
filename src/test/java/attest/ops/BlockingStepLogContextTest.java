package attest.ops;

import attest.Exchanges;
import attest.http.BlockingStep;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.apache.camel.Exchange;
import org.apache.camel.component.netty.NettyConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A step kept off the event loop ({@link BlockingStep}) runs on a pool thread that no route interceptor set up: its
 * log lines must still name the call (request id), and the pool thread must not keep the call's context afterwards.
 */
class BlockingStepLogContextTest {

    @Test
    void should_give_a_step_on_the_blocking_pool_the_calls_log_context() throws Exception {
        NioEventLoopGroup loops = new NioEventLoopGroup(1);
        ThreadPoolExecutor pool = BlockingStep.pool(1, 10);
        try {
            NioSocketChannel ch = new NioSocketChannel();
            ch.pipeline().addLast("caller", new ChannelInboundHandlerAdapter());
            loops.register(ch).sync();
            Exchange exchange = new DefaultExchange(new DefaultCamelContext());
            exchange.setProperty(Exchanges.REQUEST_ID, "rid-blocking-1");
            exchange.getMessage().setHeader(NettyConstants.NETTY_CHANNEL_HANDLER_CONTEXT, ch.pipeline().context("caller"));
            AtomicReference<String> thread = new AtomicReference<>();
            AtomicReference<String[]> during = new AtomicReference<>();
            BlockingStep step = new BlockingStep(e -> {
                thread.set(Thread.currentThread().getName());
                during.set(CallLogContext.current());
            }, pool);
            CompletableFuture<Void> done = new CompletableFuture<>();
            ch.eventLoop().execute(() -> step.process(exchange, sync -> done.complete(null)));
            done.get(10, TimeUnit.SECONDS);
            assertThat(thread.get()).as("the step ran on the pool").startsWith("attest-blocking-");
            assertThat(during.get()).as("the call's context on the pool's thread").isNotNull();
            assertThat(during.get()[0]).isEqualTo("rid-blocking-1");
            CompletableFuture<String[]> after = CompletableFuture.supplyAsync(CallLogContext::current, pool);
            assertThat(after.get(10, TimeUnit.SECONDS)).as("the pool's thread keeps no call afterwards").isNull();
            ch.close().sync();
        } finally {
            pool.shutdownNow();
            loops.shutdownGracefully(0, 0, TimeUnit.SECONDS);
        }
    }
}
