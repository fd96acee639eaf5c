package attest.http;

import attest.identity.TokenValidator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.timeout.IdleStateHandler;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The flood and exhaustion guards of one plane, added around camel-netty-http's own server pipeline:
 * <pre>
 *   connection-guard | decoder ... encoder | idle-state, idle-closer | early-auth, request-budget | aggregator ...
 * </pre>
 * <ul>
 *   <li>{@link ConnectionGuard}: caps on connections in total and per source address (503 at accept);</li>
 *   <li>{@link IdleStateHandler} + {@link IdleCloser}: an idle keep-alive connection is closed;</li>
 *   <li>{@link EarlyAuthGuard} (401 on the headers, before any body is buffered; on the control plane only for
 *       requests with a body, except the approval page's small form POST: {@link ControlPlaneBodies});</li>
 *   <li>data plane only: {@link BudgetGuard} (a total budget for bodies being buffered; 503 before
 *       aggregating).</li>
 * </ul>
 */
public final class ChannelGuards {
    private final ChannelHandler connectionGuard;
    private final long idleMillis;
    private final Consumer<RefusedRequest> onRefusal;
    private TokenValidator validator;
    private KeyCheck keys = KeyCheck.NONE;
    private long unauthenticatedReadLimit;
    private java.util.function.Predicate<io.netty.handler.codec.http.HttpRequest> exempt = request -> false;
    private RequestBudget budget;
    private long hardMaxBody;
    private attest.policy.DenialLimiter denials = attest.policy.DenialLimiter.OFF;
    private java.time.Clock clock = java.time.Clock.systemUTC();

    public ChannelGuards(ConnectionLimits limits, long idleMillis, Consumer<RefusedRequest> onRefusal) {
        this.connectionGuard = new ConnectionGuard(limits, onRefusal);
        this.idleMillis = idleMillis;
        this.onRefusal = onRefusal;
    }

    /** Refuses requests without a valid bearer token on their headers (the data plane). */
    public ChannelGuards withEarlyAuth(TokenValidator validator, long unauthenticatedReadLimit) {
        this.validator = validator;
        this.unauthenticatedReadLimit = unauthenticatedReadLimit;
        return this;
    }

    /**
     * Refuses requests without a valid bearer token on their headers, except those {@code exempt} names, which
     * their routes check (the control plane: {@link ControlPlaneBodies}).
     */
    public ChannelGuards withEarlyAuth(TokenValidator validator, long unauthenticatedReadLimit,
                                       java.util.function.Predicate<io.netty.handler.codec.http.HttpRequest> exempt) {
        this.exempt = exempt;
        return withEarlyAuth(validator, unauthenticatedReadLimit);
    }

    /** Accepts virtual keys on the headers too, when this check finds them live. */
    public ChannelGuards withKeys(KeyCheck keys) {
        this.keys = keys;
        return this;
    }

    /** Refuses, 429 on their headers, callers past their policy refusals in the window (the data plane). */
    public ChannelGuards withDenials(attest.policy.DenialLimiter denials, java.time.Clock clock) {
        this.denials = denials;
        this.clock = clock;
        return this;
    }

    /** Holds request bodies within a budget shared by every connection of the plane (the data plane). */
    public ChannelGuards withBudget(RequestBudget budget, long hardMaxBody) {
        this.budget = budget;
        this.hardMaxBody = hardMaxBody;
        return this;
    }

    /** Adds the guards to a pipeline that camel-netty-http has built. */
    public void install(ChannelPipeline p) {
        p.addFirst("connection-guard", connectionGuard);
        String last = "encoder";
        if (idleMillis > 0) {
            p.addAfter(last, "idle-state", new IdleStateHandler(0, 0, idleMillis, TimeUnit.MILLISECONDS));
            p.addAfter("idle-state", "idle-closer", new IdleCloser());
        }
        if (validator != null) {
            p.addBefore("aggregator", "early-auth", new EarlyAuthGuard(validator, keys, unauthenticatedReadLimit, onRefusal,
                    exempt, denials, clock));
        }
        if (budget != null) {
            p.addBefore("aggregator", "request-budget", new BudgetGuard(budget, hardMaxBody, onRefusal));
        }
    }

    /** An initializer that runs {@code inner} (camel-netty-http's), then adds the guards. */
    public ChannelInitializer<Channel> around(ChannelInitializer<Channel> inner) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(inner); // runs inner's initChannel at once (the channel is registered)
                install(ch.pipeline());
            }
        };
    }
}
