package attest.upstream;

import attest.http.GatewayException;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;

import javax.net.ssl.SSLContext;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The JDK HTTP client transport ({@code attest.upstream.client=jdk}): one {@link HttpClient} per upstream,
 * HTTP/1.1, no redirects, the JDK's default TLS context (hostname verification on).
 */
final class JdkTransport implements UpstreamClient.Transport {
    /** Response deadlines of calls in flight; a deadline is removed as soon as its call completes. */
    private static final ScheduledThreadPoolExecutor TIMERS = timers();

    private final UpstreamClient owner;
    private final SSLContext tls;
    private final Map<String, HttpClient> clients = new ConcurrentHashMap<>();

    JdkTransport(UpstreamClient owner, SSLContext tls) {
        this.owner = owner;
        this.tls = tls;
    }

    @Override
    public CompletableFuture<UpstreamResponse> call(UpstreamTarget target, String method, ForwardHeaders headers,
                                                    byte[] body, boolean buffered, io.netty.channel.EventLoop near) {
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
        // decoded by the owner)
        b.header("Accept-Encoding", "identity");
        HttpClient client = clients.computeIfAbsent(upstream.name(), n -> {
            HttpClient.Builder cb = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(upstream.connectTimeout());
            if (tls != null) {
                cb.sslContext(tls);
            }
            return cb.build();
        });
        HttpResponse.BodyHandler<Object> handler = info -> {
            if (!buffered && UpstreamClient.isLiveStream(info.headers())) {
                return HttpResponse.BodySubscribers.mapping(owner.relay(info.headers()), r -> (Object) r);
            }
            return HttpResponse.BodySubscribers.mapping(new BoundedBytes(owner.maxBodyBytes()), a -> (Object) a);
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
                answer.completeExceptionally(UpstreamClient.failure(UpstreamClient.unwrap(err)));
                return;
            }
            try {
                if (!answer.complete(owner.answer(response.statusCode(), response.headers(), response.body()))
                        && response.body() instanceof StreamRelay relay) {
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

    @Override
    public void close() {
        clients.clear(); // the JDK clients stop their threads once unreferenced
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

    /** A buffered answer, refused (502) past {@code max} bytes as received: no answer fills memory. */
    static final class BoundedBytes implements HttpResponse.BodySubscriber<byte[]> {
        private final long max;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private Flow.Subscription subscription;
        private long size;

        BoundedBytes(long max) {
            this.max = max;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            this.subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) {
                return;
            }
            for (ByteBuffer b : items) {
                size += b.remaining();
                if (size > max) {
                    subscription.cancel();
                    result.completeExceptionally(GatewayException.upstreamError("the upstream's answer is too large"));
                    return;
                }
                byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                out.write(bytes, 0, bytes.length);
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(out.toByteArray());
        }
    }
}
