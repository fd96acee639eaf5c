package attest.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;

import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * First in a plane's pipeline: admits a connection against {@link ConnectionLimits} when it is accepted. Past the
 * total or per-source cap the connection is answered 503 at once (a pre-encoded response, before anything is
 * read), closed, and reported as a refusal (which the evidence recorder counts). One instance per plane.
 */
@ChannelHandler.Sharable
public final class ConnectionGuard extends ChannelInboundHandlerAdapter {
    private static final AttributeKey<String> ADMITTED = AttributeKey.valueOf("attest.connection.source");

    private final ConnectionLimits limits;
    private final Consumer<RefusedRequest> onRefusal;

    public ConnectionGuard(ConnectionLimits limits, Consumer<RefusedRequest> onRefusal) {
        this.limits = limits;
        this.onRefusal = onRefusal;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        String source = Refusals.source(ctx);
        ConnectionLimits.Refusal refusal = limits.tryAcquire(source);
        if (refusal == null) {
            ctx.channel().attr(ADMITTED).set(source == null ? "" : source);
            super.channelActive(ctx);
            return;
        }
        String reason = refusal == ConnectionLimits.Refusal.TOTAL ? "too many connections"
                : "too many connections from this source address";
        byte[] body = ErrorBodies.json("overloaded", reason, null, null);
        byte[] head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        // nothing was read yet: the answer goes straight to the socket, then the connection is closed
        ctx.writeAndFlush(Unpooled.wrappedBuffer(head, body)).addListener(ChannelFutureListener.CLOSE);
        Refusals.report(onRefusal, new RefusedRequest(503, "overloaded", reason, null, null, source, null, null,
                null, null));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (ctx.channel().attr(ADMITTED).get() == null) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        String source = ctx.channel().attr(ADMITTED).getAndSet(null);
        if (source != null) {
            limits.release(source.isEmpty() ? null : source);
        }
        super.channelInactive(ctx);
    }
}
