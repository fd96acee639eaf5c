package attest.keys;

import attest.Settings;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import attest.policy.PolicyEngine;
import attest.policy.PolicyRule;
import attest.policy.Verdict;
import attest.rules.Matching;
import attest.usage.LimitsFile;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * The rules of key creation, the same for {@code POST /keys} and {@code attest keys create}: the owner holds a
 * key-creating role; every upstream named is configured (400) and some policy rule lets the owner call it (403: a
 * key never has more scope than its owner); the key's limits are within the owner's own (403); the owner holds
 * fewer than {@code maxPerOwner} live keys (409). The lifetime bounds are read with the request
 * ({@link KeyJson#read}). Creation is evidence ({@link KeyStore#create}: chain entry {@code key.created}).
 */
public final class KeyIssuer {
    private final KeyStore store;
    private final PolicyEngine policy;
    private final LimitsFile limits;
    private final Set<String> upstreams;
    private final List<String> creatorRoles;
    private final Duration defaultLifetime;
    private final Duration maxLifetime;
    private final int maxPerOwner;
    private final Clock clock;

    public KeyIssuer(KeyStore store, PolicyEngine policy, LimitsFile limits, Set<String> upstreams,
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

    /** The issuer the settings describe ({@code attest.keys.*}, {@code attest.usage.limits-file}). */
    public static KeyIssuer fromSettings(Settings s, KeyStore store, PolicyEngine policy, Set<String> upstreams,
                                         Clock clock) {
        return new KeyIssuer(store, policy,
                LimitsFile.load(Path.of(s.string("attest.usage.limits-file", "usage/limits.yaml"))), upstreams,
                s.list("attest.keys.creator-roles").isEmpty() ? List.of("inference-user")
                        : s.list("attest.keys.creator-roles"),
                Duration.parse(s.string("attest.keys.default-lifetime", "P30D")),
                Duration.parse(s.string("attest.keys.max-lifetime", "P365D")),
                s.integer("attest.keys.max-per-owner", 20), clock);
    }

    public Duration defaultLifetime() {
        return defaultLifetime;
    }

    public Duration maxLifetime() {
        return maxLifetime;
    }

    /** 403 unless the owner holds a key-creating role. */
    public void checkOwner(Identity owner) {
        if (owner == null || creatorRoles.stream().noneMatch(owner::hasRole)) {
            throw new GatewayException(403, "forbidden", "keys are for the roles " + creatorRoles, Outcome.DENIED);
        }
    }

    /** Creates the key if the rules allow it; the secret is in the answer, this once. */
    public KeyStore.Created issue(Identity owner, KeyJson.Request req, String actor) {
        checkOwner(owner);
        for (String u : req.upstreams()) {
            if (!upstreams.contains(u)) {
                throw GatewayException.badRequest("no upstream named " + u);
            }
        }
        for (String u : req.upstreams()) {
            if (!mayCall(owner, u)) {
                throw new GatewayException(403, "forbidden", "your policy allows no call to upstream " + u
                        + ": a key cannot have more scope than its owner", Outcome.DENIED);
            }
        }
        for (LimitsFile.Entry e : limits.entries()) {
            boolean mine = e.users().contains("*") || e.users().contains(owner.subject())
                    || (owner.username() != null && e.users().contains(owner.username()));
            if (mine && !req.budget().within(e.budget())) {
                throw new GatewayException(403, "forbidden", "the key's limits exceed your own (" + e.id() + ")",
                        Outcome.DENIED);
            }
        }
        if (store.liveCount(owner.subject()) >= maxPerOwner) {
            throw new GatewayException(409, "conflict", "you hold " + maxPerOwner + " live keys, the most allowed: "
                    + "revoke one first", Outcome.DENIED);
        }
        return store.create(new KeyStore.Draft(req.name(), owner.subject(), owner.username(), owner.principalType(),
                owner.clientId(), req.upstreams(), req.models(), req.budget(), clock.instant().plus(req.expiresIn())),
                actor);
    }

    /** Whether some ALLOW or REVIEW rule could match this owner on this upstream. */
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
}
