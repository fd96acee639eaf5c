package attest.approval;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The identity provider's token endpoint, as the approval page's sign-in redeems a code there. Its answer is trusted
 * for nothing but an access token (validated afterwards like any bearer token) and its lifetime: whatever else it
 * says, and however it fails, is one of three {@link Failure}s, never its own text, so that nothing of it (an error
 * description, a token) reaches a response or a log.
 * <ul>
 * <li>{@link Failure.Kind#UNREACHABLE}: no answer (refused connection, unknown host, reset, no complete answer within
 * the deadline): the page's answer is 503.</li>
 * <li>{@link Failure.Kind#REFUSED}: a 400 or 401 (OAuth's {@code invalid_grant}, {@code invalid_client}...): the code
 * is not redeemable, the sign-in failed (401).</li>
 * <li>{@link Failure.Kind#BAD_ANSWER}: any other status (5xx, a redirect), a body past the cap, not JSON, or without
 * an access token: 502.</li>
 * </ul>
 */
public final class TokenEndpoint {
    /** A token response is a few tokens of at most 16 KiB each; anything past this is not one. */
    static final int MAX_BODY = 128 * 1024;

    /** The redeemed access token and its lifetime in seconds (0 when the answer gives none). */
    public record Tokens(String accessToken, long expiresIn) {
        @Override
        public String toString() {
            return "Tokens[accessToken=(withheld), expiresIn=" + expiresIn + "]";
        }
    }

    /** Why no token came back; its message is fixed text, never the endpoint's. */
    public static final class Failure extends Exception {
        public enum Kind { UNREACHABLE, REFUSED, BAD_ANSWER }

        private final Kind kind;

        Failure(Kind kind, String message) {
            super(message, null, false, false);
            this.kind = kind;
        }

        public Kind kind() {
            return kind;
        }
    }

    private final URI uri;
    private final Duration deadline;
    private final HttpClient http;

    /** @param deadline how long the whole exchange (connect, answer and body) may take */
    public TokenEndpoint(String uri, Duration deadline) {
        this.uri = URI.create(uri);
        this.deadline = deadline;
        this.http = HttpClient.newBuilder().connectTimeout(deadline).followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** Posts the form (already encoded) and returns the access token, or throws a {@link Failure}. */
    public Tokens redeem(String form) throws Failure, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(deadline)
                .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build();
        CompletableFuture<HttpResponse<byte[]>> pending;
        try {
            pending = http.sendAsync(request, info -> new Capped(MAX_BODY));
        } catch (IllegalArgumentException e) {
            throw new Failure(Failure.Kind.UNREACHABLE, "the token endpoint cannot be reached");
        }
        HttpResponse<byte[]> r;
        try {
            // the request's own timeout ends with the answer's head; this one ends with its body too
            r = pending.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw new Failure(Failure.Kind.UNREACHABLE, "the token endpoint did not answer in time");
        } catch (InterruptedException e) {
            pending.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
                if (t instanceof Capped.TooLarge) {
                    throw new Failure(Failure.Kind.BAD_ANSWER, "the token endpoint's answer is too large");
                }
            }
            throw new Failure(Failure.Kind.UNREACHABLE, "the token endpoint cannot be reached");
        }
        int status = r.statusCode();
        if (status == 400 || status == 401) {
            throw new Failure(Failure.Kind.REFUSED, "the token endpoint refused the code");
        }
        if (status != 200) {
            throw new Failure(Failure.Kind.BAD_ANSWER, "the token endpoint answered " + status);
        }
        JsonNode tokens;
        try {
            tokens = ApprovalJson.JSON.readTree(r.body());
        } catch (IOException e) {
            throw new Failure(Failure.Kind.BAD_ANSWER, "the token endpoint's answer is not JSON");
        }
        JsonNode access = tokens == null ? null : tokens.get("access_token");
        if (access == null || !access.isTextual() || access.asText().isEmpty()) {
            throw new Failure(Failure.Kind.BAD_ANSWER, "the token endpoint's answer has no access token");
        }
        JsonNode expires = tokens.get("expires_in");
        long expiresIn = expires != null && expires.canConvertToLong() && expires.isIntegralNumber()
                ? Math.max(0, expires.asLong()) : 0;
        return new Tokens(access.asText(), expiresIn);
    }

    /** Collects a body up to a cap; past it the exchange is cancelled and fails with {@link TooLarge}. */
    private static final class Capped implements HttpResponse.BodySubscriber<byte[]> {
        static final class TooLarge extends IOException {
            TooLarge() {
                super("body too large", null);
            }
        }

        private final int max;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final CompletableFuture<byte[]> body = new CompletableFuture<>();
        private Flow.Subscription subscription;

        Capped(int max) {
            this.max = max;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (body.isDone()) {
                return;
            }
            for (ByteBuffer b : items) {
                if (out.size() + b.remaining() > max) {
                    body.completeExceptionally(new TooLarge());
                    subscription.cancel();
                    return;
                }
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                out.writeBytes(chunk);
            }
        }

        @Override
        public void onError(Throwable t) {
            body.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            body.complete(out.toByteArray());
        }
    }
}
