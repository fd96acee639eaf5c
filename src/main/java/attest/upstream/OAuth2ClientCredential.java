package attest.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;

/**
 * A short-lived access token for the gateway's own client, from the client-credentials grant.
 * Cached until {@code refreshBefore} ahead of its expiry, then fetched again; concurrent callers
 * share one fetch. A failure to get a token fails the call (502), it never forwards without one.
 */
public final class OAuth2ClientCredential implements UpstreamCredential {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final URI tokenUri;
    private final String clientId;
    private final String clientSecret;
    private final String scope;
    private final Duration refreshBefore;
    private final Clock clock;
    private final HttpClient http;
    private final java.util.concurrent.Executor fetchExecutor;
    /** The token and when it expires, published together. */
    private volatile Held held;
    private volatile int fetches;
    /** The fetch that is running, or null (guarded by this). */
    private java.util.concurrent.CompletableFuture<Held> inFlight;
    /** When the last fetch failed: no new one is started for {@link #RETRY_AFTER_FAILURE} (guarded by this). */
    private Instant failedAt;
    static final Duration RETRY_AFTER_FAILURE = Duration.ofSeconds(1);
    /** How long a caller without a usable token waits for a fetch at most (connect and request timeouts). */
    static final Duration FETCH_WAIT = Duration.ofSeconds(16);

    private record Held(String token, Instant expiresAt) {
    }

    public OAuth2ClientCredential(URI tokenUri, String clientId, String clientSecret, String scope,
                                  Duration refreshBefore, Clock clock) {
        this(tokenUri, clientId, clientSecret, scope, refreshBefore, clock, fetchThread());
    }

    /** @param fetchExecutor where fetches run, one at a time; never a Netty event loop */
    public OAuth2ClientCredential(URI tokenUri, String clientId, String clientSecret, String scope,
                                  Duration refreshBefore, Clock clock, java.util.concurrent.Executor fetchExecutor) {
        this.tokenUri = tokenUri;
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        this.scope = scope;
        this.refreshBefore = refreshBefore;
        this.clock = clock;
        this.fetchExecutor = fetchExecutor;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static java.util.concurrent.Executor fetchThread() {
        var pool = new java.util.concurrent.ThreadPoolExecutor(1, 1, 60, java.util.concurrent.TimeUnit.SECONDS,
                new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "attest-upstream-token");
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    @Override
    public Optional<String> headerName() {
        return Optional.of("Authorization");
    }

    /**
     * The current token while it is usable (until half of {@code refreshBefore} before it expires); from {@code
     * refreshBefore} before expiry a new one is fetched in the background, one fetch at a time, and the current one
     * is served meanwhile. Only a caller with no usable token waits for a fetch ({@link #blocks()} says so first, so
     * that the step runs off the event loop).
     */
    @Override
    public String headerValue() {
        Instant now = clock.instant();
        Held h = held;
        if (usable(h, now)) {
            if (!now.isBefore(h.expiresAt().minus(refreshBefore))) {
                fetch(now); // in the background; the current token is still good
            }
            return "Bearer " + h.token();
        }
        var running = fetch(now);
        if (running == null) {
            throw new UpstreamCredentialException("token endpoint failed moments ago");
        }
        try {
            return "Bearer " + running.get(FETCH_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS).token();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof UpstreamCredentialException u ? u
                    : new UpstreamCredentialException("token endpoint unreachable");
        } catch (java.util.concurrent.TimeoutException e) {
            throw new UpstreamCredentialException("token endpoint did not answer in time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UpstreamCredentialException("interrupted while fetching token");
        }
    }

    /** Whether the next {@link #headerValue()} waits for a fetch: there is no usable token. */
    @Override
    public boolean blocks() {
        return !usable(held, clock.instant());
    }

    private boolean usable(Held h, Instant now) {
        return h != null && now.isBefore(h.expiresAt().minus(refreshBefore.dividedBy(2)));
    }

    /** Starts a fetch unless one runs (then that one) or the last one failed moments ago (then null). */
    private synchronized java.util.concurrent.CompletableFuture<Held> fetch(Instant now) {
        if (inFlight != null) {
            return inFlight;
        }
        if (failedAt != null && now.isBefore(failedAt.plus(RETRY_AFTER_FAILURE))) {
            return null;
        }
        var started = new java.util.concurrent.CompletableFuture<Held>();
        inFlight = started;
        Runnable task = () -> {
            try {
                Held fresh = fetchNow();
                held = fresh;
                landed(started, null);
                started.complete(fresh);
            } catch (RuntimeException e) {
                landed(started, clock.instant());
                started.completeExceptionally(e);
            }
        };
        try {
            fetchExecutor.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            landed(started, clock.instant());
            started.completeExceptionally(new UpstreamCredentialException("token fetch refused"));
        }
        return started;
    }

    private synchronized void landed(java.util.concurrent.CompletableFuture<Held> started, Instant failed) {
        if (inFlight == started) {
            inFlight = null;
        }
        failedAt = failed;
    }

    /** How many times a token was fetched (for tests and metrics). */
    public int fetches() {
        return fetches;
    }

    private Held fetchNow() {
        String form = "grant_type=client_credentials" + (scope == null || scope.isBlank() ? ""
                : "&scope=" + URLEncoder.encode(scope, StandardCharsets.UTF_8));
        String basic = Base64.getEncoder().encodeToString((URLEncoder.encode(clientId, StandardCharsets.UTF_8) + ":"
                + URLEncoder.encode(clientSecret, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(tokenUri).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Authorization", "Basic " + basic)
                .POST(HttpRequest.BodyPublishers.ofString(form)).build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new UpstreamCredentialException("token endpoint answered " + response.statusCode());
            }
            JsonNode json = JSON.readTree(response.body());
            String accessToken = json.path("access_token").asText(null);
            long expiresIn = json.path("expires_in").asLong(60);
            if (accessToken == null) {
                throw new UpstreamCredentialException("token endpoint returned no access_token");
            }
            fetches++;
            return new Held(accessToken, clock.instant().plusSeconds(expiresIn));
        } catch (IOException e) {
            throw new UpstreamCredentialException("token endpoint unreachable");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UpstreamCredentialException("interrupted while fetching token");
        }
    }

    @Override
    public String describe() {
        return "OAuth2 client credentials for client " + clientId + " from " + tokenUri;
    }

    /** The token could not be obtained; the call fails closed. */
    public static final class UpstreamCredentialException extends RuntimeException {
        public UpstreamCredentialException(String message) {
            super(message, null, false, false);
        }
    }
}
