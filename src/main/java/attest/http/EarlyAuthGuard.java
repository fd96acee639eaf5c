package attest.http;

import attest.identity.Credential;
import attest.identity.InvalidTokenException;
import attest.identity.RealmKeys;
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
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
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
 * A token whose {@code kid} is not among the realm's keys while they are being fetched (a key rotation: {@link
 * RealmKeys.KeysRefreshingException}) is held, not refused: the connection stops reading, nothing is forwarded, and
 * the token is checked again on this connection's event loop when the fetch lands (at most the fetch's timeout).
 * No thread waits meanwhile. A token is held once; what the check says then is final. A virtual key that is not
 * in the resolver's cache is held the same way while it is looked up in the store on the blocking pool
 * ({@link KeyCheck#checkOffLoop}), never on the event loop.
 * <p>
 * Every path of the data plane needs a token (the approval requester's paths too), so nothing is exempt: the
 * guard fails closed. One instance per connection.
 */
public final class EarlyAuthGuard extends ChannelInboundHandlerAdapter {
    static final String MESSAGE = "the access token is missing or invalid";
    static final String KEYS_UNAVAILABLE_MESSAGE = "the identity provider's signing keys could not be refreshed; "
            + "try again later";
    private static final Map<String, String> CHALLENGE = Map.of("WWW-Authenticate", "Bearer error=\"invalid_token\"");

    private final TokenValidator validator;
    private final KeyCheck keys;
    private final long readLimit;
    private final Consumer<RefusedRequest> onRefusal;
    private final java.util.function.Predicate<HttpRequest> exempt;
    private final attest.policy.DenialLimiter denials;
    private final java.time.Clock clock;
    /** The caller the last check found valid ({@link attest.policy.DenialLimiter}'s name for it), or null. */
    private String caller;
    /** The subject of the token the last check found valid, or null (no token, or a virtual key). */
    private String callerSubject;
    /** A refused request whose small body is being digested before the answer. */
    private Pending pending;
    /** A request held while the realm's keys are fetched, and what arrived after it (not read on meanwhile). */
    private Held held;
    /** The key fetch that the last check would wait for (set by {@link #check}). */
    private java.util.concurrent.CompletionStage<Void> refreshing;
    /** The virtual key's check that runs off the loop for the last request (set by {@link #check}). */
    private java.util.concurrent.CompletionStage<String> keyChecking;
    private static final String KEYS_REFRESHING = "signing keys being refreshed";
    /** The realm's keys are older than allowed and cannot be refreshed: 503, never a 401 for a token that may be good. */
    private static final String KEYS_UNAVAILABLE = "signing keys unavailable";
    private static final String KEY_CHECKING = "virtual key being checked";
    /** The caller had too many calls refused by policy in this window: 429 until it ends. */
    private static final String TOO_MANY_DENIALS = "too many calls refused by policy";
    static final String TOO_MANY_DENIALS_MESSAGE = "too many of this caller's calls were refused by policy; "
            + "try again after Retry-After seconds";
    private long retryAfter;
    /** The virtual key refused for {@link #TOO_MANY_DENIALS} as its calls name it, or null (a token, or not known). */
    private attest.policy.DenialLimiter.KeyName refusedKey;
    /** What a held request's outcome says when its token is to be checked again. */
    private static final String CHECK_AGAIN = "check again";
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

    private static final class Held {
        final HttpRequest request;
        final List<Object> after = new ArrayList<>();

        Held(HttpRequest request) {
            this.request = request;
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
        this(validator, keys, readLimit, onRefusal, exempt, attest.policy.DenialLimiter.OFF, java.time.Clock.systemUTC());
    }

    /**
     * @param denials callers past their policy refusals in the window are refused here, 429 (the data plane)
     */
    public EarlyAuthGuard(TokenValidator validator, KeyCheck keys, long readLimit, Consumer<RefusedRequest> onRefusal,
                          java.util.function.Predicate<HttpRequest> exempt, attest.policy.DenialLimiter denials,
                          java.time.Clock clock) {
        this.denials = denials;
        this.clock = clock;
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
        if (held != null) {
            held.after.add(msg);
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
        admit(ctx, request, true);
    }

    /** Passes the request on, holds it while the keys are fetched ({@code mayHold}) or its key checked, or refuses it. */
    private void admit(ChannelHandlerContext ctx, HttpRequest request, boolean mayHold) {
        caller = null; // an exempt request is not checked: no caller of an earlier request on this connection
        callerSubject = null;
        decide(ctx, request, exempt.test(request) ? null : check(request, Refusals.source(ctx)), mayHold);
    }

    private void decide(ChannelHandlerContext ctx, HttpRequest request, String problem, boolean mayHold) {
        if (problem == null) {
            long now = clock.millis();
            retryAfter = denials.retryAfterSeconds(caller, now);
            if (retryAfter == 0) {
                ctx.fireChannelRead(request);
                return;
            }
            problem = TOO_MANY_DENIALS;
            // the key it is, taken in the window that refused it (its small body may be digested past that window)
            refusedKey = callerSubject == null ? denials.keyOf(caller, now) : null;
        }
        if (problem == KEYS_REFRESHING && mayHold) {
            hold(ctx, request, refreshing.thenApply(v -> CHECK_AGAIN));
            return;
        }
        if (problem == KEY_CHECKING) {
            hold(ctx, request, keyChecking); // its answer is final
            return;
        }
        ReferenceCountUtil.release(request);
        Long declared = Refusals.declaredLength(request);
        boolean smallAndComplete = declared != null && declared <= readLimit && !HttpUtil.is100ContinueExpected(request)
                && !HttpUtil.isTransferEncodingChunked(request);
        if (smallAndComplete && declared > 0) {
            pending = new Pending(request, problem, declared);
            return;
        }
        refuse(ctx, request, problem, declared, smallAndComplete ? EMPTY_SHA256 : null);
    }

    /**
     * Stops reading this connection until {@code outcome} is known (a key fetch landed: {@link #CHECK_AGAIN}; a
     * virtual key checked off the loop: its answer), then decides on the request on its event loop and replays what
     * arrived after it (the rest of its body, a pipelined request) through this guard.
     */
    private void hold(ChannelHandlerContext ctx, HttpRequest request,
                      java.util.concurrent.CompletionStage<String> outcome) {
        held = new Held(request);
        ctx.channel().config().setAutoRead(false);
        outcome.whenComplete((problem, e) -> ctx.executor().execute(() ->
                resume(ctx, e != null ? "token could not be checked" : problem)));
    }

    private void resume(ChannelHandlerContext ctx, String outcome) {
        Held h = held;
        if (h == null) {
            return; // the connection closed meanwhile
        }
        held = null;
        if (!ctx.channel().isActive()) {
            release(h);
            return;
        }
        if (outcome == CHECK_AGAIN) {
            admit(ctx, h.request, false);
        } else {
            decide(ctx, h.request, outcome, false);
        }
        for (Object m : h.after) {
            try {
                channelRead(ctx, m);
            } catch (Exception e) {
                ctx.fireExceptionCaught(e);
            }
        }
        if (held == null && !closed) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private static void release(Held h) {
        ReferenceCountUtil.release(h.request);
        h.after.forEach(ReferenceCountUtil::release);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (held != null) {
            release(held);
            held = null;
        }
        super.channelInactive(ctx);
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
        caller = null;
        callerSubject = null;
        try {
            Credential c = Credential.read(name -> request.headers().getAll(name));
            if (Credential.KEY.equals(c.kind())) {
                caller = denials.enabled() ? attest.policy.DenialLimiter.key(c.value()) : null;
                java.util.concurrent.CompletionStage<String> later = keys.checkOffLoop(c.value(), source);
                if (later != null) {
                    keyChecking = later;
                    return KEY_CHECKING;
                }
                return keys.check(c.value(), source);
            }
            attest.identity.Identity id = validator.validateAuthorization(c.value());
            caller = attest.policy.DenialLimiter.subject(id.subject());
            callerSubject = id.subject();
            return null;
        } catch (InvalidTokenException e) {
            return e.reason();
        } catch (RealmKeys.KeysRefreshingException e) {
            refreshing = e.landed();
            return KEYS_REFRESHING;
        } catch (RealmKeys.KeysUnavailableException e) {
            return KEYS_UNAVAILABLE;
        } catch (RuntimeException e) {
            return "token could not be checked";
        }
    }

    private void refuse(ChannelHandlerContext ctx, HttpRequest request, String reason, Long declared, String sha256) {
        closed = true;
        pending = null;
        String rid = RequestIds.mint(); // always the gateway's own (X-Request-Id is correlation only)
        if (reason == KEYS_UNAVAILABLE) {
            // the gateway's fault, not the token's: 503 as the routes answer it (RealmKeys.KeysUnavailableException),
            // recorded as a refusal of an unauthenticated call
            Refusals.answerAndClose(ctx, 503, "keys_unavailable", KEYS_UNAVAILABLE_MESSAGE, rid,
                    Map.of("Retry-After", "30"));
            Refusals.report(onRefusal, new RefusedRequest(503, "keys_unavailable", "signing keys unavailable",
                    request.method().name(), RefusedRequest.boundTarget(request.uri()), Refusals.source(ctx), rid,
                    declared, sha256, reason));
            return;
        }
        if (reason == TOO_MANY_DENIALS) {
            // a valid caller whose calls policy kept refusing: refused here, recorded like any refusal at the door
            // (one by one up to the source's share of the window, then counted), not a record of its own each
            // who: the verified token's subject, or the virtual key as its calls name it (its id and owner, kept
            // beside its digest's count when a call of it was counted; none when not known): never its secret or digest
            Refusals.answerAndClose(ctx, 429, "too_many_denials", TOO_MANY_DENIALS_MESSAGE, rid,
                    Map.of("Retry-After", String.valueOf(retryAfter)));
            attest.policy.DenialLimiter.KeyName key = refusedKey;
            Refusals.report(onRefusal, new RefusedRequest(429, "too_many_denials", TOO_MANY_DENIALS,
                    request.method().name(), RefusedRequest.boundTarget(request.uri()), Refusals.source(ctx), rid,
                    declared, sha256, null, key != null ? key.ownerSubject() : callerSubject,
                    key != null ? key.id() : null));
            return;
        }
        Refusals.answerAndClose(ctx, 401, "invalid_token", MESSAGE, rid, CHALLENGE);
        Refusals.report(onRefusal, new RefusedRequest(401, "invalid_token", "no valid bearer token", request.method().name(),
                RefusedRequest.boundTarget(request.uri()), Refusals.source(ctx), rid, declared, sha256, reason));
    }
}
