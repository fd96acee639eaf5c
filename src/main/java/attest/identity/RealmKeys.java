package attest.identity;

import attest.http.GatewayException;
import attest.evidence.Outcome;
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
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The realm's signing keys, fetched from its JWKS endpoint and cached for {@code cacheTtl}. An unknown
 * {@code kid} triggers a refresh, at most once per cooldown, so a key rotation in Keycloak is picked up without
 * a restart and a flood of made-up kids cannot hammer Keycloak. The JWKS URL is configuration, never taken
 * from a token.
 * <p>
 * <b>No caller waits for a fetch.</b> A fetch runs on {@code fetchExecutor} (one thread of its own), one at a
 * time (single flight), at most once per cooldown. While it runs, {@link #get} and {@link #current} answer from
 * the keys they have, so a slow or unreachable Keycloak never holds up a call on a Netty event loop, nor any other
 * thread. Only {@link #prime()}, at start-up before serving, fetches on the caller's thread.
 * <p>
 * A token whose {@code kid} is not among the keys while a fetch is running (perhaps a rotation: the fetch was
 * started by this token or another) is refused with {@link KeysRefreshingException} (503 {@code keys_refreshing},
 * {@code Retry-After: 1}), which carries a stage that completes when the fetch lands (or after the fetch timeout),
 * so a caller that can wait without blocking (the data plane's early token check) checks it again then. With no
 * fetch running and within the cooldown, an unknown kid is refused at once (401).
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
                    + "try again later", Outcome.UNAUTHENTICATED);
        }
    }

    /**
     * The token's key is not among the realm's keys yet, and a fetch that may bring it (a key rotation) is running:
     * 503 with {@code Retry-After: 1}. {@link #landed()} completes when that fetch is over (or after the fetch
     * timeout), never exceptionally; whoever can wait without blocking a thread checks the token again then.
     */
    public static final class KeysRefreshingException extends GatewayException {
        private final transient CompletionStage<Void> landed;

        KeysRefreshingException(CompletionStage<Void> landed) {
            super(503, "keys_refreshing", "the identity provider's signing keys are being refreshed; retry shortly",
                    Outcome.UNAUTHENTICATED, Map.of("Retry-After", "1"));
            this.landed = landed;
        }

        public CompletionStage<Void> landed() {
            return landed;
        }
    }

    private record Snapshot(JWKSet keys, Set<String> kids, Instant fetchedAt) {
    }

    private final Fetcher fetcher;
    private final Duration cacheTtl;
    private final Duration refreshCooldown;
    private final Duration maxStale;
    private final Duration waitBound;
    private final Clock clock;
    private final Executor fetchExecutor;
    private volatile Snapshot snapshot;
    /** When the last fetch started (guarded by this; read without it). */
    private volatile Instant lastAttempt;
    /** The fetch that is running, or null (guarded by this; read without it). */
    private volatile CompletableFuture<Void> inFlight;

    /** Fetches on the calling thread: for tests with an in-memory set. */
    public RealmKeys(Fetcher fetcher, Duration cacheTtl, Duration refreshCooldown, Duration maxStale, Clock clock) {
        this(fetcher, cacheTtl, refreshCooldown, maxStale, clock, Runnable::run, Duration.ofSeconds(3));
    }

    /**
     * @param fetchExecutor where fetches run (one at a time); never a Netty event loop
     * @param waitBound     how long a token with an unknown kid is waited for at most ({@link
     *                      KeysRefreshingException#landed()}): the fetch's own timeout
     */
    public RealmKeys(Fetcher fetcher, Duration cacheTtl, Duration refreshCooldown, Duration maxStale, Clock clock,
                     Executor fetchExecutor, Duration waitBound) {
        this.fetcher = fetcher;
        this.cacheTtl = cacheTtl;
        this.refreshCooldown = refreshCooldown;
        this.maxStale = maxStale;
        this.clock = clock;
        this.fetchExecutor = fetchExecutor;
        this.waitBound = waitBound;
    }

    /** Keys from a JWKS URL, kept at most an hour while the endpoint cannot be reached. */
    public static RealmKeys fromJwksUri(String jwksUri, Duration cacheTtl, Duration refreshCooldown,
                                        Duration timeout) {
        return fromJwksUri(jwksUri, cacheTtl, refreshCooldown, timeout, Duration.ofHours(1), Clock.systemUTC());
    }

    /** Keys from a JWKS URL, fetched in the background on a thread of their own. */
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
                refreshCooldown, maxStale, clock, fetchThread(), timeout.plus(timeout));
    }

    /** One daemon thread that runs the fetches (single flight: never more than one is queued). */
    static Executor fetchThread() {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = new Thread(r, "attest-jwks-refresh");
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /**
     * Fetches the keys on this thread, once, before the gateway serves (start-up). A failure is not fatal: the
     * first call then starts a fetch in the background and is refused until it lands.
     *
     * @return whether keys were fetched
     */
    public boolean prime() {
        CompletableFuture<Void> started = start(clock.instant(), Runnable::run);
        if (started != null) {
            started.join();
        }
        return snapshot != null;
    }

    @Override
    public List<JWK> get(JWKSelector selector, SecurityContext context) {
        Instant now = clock.instant();
        Snapshot s = snapshot;
        if (s == null || !now.isBefore(s.fetchedAt().plus(cacheTtl))) {
            start(now, fetchExecutor);
            s = snapshot; // a fetch on the calling thread (tests) has landed already
        }
        List<JWK> found = s == null ? List.of() : selector.select(s.keys());
        if (found.isEmpty()) {
            // an unknown kid (or no keys yet): perhaps a rotation; the fetch runs without us
            CompletableFuture<Void> running = start(now, fetchExecutor);
            Snapshot after = snapshot;
            if (after != s) {
                s = after; // fetched on the calling thread
                found = s == null ? List.of() : selector.select(s.keys());
            } else if (running != null) {
                throw new KeysRefreshingException(running.copy().completeOnTimeout(null, waitBound.toMillis(),
                        TimeUnit.MILLISECONDS));
            }
        }
        checkFresh(s, now);
        return found;
    }

    /**
     * Whether a key id is in the realm's current keys, starting a refresh in the background when their cache time
     * is over. Used by the verified-token cache, so that a token signed by a removed key stops working once the
     * next refresh has landed.
     */
    public boolean current(String kid) {
        Instant now = clock.instant();
        Snapshot s = snapshot;
        if (s == null || !now.isBefore(s.fetchedAt().plus(cacheTtl))) {
            start(now, fetchExecutor);
            s = snapshot;
        }
        checkFresh(s, now);
        return s.kids().contains(kid);
    }

    /** Whether a fetch is running now (for tests and metrics). */
    public boolean refreshing() {
        return inFlight != null;
    }

    private void checkFresh(Snapshot s, Instant now) {
        if (s == null || now.isAfter(s.fetchedAt().plus(maxStale))) {
            throw new KeysUnavailableException();
        }
    }

    /**
     * Starts a fetch on {@code executor} unless one is running or the cooldown since the last one is not over.
     * Holds the monitor for a few field updates only, never for the fetch.
     *
     * @return the running fetch (the one just started, or the one already running), or null when none runs
     */
    private CompletableFuture<Void> start(Instant now, Executor executor) {
        CompletableFuture<Void> started;
        synchronized (this) {
            if (inFlight != null) {
                return inFlight;
            }
            Instant last = lastAttempt;
            if (last != null && now.isBefore(last.plus(refreshCooldown))) {
                return null;
            }
            lastAttempt = now;
            started = new CompletableFuture<>();
            inFlight = started;
        }
        try {
            executor.execute(() -> fetch(now, started));
        } catch (RejectedExecutionException e) {
            land(started);
        }
        return started.isDone() ? null : started;
    }

    private void fetch(Instant startedAt, CompletableFuture<Void> started) {
        try {
            JWKSet fresh = fetcher.fetch();
            Set<String> ids = new HashSet<>();
            for (JWK k : fresh.getKeys()) {
                if (k.getKeyID() != null) {
                    ids.add(k.getKeyID());
                }
            }
            snapshot = new Snapshot(fresh, Set.copyOf(ids), startedAt);
        } catch (IOException | ParseException | RuntimeException e) {
            // keep the last keys, within maxStale
        } finally {
            land(started);
        }
    }

    /** The fetch is over: no longer in flight, then its waiters are told (so that they see it over). */
    private void land(CompletableFuture<Void> started) {
        synchronized (this) {
            if (inFlight == started) {
                inFlight = null;
            }
        }
        started.complete(null);
    }
}
