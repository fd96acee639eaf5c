package attest.keys;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.http.Outcomes;
import attest.http.ResponseHeaders;
import attest.identity.Identity;
import attest.policy.PolicyEngine;
import attest.policy.PolicyRule;
import attest.policy.Verdict;
import attest.rules.Matching;
import attest.usage.LimitsFile;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * {@code POST /keys}: creates a key owned by the caller (a person or a service account, proven by a Keycloak
 * token; a key cannot create keys) and sets the 201 body with the secret, shown this once. Refused: a caller
 * without a key-creating role (403); a body that names an owner, or anything unknown (400); an upstream that is
 * not configured (400) or that no policy rule lets the owner call (403); limits above the owner's own (403); more
 * than {@code maxPerOwner} live keys (409). Creation is evidence (chain entry {@code key.created}).
 */
public class CreateKeyProcessor implements Processor {
    private final KeyStore store;
    private final PolicyEngine policy;
    private final LimitsFile limits;
    private final Set<String> upstreams;
    private final List<String> creatorRoles;
    private final Duration defaultLifetime;
    private final Duration maxLifetime;
    private final int maxPerOwner;
    private final Clock clock;

    public CreateKeyProcessor(KeyStore store, PolicyEngine policy, LimitsFile limits, Set<String> upstreams,
                              List<String> creatorRoles, Duration defaultLifetime, Duration maxLifetime, int maxPerOwner,
                              Clock clock) {
        this.store = store;
        this.policy = policy;
        this.limits = limits;
        this.upstreams = Set.copyOf(upstreams);
        this.creatorRoles = List.copyOf(creatorRoles);
        this.defaultLifetime = defaultLifetime;
        this.maxLifetime = maxLifetime;
        this.maxPerOwner = maxPerOwner;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        if (who == null || creatorRoles.stream().noneMatch(who::hasRole)) {
            throw new GatewayException(403, "forbidden", "keys are for the roles " + creatorRoles, Outcomes.DENIED);
        }
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        KeyJson.Request req = KeyJson.read(in.body(), defaultLifetime, maxLifetime);
        for (String u : req.upstreams()) {
            if (!upstreams.contains(u)) {
                throw GatewayException.badRequest("no upstream named " + u);
            }
        }
        for (String u : req.upstreams().isEmpty() ? upstreams : Set.copyOf(req.upstreams())) {
            if (!req.upstreams().isEmpty() && !mayCall(who, u)) {
                throw new GatewayException(403, "forbidden", "your policy allows no call to upstream " + u
                        + ": a key cannot have more scope than its owner", Outcomes.DENIED);
            }
        }
        for (LimitsFile.Entry e : limits.entries()) {
            boolean mine = e.users().contains("*") || e.users().contains(who.subject())
                    || (who.username() != null && e.users().contains(who.username()));
            if (mine && !req.budget().within(e.budget())) {
                throw new GatewayException(403, "forbidden", "the key's limits exceed your own (" + e.id() + ")",
                        Outcomes.DENIED);
            }
        }
        if (store.liveCount(who.subject()) >= maxPerOwner) {
            throw new GatewayException(409, "conflict", "you hold " + maxPerOwner + " live keys, the most allowed: "
                    + "revoke one first", Outcomes.DENIED);
        }
        KeyStore.Created created = store.create(new KeyStore.Draft(req.name(), who.subject(), who.username(),
                who.principalType(), who.clientId(), req.upstreams(), req.models(), req.budget(),
                clock.instant().plus(req.expiresIn())), actor(who));
        ObjectNode body = KeyJson.view(created.key(), clock.instant());
        body.put("key", created.secret());
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 201);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        ResponseHeaders.of(exchange).set("Location", "/keys/" + created.key().id());
        exchange.getMessage().setBody(body.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Whether some ALLOW or REVIEW rule could match this caller on this upstream. */
    private boolean mayCall(Identity who, String upstream) {
        for (PolicyRule r : policy.rules()) {
            if (r.verdict() != Verdict.DENY && Matching.who(who, r.roles(), r.groups(), r.clients())
                    && (r.upstreams().isEmpty() || r.upstreams().contains(upstream))
                    && (r.subjects().isEmpty() || r.subjects().contains(who.subject())
                    || (who.username() != null && r.subjects().contains(who.username())))) {
                return true;
            }
        }
        return false;
    }

    static String actor(Identity who) {
        return who.username() != null ? who.username() : who.subject();
    }
}
