package attest.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.function.Consumer;

/** What the pipeline guards share: answering a refusal, closing the connection, and reporting it. */
final class Refusals {
    private static final Logger LOG = LoggerFactory.getLogger(Refusals.class);

    private Refusals() {
    }

    static String source(ChannelHandlerContext ctx) {
        return ctx.channel().remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
                ? a.getAddress().getHostAddress() : null;
    }

    /** The declared Content-Length, or null when absent, malformed or negative. */
    static Long declaredLength(HttpRequest request) {
        String v = request.headers().get(HttpHeaderNames.CONTENT_LENGTH);
        if (v == null) {
            return null;
        }
        try {
            long n = Long.parseLong(v.trim());
            return n < 0 ? null : n;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * Answers with the JSON error shape and {@code Connection: close}, from the pipeline's tail (so the answer
     * passes the HTTP encoder), then closes the connection.
     */
    static void answerAndClose(ChannelHandlerContext ctx, int status, String code, String message, String requestId,
                                 Map<String, String> headers) {
        byte[] body = ErrorBodies.json(code, message, requestId, null);
        DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(body));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        response.headers().set(HttpHeaderNames.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        if (requestId != null) {
            response.headers().set(ResponseHeaders.REQUEST_ID, requestId);
        }
        headers.forEach((k, v) -> response.headers().set(k, v));
        ctx.channel().writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }

    static void report(Consumer<RefusedRequest> onRefusal, RefusedRequest refusal) {
        try {
            onRefusal.accept(refusal);
        } catch (RuntimeException e) {
            LOG.warn("could not record a refused request: {}", e.getClass().getSimpleName());
        }
    }
}
