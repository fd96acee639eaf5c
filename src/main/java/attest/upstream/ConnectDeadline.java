package attest.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.socket.nio.NioSocketChannel;

import java.net.SocketAddress;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The upstream connect's time limit ({@code attest.upstream.<name>.connect-timeout-ms}), judged by the kernel rather
 * than by when the event loop got round to the connection.
 *
 * <p>Netty's own limit ({@code CONNECT_TIMEOUT_MILLIS}) is a task scheduled on the channel's event loop, and the
 * connect's completion is an I/O event on that loop. Each turn of the loop handles the sockets its selector returns
 * (the JDK's takes at most 1,024 events from epoll at a time), then runs its tasks, among them any limit that has
 * passed. While a burst keeps more sockets ready on the loop than one look returns, and handling them takes longer than
 * the limit (each new call's token, policy and evidence work runs on the loop that owns its connection), a connect
 * the upstream accepted at once can wait behind them for a later look, and the limit's task runs first: the call failed
 * as "the upstream could not be reached in time" (504) with no SYN dropped or retransmitted on the machine
 * (docs/benchmarks.md, 2026-12-01). Here, when the limit passes and the connect is still pending, the socket is asked:
 * connected in the kernel, the connect is completed there and then, as the loop would have; still pending, the call
 * fails as before ({@link ConnectTimeoutException}); failed, with the connect's own error. The call's response deadline
 * still bounds the whole exchange. A connection completed here is whole: channelActive fires, and it reads.
 */
final class ConnectDeadline extends ChannelOutboundHandlerAdapter {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ConnectDeadline.class);
    private final long timeoutMillis;
    /** Whether the limit found the connect made by the kernel and completed it (read by tests). */
    private volatile boolean completedAtLimit;

    ConnectDeadline(long timeoutMillis) {
        this.timeoutMillis = Math.max(1, timeoutMillis);
    }

    @Override
    public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local, ChannelPromise promise)
            throws Exception {
        ctx.connect(remote, local, promise);
        if (promise.isDone()) {
            return;
        }
        Channel ch = ctx.channel();
        ScheduledFuture<?> limit = ctx.executor().schedule(() -> expire(ch, promise, remote), timeoutMillis,
                TimeUnit.MILLISECONDS);
        promise.addListener(f -> limit.cancel(false));
    }

    boolean completedAtLimit() {
        return completedAtLimit;
    }

    /** On the channel's event loop, when the limit has passed. */
    private void expire(Channel ch, ChannelPromise promise, SocketAddress remote) {
        if (promise.isDone()) {
            return;
        }
        Throwable failure;
        try {
            if (ch instanceof Socket s && s.finishIfConnected()) {
                completedAtLimit = true;
                // the event loop was more than the limit behind its sockets: a sign of an overloaded gateway
                LOG.debug("upstream connect to {} completed at its {} ms limit: made by the kernel, not yet seen by "
                        + "the event loop", remote, timeoutMillis);
                return; // made in time: completed here, as the loop would have at its next look at its sockets
            }
            failure = new ConnectTimeoutException("connection timed out after " + timeoutMillis + " ms");
        } catch (java.io.IOException e) {
            failure = e; // the connect failed (refused, unreachable): as the loop would have reported it
        } catch (RuntimeException e) {
            failure = new ConnectTimeoutException("connection timed out after " + timeoutMillis + " ms");
        }
        if (promise.tryFailure(failure)) {
            ch.close();
        }
    }

    /** A client socket whose pending connect can be asked of the kernel, and completed. */
    static final class Socket extends NioSocketChannel {
        /**
         * An idle connection about to be reused: true if the kernel has nothing for it, false if its upstream has closed
         * it (end of stream, reset) or sent something nobody asked for, which the event loop has not read yet (the
         * stale check of Apache HttpClient, without its wait: the socket is non-blocking). A byte read here is lost,
         * and the connection must then be closed. On the channel's event loop.
         */
        boolean quietAndOpen() {
            try {
                return javaChannel().read(java.nio.ByteBuffer.allocate(1)) == 0;
            } catch (java.io.IOException e) {
                return false;
            }
        }

        /**
         * If the kernel has completed this channel's pending connect, completes it as the event loop does when its
         * selector reports the connect (the interest in it dropped, then the channel's own {@code finishConnect}, which
         * fulfils the connect's promise) and returns true; false while it is still pending. Throws the connect's error
         * if it failed. On the channel's event loop. Once the socket has finished connecting, the selector no longer
         * reports the connect for it: this must complete it, not only ask.
         */
        boolean finishIfConnected() throws java.io.IOException {
            java.nio.channels.SocketChannel s = javaChannel();
            if (!s.isConnectionPending() || !s.finishConnect()) {
                return false;
            }
            java.nio.channels.SelectionKey k = selectionKey();
            if (k != null && k.isValid()) {
                k.interestOps(k.interestOps() & ~java.nio.channels.SelectionKey.OP_CONNECT);
            }
            ((io.netty.channel.nio.AbstractNioChannel.NioUnsafe) unsafe()).finishConnect();
            // Netty fires channelActive (and with it starts reading) only for a channel that was not active before its
            // finishConnect, and this one's socket was connected just above: fired here, after the promise, in
            // Netty's order. Without it the request went out and the answer was never read
            if (isActive()) {
                pipeline().fireChannelActive();
            }
            return true;
        }
    }
}
