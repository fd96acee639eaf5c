package attest.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.apache.camel.component.netty.NettyConsumer;
import org.apache.camel.component.netty.ServerInitializerFactory;
import org.apache.camel.component.netty.http.HttpServerInitializerFactory;
import org.apache.camel.component.netty.http.NettyHttpConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * camel-netty-http's server pipeline, hardened for a gateway. Before anything is aggregated or routed:
 * <ul>
 *   <li>a request with both Content-Length and Transfer-Encoding, in either order, or with any
 *       Transfer-Encoding other than exactly {@code chunked}, is refused with 400 and the connection closed
 *       (Netty alone would drop the Content-Length and go on: a request-smuggling vector);</li>
 *   <li>headers over the limit get 431, a request line over the limit 414, any other malformed request 400,
 *       each with the connection closed;</li>
 *   <li>a request-target that is not origin-form ({@code /...}) is refused with 400: absolute-form,
 *       authority-form, {@code *}, {@code @host/...}, {@code //host/...}, backslashes, non-ASCII;</li>
 *   <li>a method outside GET, HEAD, POST, PUT, PATCH and DELETE (CONNECT, TRACE, OPTIONS, PROPFIND, lowercase
 *       {@code get}, any unknown token) is refused with 405 and an {@code Allow} header;</li>
 *   <li>a client that does not send its whole request within the deadline (slowloris) is cut off.</li>
 * </ul>
 * Nothing refused here reaches a route, so nothing reaches an upstream. Each refusal is reported to
 * {@code onRefusal} (the gateway records it as evidence).
 */
public class HardenedHttpServerInitializerFactory extends HttpServerInitializerFactory {
    private static final Logger LOG = LoggerFactory.getLogger(HardenedHttpServerInitializerFactory.class);
    static final String FRAMING_MARK = "X-Attest-Internal-Framing-Conflict";

    /** A refused request: status, reason, method and target (possibly null), and the caller's address. */
    public record Refusal(int status, String reason, String method, String target, String source) {
        /** The refusal as the evidence recorder gets it, with the error code its answer carried. */
        public RefusedRequest toRefusedRequest() {
            return new RefusedRequest(status, RequestGuard.code(status), reason, method, target, source, null, null,
                    null, null);
        }
    }

    private final long requestTimeoutMillis;
    private final Consumer<Refusal> onRefusal;

    public HardenedHttpServerInitializerFactory(long requestTimeoutMillis, Consumer<Refusal> onRefusal) {
        this.requestTimeoutMillis = requestTimeoutMillis;
        this.onRefusal = onRefusal;
    }

    private HardenedHttpServerInitializerFactory(NettyHttpConsumer consumer, long requestTimeoutMillis,
                                                Consumer<Refusal> onRefusal) {
        super(consumer);
        this.requestTimeoutMillis = requestTimeoutMillis;
        this.onRefusal = onRefusal;
    }

    @Override
    public ServerInitializerFactory createPipelineFactory(NettyConsumer nettyConsumer) {
        return new HardenedHttpServerInitializerFactory((NettyHttpConsumer) nettyConsumer, requestTimeoutMillis,
                onRefusal);
    }

    @Override
    protected void initChannel(Channel ch) throws Exception {
        super.initChannel(ch);
        ChannelPipeline p = ch.pipeline();
        p.replace("decoder", "decoder", new StrictRequestDecoder(configuration.getMaxInitialLineLength(),
                configuration.getMaxHeaderSize(), configuration.getMaxChunkSize()));
        p.addAfter("decoder", "request-guard", new RequestGuard(requestTimeoutMillis, onRefusal));
    }

    /** Netty's decoder, except that Content-Length with Transfer-Encoding is marked rather than repaired. */
    static final class StrictRequestDecoder extends HttpRequestDecoder {
        StrictRequestDecoder(int maxInitialLine, int maxHeader, int maxChunk) {
            super(maxInitialLine, maxHeader, maxChunk);
        }

        @Override
        protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
            message.headers().set(FRAMING_MARK, "1");
        }
    }

    /** Refuses badly framed requests and enforces the whole-request deadline. */
    static final class RequestGuard extends ChannelInboundHandlerAdapter {
        /**
         * The only methods any route serves (methods are case-sensitive: {@code get} is not GET). Everything else is
         * refused here, before a token is read: CONNECT (tunnels), TRACE and TRACK (echo the request, credentials
         * included), OPTIONS (camel-netty-http would answer it itself, 200 with an Allow list, with no token and no
         * evidence; the gateway has no CORS), WebDAV and unknown tokens (a route would see them as unexpected).
         */
        static final java.util.Set<String> SERVED_METHODS = java.util.Set.copyOf(ServedMethods.DOOR);
        /** The Allow header of a 405: the methods the gateway serves at all (each route narrows them further). */
        static final String ALLOW = String.join(", ", ServedMethods.DOOR);
        private final long timeoutMillis;
        private final Consumer<Refusal> onRefusal;
        private boolean refused;
        private ScheduledFuture<?> deadline;

        RequestGuard(long timeoutMillis, Consumer<Refusal> onRefusal) {
            this.timeoutMillis = timeoutMillis;
            this.onRefusal = onRefusal;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            arm(ctx);
            super.channelActive(ctx);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (refused) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof HttpRequest request) {
                arm(ctx);
                String problem = problem(request);
                if (problem != null) {
                    int status = statusFor(request);
                    ReferenceCountUtil.release(msg);
                    refuse(ctx, status, problem, request.method() == null ? null : request.method().name(),
                            request.uri());
                    return;
                }
            }
            if (msg instanceof LastHttpContent) {
                disarm();
            }
            if (msg instanceof HttpContent content && content.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                refuse(ctx, 400, "malformed request body framing", null, null);
                return;
            }
            super.channelRead(ctx, msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            disarm();
            super.channelInactive(ctx);
        }

        private void arm(ChannelHandlerContext ctx) {
            disarm();
            if (timeoutMillis > 0) {
                deadline = ctx.executor().schedule(() -> {
                    if (!refused) {
                        refuse(ctx, 408, "request not received within " + timeoutMillis + " ms", null, null);
                    }
                }, timeoutMillis, TimeUnit.MILLISECONDS);
            }
        }

        private void disarm() {
            if (deadline != null) {
                deadline.cancel(false);
                deadline = null;
            }
        }

        private static String problem(HttpRequest request) {
            if (request.decoderResult().isFailure()) {
                Throwable cause = request.decoderResult().cause();
                if (cause instanceof TooLongHttpHeaderException) {
                    return "request headers too large";
                }
                if (cause instanceof TooLongHttpLineException) {
                    return "request line too long";
                }
                return cause instanceof TooLongFrameException ? "request too large" : "malformed request";
            }
            if (!httpOne(request)) { // an HTTP/2 preface (PRI * HTTP/2.0) or another version: not a method question
                return "unsupported HTTP version";
            }
            if (request.method() == null || !SERVED_METHODS.contains(request.method().name())) {
                return "method not allowed";
            }
            String targetProblem = targetProblem(request.uri());
            if (targetProblem != null) {
                return targetProblem;
            }
            if (request.headers().contains(FRAMING_MARK)) {
                return "both Content-Length and Transfer-Encoding";
            }
            List<String> te = request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
            if (!te.isEmpty()) {
                if (te.size() > 1 || !te.get(0).trim().toLowerCase(Locale.ROOT).equals("chunked")) {
                    return "unsupported Transfer-Encoding";
                }
                if (request.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
                    return "both Content-Length and Transfer-Encoding";
                }
            }
            return null;
        }

        /**
         * Only origin-form targets are served (RFC 9112 3.2.1): exactly one leading {@code /}, then visible
         * ASCII without backslashes. Absolute-form ({@code http://h/x}), authority-form ({@code h:443}),
         * asterisk-form ({@code *}), {@code @h/x}, {@code //h/x} and {@code /\h} are refused: a recorded
         * target of that shape would otherwise become a URL's authority when re-used (replay).
         */
        static String targetProblem(String target) {
            if (target == null || target.isEmpty()) {
                return "empty request target";
            }
            if (target.charAt(0) != '/') {
                return "request target must be origin-form (/...)";
            }
            if (target.length() > 1 && (target.charAt(1) == '/' || target.charAt(1) == '\\')) {
                return "request target must not start with //";
            }
            for (int i = 0; i < target.length(); i++) {
                char c = target.charAt(i);
                if (c <= 0x20 || c >= 0x7f || c == '\\') {
                    return "invalid character in request target";
                }
            }
            return null;
        }

        private static boolean httpOne(HttpRequest request) {
            return request.protocolVersion() != null && request.protocolVersion().majorVersion() == 1;
        }

        private static int statusFor(HttpRequest request) {
            if (!request.decoderResult().isFailure() && httpOne(request)
                    && (request.method() == null || !SERVED_METHODS.contains(request.method().name()))) {
                return 405;
            }
            if (request.decoderResult().isFailure()) {
                Throwable cause = request.decoderResult().cause();
                if (cause instanceof TooLongHttpHeaderException) {
                    return 431;
                }
                if (cause instanceof TooLongHttpLineException) {
                    return 414;
                }
            }
            return 400;
        }

        private void refuse(ChannelHandlerContext ctx, int status, String reason, String method, String target) {
            refused = true;
            disarm();
            String code = code(status);
            byte[] body = ErrorBodies.json(code, reason, null, null);
            DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(body));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            response.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
            if (status == 405) {
                response.headers().set(HttpHeaderNames.ALLOW, ALLOW);
            }
            // from the tail, so that the response passes the HTTP encoder that sits behind this handler
            ctx.channel().writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            String source = ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a
                    ? a.getAddress().getHostAddress() : null;
            try {
                onRefusal.accept(new Refusal(status, reason, method, truncate(target), source));
            } catch (RuntimeException e) {
                LOG.warn("could not record a refused request: {}", e.getClass().getSimpleName());
            }
        }

        /** The error code of a refusal's answer. */
        static String code(int status) {
            return switch (status) {
                case 431 -> "headers_too_large";
                case 414 -> "uri_too_long";
                case 408 -> "request_timeout";
                case 405 -> "method_not_allowed";
                default -> "bad_request";
            };
        }

        private static String truncate(String s) {
            if (s == null) {
                return null;
            }
            String clean = s.replaceAll("[\\p{Cntrl}]", "?");
            return new String(clean.getBytes(StandardCharsets.UTF_8), 0,
                    Math.min(clean.getBytes(StandardCharsets.UTF_8).length, 2048), StandardCharsets.UTF_8);
        }
    }
}
