package attest.identity;

import attest.http.GatewayException;
import attest.http.Outcomes;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The realm's signing keys, fetched from its JWKS endpoint and cached for {@code cacheTtl}. An unknown
 * {@code kid} triggers a refresh, at most once per cooldown, so a key rotation in Keycloak is picked up without
 * a restart and a flood of made-up kids cannot hammer Keycloak. The JWKS URL is configuration, never taken
 * from a token.
 * <p>
 * A key removed from the realm stops working at the next refresh. While Keycloak cannot be reached, the last
 * keys fetched are kept, but only for {@code maxStale} after that fetch: past it, every token is refused with
 * 503 ({@code keys_unavailable}) rather than checked against keys that may have been withdrawn long ago.
 */
public final class RealmKeys implements JWKSource<SecurityContext> {
    /** Where the keys come from: the JWKS endpoint, or a test's in-memory set. */
    @FunctionalInterface
    public interface Fetcher {
        JWKSet fetch() throws IOException, ParseException;
    }

    /** The keys are older than allowed and cannot be refreshed: 503, the caller may retry. */
    public static final class KeysUnavailableException extends GatewayException {
        public KeysUnavailableException() {
            super(503, "keys_unavailable", "the identity provider's signing keys could not be refreshed; "
                    + "try again later", Outcomes.UNAUTHENTICATED);
        }
    }

    private final Fetcher fetcher;
    private final Duration cacheTtl;
    private final Duration refreshCooldown;
    private final Duration maxStale;
    private final Clock clock;
    private volatile JWKSet keys;
    private volatile Set<String> kids = Set.of();
    private volatile Instant fetchedAt;
    private volatile Instant lastAttempt;

    public RealmKeys(Fetcher fetcher, Duration cacheTtl, Duration refreshCooldown, Duration maxStale, Clock clock) {
        this.fetcher = fetcher;
        this.cacheTtl = cacheTtl;
        this.refreshCooldown = refreshCooldown;
        this.maxStale = maxStale;
        this.clock = clock;
    }

    /** Keys from a JWKS URL, kept at most an hour while the endpoint cannot be reached. */
    public static RealmKeys fromJwksUri(String jwksUri, Duration cacheTtl, Duration refreshCooldown,
                                        Duration timeout) {
        return fromJwksUri(jwksUri, cacheTtl, refreshCooldown, timeout, Duration.ofHours(1), Clock.systemUTC());
    }

    public static RealmKeys fromJwksUri(String jwksUri, Duration cacheTtl, Duration refreshCooldown, Duration timeout,
                                        Duration maxStale, Clock clock) {
        URL url;
        try {
            url = URI.create(jwksUri).toURL();
        } catch (MalformedURLException | IllegalArgumentException e) {
            throw new IllegalStateException("bad JWKS URL " + jwksUri, e);
        }
        var retriever = new DefaultResourceRetriever((int) timeout.toMillis(), (int) timeout.toMillis(), 512 * 1024);
        return new RealmKeys(() -> JWKSet.parse(retriever.retrieveResource(url).getContent()), cacheTtl,
                refreshCooldown, maxStale, clock);
    }

    @Override
    public List<JWK> get(JWKSelector selector, SecurityContext context) {
        Instant now = clock.instant();
        if (keys == null || !now.isBefore(fetchedAt.plus(cacheTtl))) {
            refresh(now);
        }
        List<JWK> found = keys == null ? List.of() : selector.select(keys);
        if (found.isEmpty() && mayRefresh(now)) {
            // an unknown kid: perhaps a rotation
            refresh(now);
            found = keys == null ? List.of() : selector.select(keys);
        }
        checkFresh(now);
        return found;
    }

    /**
     * Whether a key id is in the realm's current keys, refreshing them when their cache time is over. Used by
     * the verified-token cache, so that a token signed by a removed key stops working at the next refresh.
     */
    public boolean current(String kid) {
        Instant now = clock.instant();
        if (keys == null || !now.isBefore(fetchedAt.plus(cacheTtl))) {
            refresh(now);
        }
        checkFresh(now);
        return kids.contains(kid);
    }

    private void checkFresh(Instant now) {
        if (keys == null || now.isAfter(fetchedAt.plus(maxStale))) {
            throw new KeysUnavailableException();
        }
    }

    private boolean mayRefresh(Instant now) {
        Instant last = lastAttempt;
        return last == null || !now.isBefore(last.plus(refreshCooldown));
    }

    private synchronized void refresh(Instant now) {
        if (keys != null && now.isBefore(fetchedAt.plus(cacheTtl)) && !mayRefresh(now)) {
            return; // another thread refreshed meanwhile
        }
        if (!mayRefresh(now)) {
            return;
        }
        lastAttempt = now;
        try {
            JWKSet fresh = fetcher.fetch();
            Set<String> ids = new HashSet<>();
            for (JWK k : fresh.getKeys()) {
                if (k.getKeyID() != null) {
                    ids.add(k.getKeyID());
                }
            }
            keys = fresh;
            kids = Set.copyOf(ids);
            fetchedAt = now;
        } catch (IOException | ParseException | RuntimeException e) {
            // keep the last keys, within maxStale
        }
    }
}
