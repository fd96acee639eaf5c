package attest.upstream;

import attest.http.GatewayException;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * Calls an upstream with the JDK HTTP client. A {@code text/event-stream} answer is relayed live through
 * a {@link StreamRelay}; anything else is buffered. The URI is always the configured upstream's, and no
 * redirect is followed, so a call can never be steered to another host.
 */
public final class UpstreamClient {
    private static final Set<String> PASS_BACK = Set.of("content-type", "cache-control", "content-language",
            "retry-after", "openai-model", "openai-processing-ms", "openai-version");
    private static final Pattern PASS_BACK_PREFIX = Pattern.compile("(?i)^x-ratelimit-[a-z0-9-]+$");

    /** Default bound of a decoded (gzip, deflate, zstd) answer. */
    public static final long DEFAULT_MAX_DECODED_BYTES = 32L * 1024 * 1024;

    /** Response deadlines of calls in flight; a deadline is removed as soon as its call completes. */
    private static final ScheduledThreadPoolExecutor TIMERS = timers();

    private final Clock clock;
    private final int captureLimit;
    private final long maxDecodedBytes;
    private final Map<String, HttpClient> clients = new ConcurrentHashMap<>();

    public UpstreamClient(Clock clock, int captureLimit) {
        this(clock, captureLimit, DEFAULT_MAX_DECODED_BYTES);
    }

    /** @param maxDecodedBytes an encoded answer that decodes to more is refused (502): no decompression bomb */
    public UpstreamClient(Clock clock, int captureLimit, long maxDecodedBytes) {
        this.clock = clock;
        this.captureLimit = captureLimit;
        this.maxDecodedBytes = maxDecodedBytes;
    }

    public UpstreamResponse call(UpstreamTarget target, String method, ForwardHeaders headers, byte[] body) {
        return call(target, method, headers, body, false);
    }

    /**
     * @param buffered read an event stream whole instead of relaying it live (a held call executed after
     *                 approval has no caller connection to stream to; its answer is stored)
     */
    public UpstreamResponse call(UpstreamTarget target, String method, ForwardHeaders headers, byte[] body,
                                 boolean buffered) {
        CompletableFuture<UpstreamResponse> answer = callAsync(target, method, headers, body, buffered);
        try {
            return answer.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof GatewayException g ? g : GatewayException.upstreamError("the upstream call failed");
        } catch (InterruptedException e) {
            answer.cancel(true);
            Thread.currentThread().interrupt();
            throw GatewayException.upstreamError("the upstream call was interrupted");
        }
    }

