package attest.upstream;

import attest.Exchanges;
import attest.http.CallerThread;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.evidence.Outcome;
import attest.ingress.UpstreamTarget;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.support.AsyncProcessorSupport;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * Sets {@code attestUpstreamResponse}: calls the configured upstream (never a URL from the request) with
 * the brokered headers and the body as received. A streamed answer comes back as a live relay.
 * <p>
 * Asynchronous: the call is started and the routing thread is given back at once, so no thread waits while
 * the upstream thinks. When the answer (or a stream's head) arrives, the route goes on on the caller's own
 * channel thread (the Netty handler executor that read the request), or on {@code continuation} for an
 * exchange without a caller connection (a held call executed after approval). If the caller goes away
 * first, the upstream exchange is cancelled (its connection closed) and the call ends {@code client_aborted}.
 * The upstream exchange's I/O runs on the caller's connection's event loop (see
 * {@link UpstreamClient#callAsync(UpstreamTarget, String, ForwardHeaders, byte[], boolean, io.netty.channel.EventLoop)}).
 * The call's trace context is passed on as {@code traceparent}.
 */
public class CallUpstreamProcessor extends AsyncProcessorSupport {
    private final UpstreamClient client;
    private final Executor continuation;

    public CallUpstreamProcessor(UpstreamClient client, Executor continuation) {
        this.client = client;
        this.continuation = continuation;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        ChannelHandlerContext ctx = CallerThread.context(exchange);
        Channel channel = ctx == null ? null : ctx.channel();
        CompletableFuture<UpstreamResponse> answer;
        try {
            InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
            byte[] body = exchange.getProperty(Exchanges.FORWARD_BODY, in.body(), byte[].class);
            ForwardHeaders headers = exchange.getProperty(Exchanges.FORWARD_HEADERS, ForwardHeaders.class);
            // the trace goes on to the upstream: traceparent names the current (upstream) span; nothing when untraced
            attest.ops.Tracing.inject(io.opentelemetry.context.Context.current(), headers::set);
            answer = client.callAsync(exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class), in.method(),
                    headers, body,
                    exchange.getProperty(Exchanges.BUFFER_RESPONSE, false, Boolean.class),
                    channel == null ? null : channel.eventLoop()); // the upstream's I/O on the caller's loop
        } catch (RuntimeException e) {
            exchange.setException(e);
            callback.done(true);
            return true;
        }
        Executor next = CallerThread.of(exchange, continuation);
        ChannelFutureListener callerGone = f -> answer.cancel(true);
        if (channel != null) {
            channel.closeFuture().addListener(callerGone);
        }
        answer.whenCompleteAsync((response, err) -> {
            if (channel != null) {
                channel.closeFuture().removeListener(callerGone);
            }
            if (err == null) {
                exchange.setProperty(Exchanges.UPSTREAM_RESPONSE, response);
            } else {
                exchange.setException(error(err));
            }
            callback.done(false);
        }, next);
        return false;
    }

    private static Exception error(Throwable err) {
        Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (cause instanceof CancellationException) {
            return new GatewayException(502, "client_aborted", "the caller went away before the answer",
                    Outcome.CLIENT_ABORTED);
        }
        return cause instanceof GatewayException g ? g : GatewayException.upstreamError("the upstream call failed");
    }
}
