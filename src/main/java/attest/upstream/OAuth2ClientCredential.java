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
    private volatile String token;
    private volatile Instant expiresAt = Instant.EPOCH;
    private volatile int fetches;

    public OAuth2ClientCredential(URI tokenUri, String clientId, String clientSecret, String scope,
                                  Duration refreshBefore, Clock clock) {
        this.tokenUri = tokenUri;
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        this.scope = scope;
        this.refreshBefore = refreshBefore;
        this.clock = clock;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @Override
    public Optional<String> headerName() {
        return Optional.of("Authorization");
    }

    @Override
    public String headerValue() {
        String current = token;
        if (current != null && clock.instant().isBefore(expiresAt.minus(refreshBefore))) {
            return "Bearer " + current;
        }
        synchronized (this) {
            if (token == null || !clock.instant().isBefore(expiresAt.minus(refreshBefore))) {
                fetch();
            }
            return "Bearer " + token;
        }
    }

    /** How many times a token was fetched (for tests and metrics). */
    public int fetches() {
        return fetches;
    }

    private void fetch() {
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
            token = accessToken;
            expiresAt = clock.instant().plusSeconds(expiresIn);
            fetches++;
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
