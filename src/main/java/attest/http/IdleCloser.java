package attest.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;

/**
 * Closes a keep-alive connection that stays idle (no byte read or written for the idle timeout of the
 * {@link io.netty.handler.timeout.IdleStateHandler} before it) while no request is in flight on it. A request in
 * flight (waiting for an upstream or an approver, or streaming) is never cut here: the upstream and request
 * timeouts govern those. Sits after the HTTP codec, so it sees requests and the answers' last parts.
 */
public final class IdleCloser extends ChannelDuplexHandler {
    private int inFlight;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
            inFlight++;
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof LastHttpContent && inFlight > 0) {
            inFlight--;
        }
        super.write(ctx, msg, promise);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent && inFlight == 0) {
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }
}
