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
import java.util.concurrent.atomic.AtomicReference;

/**
 * The JDK HTTP client transport ({@code attest.upstream.client=jdk}): one {@link HttpClient} per upstream,
 * HTTP/1.1, no redirects, the JDK's default TLS context (hostname verification on). {@code max-connections} and
 * {@code max-waiting} are kept as the Netty client keeps them, with one approximation: the JDK client's pool is not
 * ours, so what is counted is calls in flight (sent and not yet answered in full, a stream until it ends), each of
 * which holds one connection ({@link InFlightCap}). Past the cap a call waits in a FIFO queue with no thread held;
 * one still waiting at its deadline ends 504, one that finds the queue full 503 {@code upstream_busy} at once; neither
 * is sent. Idle keep-alive connections are the JDK's to keep or close, and are not counted.
 */
final class JdkTransport implements UpstreamClient.Transport {
    /** Response deadlines of calls in flight; a deadline is removed as soon as its call completes. */
    private static final ScheduledThreadPoolExecutor TIMERS = timers();

    private final UpstreamClient owner;
    private final SSLContext tls;
    private final Map<String, HttpClient> clients = new ConcurrentHashMap<>();
    /** Each upstream's cap of calls in flight and its queue ({@code max-connections}, {@code max-waiting}). */
    private final Map<String, InFlightCap> caps = new ConcurrentHashMap<>();

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
        HttpRequest request = b.build();
        CompletableFuture<Runnable> turn = caps.computeIfAbsent(upstream.name(),
                n -> new InFlightCap(upstream.maxConnections(), upstream.maxWaiting())).enter();
        AtomicReference<CompletableFuture<HttpResponse<Object>>> sent = new AtomicReference<>();
        CompletableFuture<UpstreamResponse> answer = new CompletableFuture<>() {
            @Override
            public boolean cancel(boolean mayInterruptIfRunning) {
                boolean cancelled = super.cancel(mayInterruptIfRunning); // first: the outcome is the cancellation
                stop(turn, sent); // leaves the queue, or aborts the upstream exchange and closes its connection
                return cancelled;
            }
        };
        if (turn.isCompletedExceptionally()) { // the queue is full: refused at once, nothing sent
            answer.completeExceptionally(turn.handle((place, busy) -> busy).join());
            return answer;
        }
        // the response timeout bounds the wait for a place and the whole buffered answer (a stream's head); past it
        // the call leaves the queue, or its exchange is aborted
        java.util.concurrent.atomic.AtomicBoolean late = new java.util.concurrent.atomic.AtomicBoolean();
        ScheduledFuture<?> deadline = TIMERS.schedule(() -> {
            turn.cancel(false); // first: a waiting call's place in the queue is free before its caller hears of it
            if (answer.isDone()) {
                return;
            }
            // a sent call's exchange is aborted (its place given back, the answer a 504: late) before its caller hears
            // of it, so a caller that retries at once finds the place free
            late.set(true);
            stop(turn, sent);
            answer.completeExceptionally(GatewayException.upstreamTimeout("the upstream did not answer in time"));
        }, upstream.responseTimeout().toMillis(), TimeUnit.MILLISECONDS);
        turn.whenComplete((place, refused) -> {
            if (refused instanceof java.util.concurrent.CancellationException) {
                return; // it left the queue: whoever made it leave answers the call
            } else if (refused != null) { // the client closed while it waited
                deadline.cancel(false);
                answer.completeExceptionally(refused);
            } else if (answer.isDone()) {
                place.run(); // ended while its place came: never sent
            } else {
                send(client, request, handler, answer, deadline, place, sent, late);
            }
        });
        return answer;
    }

    /** Sends the call that has its place; the place is given back once the exchange (or its stream) is over. */
    private void send(HttpClient client, HttpRequest request, HttpResponse.BodyHandler<Object> handler,
                      CompletableFuture<UpstreamResponse> answer, ScheduledFuture<?> deadline, Runnable place,
                      AtomicReference<CompletableFuture<HttpResponse<Object>>> sent,
                      java.util.concurrent.atomic.AtomicBoolean late) {
        CompletableFuture<HttpResponse<Object>> exchange = client.sendAsync(request, handler);
        sent.set(exchange);
        if (answer.isDone()) { // timed out or cancelled as it was sent
            exchange.cancel(true);
        }
        exchange.whenComplete((response, err) -> {
            deadline.cancel(false);
            if (err != null) {
                place.run();
                answer.completeExceptionally(late.get()
                        ? GatewayException.upstreamTimeout("the upstream did not answer in time")
                        : UpstreamClient.failure(UpstreamClient.unwrap(err)));
                return;
            }
            if (response.body() instanceof StreamRelay relay) { // its connection is busy until the stream ends
                relay.ended().whenComplete((end, e) -> place.run());
            } else {
                place.run();
            }
            try {
                if (!answer.complete(owner.answer(response.statusCode(), response.headers(), response.body()))
                        && response.body() instanceof StreamRelay relay) {
                    relay.abort(attest.evidence.Outcome.TIMEOUT); // timed out or cancelled meanwhile: nobody reads it
                }
            } catch (GatewayException e) {
                answer.completeExceptionally(e);
            } catch (RuntimeException e) {
                answer.completeExceptionally(GatewayException.upstreamError("the upstream call failed"));
            }
        });
    }

    /** Ends a call early: out of the queue if it waits, else its exchange aborted (which closes its connection). */
    private static void stop(CompletableFuture<Runnable> turn,
                             AtomicReference<CompletableFuture<HttpResponse<Object>>> sent) {
        turn.cancel(false);
        CompletableFuture<HttpResponse<Object>> exchange = sent.get();
        if (exchange != null) {
            exchange.cancel(true);
        }
    }

    @Override
    public void close() {
        clients.clear(); // the JDK clients stop their threads once unreferenced
        for (InFlightCap cap : caps.values()) { // calls waiting for a place end now
            cap.close(GatewayException.upstreamError("the upstream client is closed"));
        }
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