    /**
     * Starts the call and returns at once: no thread waits for the upstream. The future completes with the
     * answer (for an event stream: when its head arrives, with the live relay) or fails with a
     * {@link GatewayException} (502, or 504 past the upstream's response timeout, which bounds the whole
     * buffered answer). Cancelling the future aborts the upstream exchange (its connection is closed).
     *
     * @param buffered read an event stream whole instead of relaying it live (a held call executed after
     *                 approval has no caller connection to stream to; its answer is stored)
     */
    public CompletableFuture<UpstreamResponse> callAsync(UpstreamTarget target, String method, ForwardHeaders headers,
                                                         byte[] body, boolean buffered) {
        Upstream upstream = target.upstream();
        HttpRequest.Builder b = HttpRequest.newBuilder(target.uri()).timeout(upstream.responseTimeout())
                .method(method, body == null || body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        for (Map.Entry<String, String> h : headers.entries()) {
            if (!h.getKey().equalsIgnoreCase("accept-encoding")) {
                b.header(h.getKey(), h.getValue());
            }
        }
        // the answer must be readable to be masked: ask for it unencoded (an upstream that encodes anyway is
        // decoded below)
        b.header("Accept-Encoding", "identity");
        HttpClient client = clients.computeIfAbsent(upstream.name(), n -> HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1).followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(upstream.connectTimeout()).build());
        HttpResponse.BodyHandler<Object> handler = info -> {
            if (!buffered && isEventStream(info.headers())) {
                StreamRelay relay = new StreamRelay(clock, captureLimit);
                try {
                    relay.decoder(ContentCodings.streaming(info.headers().firstValue("content-encoding")
                            .orElse(null), maxDecodedBytes));
                } catch (ContentCodings.Refused e) {
                    relay.abort(attest.http.Outcomes.UPSTREAM_ERROR);
                }
                return HttpResponse.BodySubscribers.mapping(relay, r -> (Object) r);
            }
            return HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofByteArray(), a -> (Object) a);
        };
        CompletableFuture<HttpResponse<Object>> exchange = client.sendAsync(b.build(), handler);
        CompletableFuture<UpstreamResponse> answer = new CompletableFuture<>() {
            @Override
            public boolean cancel(boolean mayInterruptIfRunning) {
                boolean cancelled = super.cancel(mayInterruptIfRunning); // first: the outcome is the cancellation
                exchange.cancel(true); // aborts the upstream exchange and closes its connection
                return cancelled;
            }
        };
        // the response timeout bounds the whole buffered answer (a stream's head); past it the exchange is aborted
        ScheduledFuture<?> deadline = TIMERS.schedule(() -> {
            if (answer.completeExceptionally(GatewayException.upstreamTimeout("the upstream did not answer in time"))) {
                exchange.cancel(true);
            }
        }, upstream.responseTimeout().toMillis(), TimeUnit.MILLISECONDS);
        exchange.whenComplete((response, err) -> {
            deadline.cancel(false);
            if (err != null) {
                answer.completeExceptionally(failure(unwrap(err)));
                return;
            }
            try {
                if (!answer.complete(answer(response)) && response.body() instanceof StreamRelay relay) {
                    relay.abort(attest.http.Outcomes.TIMEOUT); // timed out or cancelled meanwhile: nobody reads it
                }
            } catch (GatewayException e) {
                answer.completeExceptionally(e);
            } catch (RuntimeException e) {
                answer.completeExceptionally(GatewayException.upstreamError("the upstream call failed"));
            }
        });
        return answer;
    }

    private UpstreamResponse answer(HttpResponse<Object> response) {
        Instant headersAt = clock.instant();
        List<Map.Entry<String, String>> back = passBack(response.headers());
        String coding = response.headers().firstValue("content-encoding").orElse(null);
        if (response.body() instanceof StreamRelay relay) {
            if (ContentCodings.encoded(coding)) {
                try {
                    ContentCodings.streaming(coding, maxDecodedBytes);
                } catch (ContentCodings.Refused e) {
                    relay.abort(attest.http.Outcomes.UPSTREAM_ERROR);
                    throw GatewayException.upstreamError(e.getMessage());
                }
            }
            return new UpstreamResponse(response.statusCode(), back, null, relay, null);
        }
        byte[] answer = (byte[]) response.body();
        if (ContentCodings.encoded(coding)) {
            try {
                answer = ContentCodings.decode(answer, coding, maxDecodedBytes);
            } catch (ContentCodings.Refused e) {
                throw GatewayException.upstreamError(e.getMessage());
            }
        }
        return new UpstreamResponse(response.statusCode(), back, answer, null, headersAt);
    }

    private static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    /** The caller-facing error for a failed exchange: never the exception's own text. */
    private static GatewayException failure(Throwable cause) {
        if (cause instanceof GatewayException g) {
            return g;
        }
        if (cause instanceof TimeoutException) {
            return GatewayException.upstreamTimeout("the upstream did not answer in time");
        }
        if (cause instanceof HttpConnectTimeoutException) {
            return GatewayException.upstreamTimeout("the upstream could not be reached in time");
        }
        if (cause instanceof HttpTimeoutException) {
            return GatewayException.upstreamTimeout("the upstream did not answer in time");
        }
        if (cause instanceof ConnectException || cause instanceof IOException) {
            return GatewayException.upstreamError("the upstream could not be reached");
        }
        return GatewayException.upstreamError("the upstream call failed");
    }

    private static ScheduledThreadPoolExecutor timers() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "attest-upstream-deadlines");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        return t;
    }

    private static boolean isEventStream(HttpHeaders headers) {
        return headers.firstValue("content-type").map(v -> v.toLowerCase(Locale.ROOT).startsWith("text/event-stream"))
                .orElse(false);
    }

    private static List<Map.Entry<String, String>> passBack(HttpHeaders headers) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        headers.map().forEach((name, values) -> {
            String lower = name.toLowerCase(Locale.ROOT);
            if (PASS_BACK.contains(lower) || PASS_BACK_PREFIX.matcher(lower).matches()) {
                for (String v : values) {
                    out.add(Map.entry(name, v));
                }
            }
        });
        return out;
    }
}
