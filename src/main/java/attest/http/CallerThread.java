package attest.http;

import io.netty.channel.ChannelHandlerContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.netty.NettyConstants;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Where an asynchronous step goes on when what it waited for (the upstream, an evidence commit) is done: on
 * the thread that serves the caller's connection (the Netty handler executor that read the request), so the
 * completing thread (the HTTP client's, the evidence writer's) is never borrowed for the rest of the route.
 */
public final class CallerThread {
    private CallerThread() {
    }

    /** The caller's channel handler context, or null for an exchange without a caller connection. */
    public static ChannelHandlerContext context(Exchange exchange) {
        return exchange.getMessage().getHeader(NettyConstants.NETTY_CHANNEL_HANDLER_CONTEXT,
                ChannelHandlerContext.class);
    }

    /**
     * The caller's thread, else {@code fallback}; an executor that is shutting down runs the task in place, so
     * the exchange always completes.
     */
    public static Executor of(Exchange exchange, Executor fallback) {
        ChannelHandlerContext ctx = context(exchange);
        Executor executor = ctx == null ? fallback : ctx.executor();
        return task -> {
            try {
                executor.execute(task);
            } catch (RejectedExecutionException e) {
                task.run();
            }
        };
    }
}
