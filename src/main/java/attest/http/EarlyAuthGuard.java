package attest.http;

import attest.identity.Credential;
import attest.identity.InvalidTokenException;
import attest.identity.TokenValidator;
import attest.ingress.RequestIds;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.Consumer;

/**
 * On the data plane, before the aggregator: a request without a valid credential costs little. Its headers
 * decide ({@link Credential}): no credential, more than one, a token that fails local validation
 * ({@link TokenValidator}: signature against the cached realm keys, claims), or a virtual key that is malformed,
 * unknown, revoked or expired ({@link KeyCheck}: one indexed read at most, cached, and none past a source's
 * budget of unknown keys) is answered 401 at once and the connection closed, without buffering the body. A body that declares at most {@code readLimit} bytes is read
 * through a digest first (never kept) so that its evidence carries the SHA-256; a larger, chunked or
 * {@code Expect: 100-continue} body is not read at all (its evidence carries the declared size and no digest).
 * A token that validates passes on unchanged; the route validates it again from the validator's cache.
 * <p>
 * Every path of the data plane needs a token (the approval requester's paths too), so nothing is exempt: the
 * guard fails closed. One instance per connection.
 */
public final class EarlyAuthGuard extends ChannelInboundHandlerAdapter {
    static final String MESSAGE = "the access token is missing or invalid";
    private static final Map<String, String> CHALLENGE = Map.of("WWW-Authenticate", "Bearer error=\"invalid_token\"");

    private final TokenValidator validator;
    private final KeyCheck keys;
    private final long readLimit;
    private final Consumer<RefusedRequest> onRefusal;
    private final java.util.function.Predicate<HttpRequest> exempt;
    /** A refused request whose small body is being digested before the answer. */
    private Pending pending;
    private boolean closed;

    private static final class Pending {
        final HttpRequest request;
        final String reason;
        final Long declared;
        final MessageDigest digest;
        long read;

        Pending(HttpRequest request, String reason, Long declared) {
            this.request = request;
            this.reason = reason;
            this.declared = declared;
            try {
                this.digest = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    public EarlyAuthGuard(TokenValidator validator, long readLimit, Consumer<RefusedRequest> onRefusal) {
        this(validator, KeyCheck.NONE, readLimit, onRefusal);
    }

    public EarlyAuthGuard(TokenValidator validator, KeyCheck keys, long readLimit, Consumer<RefusedRequest> onRefusal) {
        this(validator, keys, readLimit, onRefusal, request -> false);
    }

    /**
     * @param exempt requests passed on unchecked, for their route to check (the control plane's requests without a
     *               body, and its approval page's small form POST: {@link ControlPlaneBodies})
     */
    public EarlyAuthGuard(TokenValidator validator, KeyCheck keys, long readLimit, Consumer<RefusedRequest> onRefusal,
                          java.util.function.Predicate<HttpRequest> exempt) {
        this.validator = validator;
        this.keys = keys;
        this.readLimit = readLimit;
        this.onRefusal = onRefusal;
        this.exempt = exempt;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (closed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (pending != null) {
            digest(ctx, msg);
            return;
        }
        if (!(msg instanceof HttpRequest request) || request.decoderResult().isFailure()) {
            super.channelRead(ctx, msg);
            return;
        }
        String problem = exempt.test(request) ? null : check(request, Refusals.source(ctx));
        if (problem == null) {
            super.channelRead(ctx, msg);
            return;
        }
        ReferenceCountUtil.release(msg);
        Long declared = Refusals.declaredLength(request);
        boolean smallAndComplete = declared != null && declared <= readLimit && !HttpUtil.is100ContinueExpected(request)
                && !HttpUtil.isTransferEncodingChunked(request);
        if (smallAndComplete && declared > 0) {
            pending = new Pending(request, problem, declared);
            return;
        }
        refuse(ctx, request, problem, declared, smallAndComplete ? EMPTY_SHA256 : null);
    }

    private static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private void digest(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof HttpContent content) {
                ByteBuf buf = content.content();
                pending.read += buf.readableBytes();
                if (pending.read > readLimit) {
                    Pending p = pending;
                    refuse(ctx, p.request, p.reason, p.declared, null);
                    return;
                }
                if (buf.hasArray()) {
                    pending.digest.update(buf.array(), buf.arrayOffset() + buf.readerIndex(), buf.readableBytes());
                } else {
                    pending.digest.update(buf.nioBuffer());
                }
                if (msg instanceof LastHttpContent) {
                    Pending p = pending;
                    refuse(ctx, p.request, p.reason, p.declared, HexFormat.of().formatHex(p.digest.digest()));
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    /** Why the request's credentials are refused, or null when its token or key is valid. */
    private String check(HttpRequest request, String source) {
        try {
            Credential c = Credential.read(name -> request.headers().getAll(name));
            if (Credential.KEY.equals(c.kind())) {
                return keys.check(c.value(), source);
            }
            validator.validateAuthorization(c.value());
            return null;
        } catch (InvalidTokenException e) {
            return e.reason();
        } catch (RuntimeException e) {
            return "token could not be checked";
        }
    }

    private void refuse(ChannelHandlerContext ctx, HttpRequest request, String reason, Long declared, String sha256) {
        closed = true;
        pending = null;
        String rid = RequestIds.mint(); // always the gateway's own (X-Request-Id is correlation only)
        Refusals.answerAndClose(ctx, 401, "invalid_token", MESSAGE, rid, CHALLENGE);
        Refusals.report(onRefusal, new RefusedRequest(401, "invalid_token", "no valid bearer token", request.method().name(),
                RefusedRequest.boundTarget(request.uri()), Refusals.source(ctx), rid, declared, sha256, reason));
    }
}
