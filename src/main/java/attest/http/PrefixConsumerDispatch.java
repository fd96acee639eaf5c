package attest.http;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.AttributeKey;
import org.apache.camel.component.netty.http.InboundStreamHttpRequest;
import org.apache.camel.component.netty.http.NettyHttpConsumer;
import org.apache.camel.component.netty.http.handlers.HttpServerChannelHandler;
import org.apache.camel.component.netty.http.handlers.HttpServerMultiplexChannelHandler;

import java.util.ArrayList;
import java.util.List;

/**
 * camel-netty-http's per-port dispatcher, with a shortcut for the data plane: when the port has one consumer only,
 * on the root path with {@code matchOnUriPrefix} and no method restriction (inference-ingress), a request whose target
 * is an origin-form path below the root goes straight to it. The stock dispatcher would pick the same consumer, but
 * first builds a list of the port's consumers and ranks them against the path with streams, per request (about 3% of
 * the gateway's CPU samples under saturation, docs/benchmarks.md, 2026-12-02). Everything else (several consumers, a
 * consumer with a path or a method restriction, the root itself, a target that is not origin-form, OPTIONS, which
 * the stock dispatcher would answer itself but the hardened pipeline refuses first) is left to the stock dispatcher,
 * so what answers a request never changes.
 */
@ChannelHandler.Sharable
public class PrefixConsumerDispatch extends HttpServerMultiplexChannelHandler {
    /** The stock dispatcher's attribute (a pooled name: the same key), for its exception handling. */
    private static final AttributeKey<HttpServerChannelHandler> SERVER_HANDLER_KEY = AttributeKey.valueOf("serverHandler");

    private final List<NettyHttpConsumer> consumers = new ArrayList<>();
    /** The one root prefix consumer's handler, or null when the shortcut does not apply. */
    private volatile HttpServerChannelHandler only;

    @Override
    public synchronized void addConsumer(NettyHttpConsumer consumer) {
        super.addConsumer(consumer);
        consumers.add(consumer);
        only = shortcut(consumers);
    }

    @Override
    public synchronized void removeConsumer(NettyHttpConsumer consumer) {
        super.removeConsumer(consumer);
        consumers.remove(consumer);
        only = shortcut(consumers);
    }

    static HttpServerChannelHandler shortcut(List<NettyHttpConsumer> consumers) {
        if (consumers.size() != 1) {
            return null;
        }
        NettyHttpConsumer c = consumers.get(0);
        String path = c.getConfiguration().getPath();
        boolean root = path == null || path.isEmpty() || path.equals("/");
        return root && c.getConfiguration().isMatchOnUriPrefix() && !c.getConfiguration().isHttpProxy()
                && c.getEndpoint().getHttpMethodRestrict() == null ? new HttpServerChannelHandler(c) : null;
    }

    /** Whether requests below the root go straight to the port's lone consumer. */
    boolean shortcutting() {
        return only != null;
    }

    /** Whether the stock dispatcher would pick the root prefix consumer for this target and method, for certain. */
    static boolean belowRoot(String target, HttpMethod method) {
        return target.length() > 1 && target.charAt(0) == '/' && target.charAt(1) != '?' && target.charAt(1) != '#'
                && !HttpMethod.OPTIONS.equals(method);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Object msg) throws Exception {
        HttpServerChannelHandler handler = only;
        HttpRequest request = msg instanceof HttpRequest r ? r
                : msg instanceof InboundStreamHttpRequest s ? s.getHttpRequest() : null;
        if (handler == null || request == null || !belowRoot(request.uri(), request.method())) {
            super.channelRead0(ctx, msg);
            return;
        }
        ctx.channel().attr(SERVER_HANDLER_KEY).set(handler);
        if (msg instanceof HttpContent content) {
            content.content().retain(); // as the stock dispatcher: this handler releases msg when it returns
        }
        handler.channelRead(ctx, msg);
    }
}
