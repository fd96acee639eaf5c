package attest.upstream;

import attest.http.GatewayException;
import attest.ingress.UpstreamTarget;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * Calls an upstream over HTTP/1.1, with Netty on a small event loop group ({@link Kind#NETTY}, the default) or
 * with the JDK HTTP client ({@link Kind#JDK}); setting {@code attest.upstream.client}. A
 * {@code text/event-stream} or NDJSON ({@code application/x-ndjson}, ...) answer is relayed live through a
 * {@link StreamRelay}; anything else is buffered.
 * The URI is always the configured upstream's, and no redirect is followed, so a call can never be steered to
 * another host. Both transports share what is done with an answer: the pass-back header filter, the content
 * codings and their bound, and the caller-facing errors.
 */
public final class UpstreamClient implements AutoCloseable {
    private static final Set<String> PASS_BACK = Set.of("content-type", "cache-control", "content-language",
            "retry-after", "openai-model", "openai-processing-ms", "openai-version");
    private static final Pattern PASS_BACK_PREFIX = Pattern.compile("(?i)^x-ratelimit-[a-z0-9-]+$");

    /** Default bound of a decoded (gzip, deflate, zstd) answer, and of a buffered answer as received. */
    public static final long DEFAULT_MAX_DECODED_BYTES = 32L * 1024 * 1024;

    /** Which HTTP client carries the calls. */
    public enum Kind {
        /** Netty 4 on one small event loop group of the client's own (keep-alive pool per upstream). */
        NETTY,
        /** The JDK's {@code java.net.http.HttpClient}, one per upstream. */
        JDK;

        /** {@code netty} or {@code jdk}; anything else stops the start. */
        public static Kind parse(String value) {
            String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
            return switch (v) {
                case "netty" -> NETTY;
                case "jdk" -> JDK;
                default -> throw new IllegalStateException("attest.upstream.client must be netty or jdk, not '"
                        + value + "'");
            };
        }
    }

    /** One way of carrying a call; completes like {@link #callAsync}. */
    interface Transport extends AutoCloseable {
        /** {@code near}: the caller's event loop, to carry the exchange on when the transport can; or null. */
        CompletableFuture<UpstreamResponse> call(UpstreamTarget target, String method, ForwardHeaders headers,
                                                 byte[] body, boolean buffered, EventLoop near);

        @Override
        void close();
    }

    private final Clock clock;
    private final int captureLimit;
    private final long maxDecodedBytes;
    private final Kind kind;
    private final long idleKeepMs;
    private final Transport transport;

    /**
     * An idle upstream connection is kept this long at most by default: less than the 5 s after which uvicorn (vLLM,
     * FastAPI model servers) and Node.js close theirs, so that a call is never sent on a connection being closed.
     */
    public static final long DEFAULT_IDLE_KEEP_MS = 4_000;

    public UpstreamClient(Clock clock, int captureLimit) {
        this(clock, captureLimit, DEFAULT_MAX_DECODED_BYTES);
    }

    /** @param maxDecodedBytes an encoded answer that decodes to more is refused (502): no decompression bomb */
    public UpstreamClient(Clock clock, int captureLimit, long maxDecodedBytes) {
        this(clock, captureLimit, maxDecodedBytes, Kind.NETTY);
    }

    public UpstreamClient(Clock clock, int captureLimit, long maxDecodedBytes, Kind kind) {
        this(clock, captureLimit, maxDecodedBytes, kind, null);
    }

    /**
     * @param tls the TLS context for https upstreams; null: the JDK's default (its default trust store).
     *            Hostname verification is on either way.
     */
    UpstreamClient(Clock clock, int captureLimit, long maxDecodedBytes, Kind kind, SSLContext tls) {
        this(clock, captureLimit, maxDecodedBytes, kind, tls, DEFAULT_IDLE_KEEP_MS);
    }

    /**
     * @param idleKeepMs how long an idle upstream connection is kept for a next call at most (the Netty transport;
     *                   the JDK's client keeps its own, {@code jdk.httpclient.keepalive.timeout})
     */
    public UpstreamClient(Clock clock, int captureLimit, long maxDecodedBytes, Kind kind, long idleKeepMs) {
        this(clock, captureLimit, maxDecodedBytes, kind, null, idleKeepMs);
    }

    UpstreamClient(Clock clock, int captureLimit, long maxDecodedBytes, Kind kind, SSLContext tls, long idleKeepMs) {
        if (idleKeepMs < 0) {
            throw new IllegalArgumentException("the idle keep of upstream connections must not be negative");
        }
        this.clock = clock;
        this.captureLimit = captureLimit;
        this.maxDecodedBytes = maxDecodedBytes;
        this.kind = kind;
        this.idleKeepMs = idleKeepMs;
        this.transport = kind == Kind.JDK ? new JdkTransport(this, tls) : new NettyTransport(this, tls);
    }

    public Kind kind() {
        return kind;
    }

    /** How long an idle connection is kept for a next call at most. */
    long idleKeepMs() {
        return idleKeepMs;
    }

    public UpstreamResponse call(UpstreamTarget target, String method, ForwardHeaders headers, byte[] body) {
        return call(target, method, headers, body, false);
    }

    /**
     * @param buffered read a stream (event stream or NDJSON) whole instead of relaying it live (a held call executed after
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
     * answer (for a stream, event stream or NDJSON: when its head arrives, with the live relay) or fails with a
     * {@link GatewayException} (502, or 504 past the upstream's response timeout, which bounds the whole
     * buffered answer). Cancelling the future aborts the upstream exchange (its connection is closed).
     *
     * @param buffered read a stream (event stream or NDJSON) whole instead of relaying it live (a held call executed after
     *                 approval has no caller connection to stream to; its answer is stored)
     */
    public CompletableFuture<UpstreamResponse> callAsync(UpstreamTarget target, String method, ForwardHeaders headers,
                                                         byte[] body, boolean buffered) {
        return callAsync(target, method, headers, body, buffered, null);
    }

    /**
     * {@link #callAsync(UpstreamTarget, String, ForwardHeaders, byte[], boolean)} carried, where the transport can
     * (the Netty one, on a compatible loop), on {@code near}: the event loop of the caller's connection. A new
     * upstream connection is then made on that loop and an idle one on it is preferred, so a stream's events go
     * from the upstream's socket to the caller's with no hand-off between threads. Null: any loop of the client.
     */
    public CompletableFuture<UpstreamResponse> callAsync(UpstreamTarget target, String method, ForwardHeaders headers,
                                                         byte[] body, boolean buffered, EventLoop near) {
        return transport.call(target, method, headers, body, buffered, near);
    }

    @Override
    public void close() {
        transport.close();
    }

    // ---- shared by the transports -------------------------------------------------------------------

    /** Bound of a buffered answer as received (before decoding): the same as the decoded bound. */
    long maxBodyBytes() {
        return maxDecodedBytes;
    }

    /**
     * The codings of every Content-Encoding line, as one list (RFC 9110: several lines of a list header are one list);
     * only the first line's would leave a coding named on a later line undone, and the masker reading compressed bytes.
     */
    static String contentCoding(HttpHeaders headers) {
        List<String> all = headers.allValues("content-encoding");
        return all.isEmpty() ? null : String.join(", ", all);
    }

    /** A live relay for a stream (event stream or NDJSON) with these headers (aborted at once if its coding cannot be decoded). */
    StreamRelay relay(HttpHeaders headers) {
        StreamRelay relay = new StreamRelay(clock, captureLimit);
        try {
            relay.decoder(ContentCodings.streaming(contentCoding(headers),
                    maxDecodedBytes));
        } catch (ContentCodings.Refused e) {
            relay.abort(attest.evidence.Outcome.UPSTREAM_ERROR);
        }
        return relay;
    }

    /** The answer as the gateway passes it on: filtered headers, decoded body; 502 when it cannot be decoded. */
    UpstreamResponse answer(int status, HttpHeaders headers, Object body) {
        Instant headersAt = clock.instant();
        List<Map.Entry<String, String>> back = passBack(headers);
        String coding = contentCoding(headers);
        if (body instanceof StreamRelay relay) {
            if (ContentCodings.encoded(coding)) {
                try {
                    ContentCodings.streaming(coding, maxDecodedBytes);
                } catch (ContentCodings.Refused e) {
                    relay.abort(attest.evidence.Outcome.UPSTREAM_ERROR);
                    throw GatewayException.upstreamError(e.getMessage());
                }
            }
            return new UpstreamResponse(status, back, null, relay, null);
        }
        byte[] answer = (byte[]) body;
        if (ContentCodings.encoded(coding)) {
            try {
                answer = ContentCodings.decode(answer, coding, maxDecodedBytes);
            } catch (ContentCodings.Refused e) {
                throw GatewayException.upstreamError(e.getMessage());
            }
        }
        return new UpstreamResponse(status, back, answer, null, headersAt);
    }

    static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    /** The caller-facing error for a failed exchange: never the exception's own text. */
    static GatewayException failure(Throwable cause) {
        if (cause instanceof GatewayException g) {
            return g;
        }
        if (cause instanceof TimeoutException) {
            return GatewayException.upstreamTimeout("the upstream did not answer in time");
        }
        if (cause instanceof HttpConnectTimeoutException || cause instanceof ConnectTimeoutException) {
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

    /**
     * Whether the answer is relayed live: its own {@code Content-Type} says it is a server-sent event stream or NDJSON
     * ({@link attest.http.MediaTypes#live}). Never the request's {@code stream} flag, which the caller sets: an answer
     * labelled otherwise is buffered and masked whole; one labelled NDJSON that is not is masked line by line all the
     * same (a line that is not JSON is text of the stream), so the label cannot carry text past masking.
     */
    static boolean isLiveStream(HttpHeaders headers) {
        return headers.firstValue("content-type").map(attest.http.MediaTypes::live).orElse(false);
    }

    private static List<Map.Entry<String, String>> passBack(HttpHeaders headers) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        headers.map().forEach((name, values) -> {
            String lower = name.toLowerCase(Locale.ROOT);
            if (PASS_BACK.contains(lower) || PASS_BACK_PREFIX.matcher(lower).matches()) {
                // one Content-Type only, the first: the one the answer is relayed live by and masked by; a later line
                // would be the one the caller is told (the response's headers keep the last), masked as another format
                for (String v : lower.equals("content-type") ? values.subList(0, Math.min(1, values.size())) : values) {
                    out.add(Map.entry(name, v));
                }
            }
        });
        return out;
    }
}
