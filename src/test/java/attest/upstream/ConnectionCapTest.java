package attest.upstream;

import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import io.netty.channel.EventLoop;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static attest.upstream.UpstreamClientTest.BODY;
import static attest.upstream.UpstreamClientTest.answer;
import static attest.upstream.UpstreamClientTest.failure;
import static attest.upstream.UpstreamClientTest.fixed;
import static attest.upstream.UpstreamClientTest.headers;
import static attest.upstream.UpstreamClientTest.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code attest.upstream.<name>.max-connections} and {@code .max-waiting} with either client: past the cap a call
 * waits its turn (first come, first served) for a connection to come free, with no thread held; one still waiting at
 * its deadline ends 504, one that finds the queue full ends 503 {@code upstream_busy} at once, and neither is ever
 * sent. The upstream holds each answer until the test lets it go (a latch per path), so which call holds a
 * connection when is the test's doing. The JDK client's pool is its own: there the cap counts calls in flight, each
 * of which holds one connection, so that it never has more open than the cap either.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(UpstreamClient.Kind.class)
class ConnectionCapTest {
    @Parameter
    UpstreamClient.Kind kind;

    private final List<AutoCloseable> closing = new ArrayList<>();
    private final Map<String, CountDownLatch> holds = new ConcurrentHashMap<>();

    @AfterEach
    void close() throws Exception {
        holds.values().forEach(CountDownLatch::countDown);
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private UpstreamClient client() {
        UpstreamClient c = new UpstreamClient(Clock.systemUTC(), 1 << 20, UpstreamClient.DEFAULT_MAX_DECODED_BYTES,
                kind, 30_000);
        closing.add(c);
        return c;
    }

    /** Held until {@link #let(String)}: the answer to a path. */
    private CountDownLatch hold(String path) {
        return holds.computeIfAbsent(path, p -> new CountDownLatch(1));
    }

    private void let(String path) {
        hold(path).countDown();
    }

    /** Answers each request once its path is let go ("/close..." paths with Connection: close). */
    private RawUpstream upstream(String... held) throws Exception {
        for (String p : held) {
            hold(p);
        }
        RawUpstream u = new RawUpstream(RawUpstream.each((c, r) -> {
            String path = r.line().split(" ")[1];
            CountDownLatch h = holds.get(path);
            if (h != null) {
                h.await(30, TimeUnit.SECONDS);
            }
            c.write(fixed(200, path.startsWith("/close") ? "Connection: close\r\n" : "", "answer to " + path));
            if (path.startsWith("/close")) {
                c.socket.close();
            }
        }));
        closing.add(u);
        return u;
    }

    private static UpstreamTarget target(RawUpstream u, String path, Duration timeout, int max, int waiting) {
        String base = "http://127.0.0.1:" + u.port();
        Upstream up = new Upstream("capped", "/c", URI.create(base), UpstreamCredential.NONE, Duration.ofSeconds(2),
                timeout, Duration.ofSeconds(5), max, waiting);
        return new UpstreamTarget(up, path, URI.create(base + path));
    }

    private static CompletableFuture<UpstreamResponse> post(UpstreamClient c, UpstreamTarget t) {
        return c.callAsync(t, "POST", headers(), BODY, false);
    }

    @Test
    void should_queue_calls_past_the_cap_and_serve_them_in_order_on_the_freed_connection() throws Exception {
        RawUpstream u = upstream("/first");
        UpstreamClient client = client();
        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/first", Duration.ofSeconds(20), 1, 10));
        List<CompletableFuture<UpstreamResponse>> queued = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            queued.add(post(client, target(u, "/q" + i, Duration.ofSeconds(20), 1, 10)));
        }
        assertThat(queued).noneMatch(CompletableFuture::isDone);
        let("/first");
        assertThat(text(answer(first))).isEqualTo("answer to /first");
        for (int i = 0; i < 5; i++) {
            assertThat(text(answer(queued.get(i)))).isEqualTo("answer to /q" + i);
        }
        assertThat(u.connections()).as("one connection at most").isEqualTo(1);
        assertThat(u.requests).extracting(r -> r.line().split(" ")[1])
                .containsExactly("/first", "/q0", "/q1", "/q2", "/q3", "/q4");
    }

    @Test
    void should_answer_504_to_a_call_still_waiting_at_its_deadline_and_never_send_it() throws Exception {
        RawUpstream u = upstream("/first");
        UpstreamClient client = client();
        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/first", Duration.ofSeconds(20), 1, 1));
        GatewayException late = failure(post(client, target(u, "/late", Duration.ofMillis(200), 1, 1)));
        assertThat(late.status()).isEqualTo(504);
        assertThat(late.code()).isEqualTo("upstream_timeout");
        assertThat(late.outcome()).isEqualTo(Outcome.TIMEOUT);
        // its place in the queue is free again: the next call waits rather than being refused
        CompletableFuture<UpstreamResponse> next = post(client, target(u, "/next", Duration.ofSeconds(20), 1, 1));
        let("/first");
        assertThat(answer(first).status()).isEqualTo(200);
        assertThat(text(answer(next))).isEqualTo("answer to /next");
        assertThat(u.requests).extracting(r -> r.line().split(" ")[1]).containsExactly("/first", "/next");
    }

    @Test
    void should_refuse_a_call_past_a_full_queue_with_503_busy_at_once() throws Exception {
        RawUpstream u = upstream("/first");
        UpstreamClient client = client();
        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/first", Duration.ofSeconds(20), 1, 1));
        CompletableFuture<UpstreamResponse> waiting = post(client, target(u, "/waiting", Duration.ofSeconds(20), 1, 1));
        CompletableFuture<UpstreamResponse> refused = post(client, target(u, "/refused", Duration.ofSeconds(20), 1, 1));
        assertThat(refused).isCompletedExceptionally(); // at once, on the caller's thread
        GatewayException busy = failure(refused);
        assertThat(busy.status()).isEqualTo(503);
        assertThat(busy.code()).isEqualTo("upstream_busy");
        assertThat(busy.outcome()).isEqualTo(Outcome.UPSTREAM_ERROR); // recorded as an upstream failure
        assertThat(busy.headers()).containsEntry("Retry-After", "1");
        assertThat(busy.getMessage()).doesNotContain("127.0.0.1");
        let("/first");
        assertThat(answer(first).status()).isEqualTo(200);
        assertThat(text(answer(waiting))).isEqualTo("answer to /waiting");
        assertThat(u.requests).extracting(r -> r.line().split(" ")[1]).containsExactly("/first", "/waiting");
    }

    @Test
    void should_refuse_at_once_past_the_cap_with_no_queue() throws Exception {
        RawUpstream u = upstream("/first");
        UpstreamClient client = client();
        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/first", Duration.ofSeconds(20), 1, 0));
        assertThat(failure(post(client, target(u, "/second", Duration.ofSeconds(20), 1, 0))).status()).isEqualTo(503);
        let("/first");
        assertThat(answer(first).status()).isEqualTo(200);
        // the connection is idle now: the next call takes it
        assertThat(answer(post(client, target(u, "/third", Duration.ofSeconds(20), 1, 0))).status()).isEqualTo(200);
        assertThat(u.connections()).isEqualTo(1);
    }

    /** A connection that closes gives its place to the first waiting call, which opens a new one. */
    @Test
    void should_open_a_new_connection_for_a_waiting_call_when_one_closes() throws Exception {
        RawUpstream u = upstream("/close-first");
        UpstreamClient client = client();
        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/close-first", Duration.ofSeconds(20), 1, 5));
        CompletableFuture<UpstreamResponse> second = post(client, target(u, "/second", Duration.ofSeconds(20), 1, 5));
        let("/close-first");
        assertThat(answer(first).status()).isEqualTo(200);
        assertThat(text(answer(second))).isEqualTo("answer to /second");
        assertThat(u.connections()).isEqualTo(2);
    }

    /** The caps count per upstream: another upstream's calls neither wait for nor take this one's connections. */
    @Test
    void should_count_connections_per_upstream() throws Exception {
        RawUpstream u = upstream("/first");
        UpstreamClient client = client();
        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/first", Duration.ofSeconds(20), 1, 0));
        String base = "http://127.0.0.1:" + u.port();
        Upstream other = new Upstream("other", "/o", URI.create(base), UpstreamCredential.NONE, Duration.ofSeconds(2),
                Duration.ofSeconds(20), Duration.ofSeconds(5), 1, 0);
        assertThat(answer(post(client, new UpstreamTarget(other, "/o1", URI.create(base + "/o1")))).status())
                .isEqualTo(200);
        let("/first");
        assertThat(answer(first).status()).isEqualTo(200);
    }

    /**
     * A waiting call's deadline sat on its caller's loop, which stops while it waits: the call still ends at its
     * deadline (504), and the connection it waited for serves the next call.
     */
    @Test
    void should_end_a_waiting_call_whose_callers_loop_stopped() throws Exception {
        RawUpstream u = upstream("/first");
        UpstreamClient client = client();
        NioEventLoopGroup stopping = new NioEventLoopGroup(1, new DefaultThreadFactory("caller-stopping", true));
        closing.add(() -> stopping.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        EventLoop s = (EventLoop) stopping.next();
        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/first", Duration.ofSeconds(20), 1, 5));
        CompletableFuture<UpstreamResponse> waiting = client.callAsync(target(u, "/waiting", Duration.ofMillis(300),
                1, 5), "POST", headers(), BODY, false, s);
        assertThat(stopping.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(failure(waiting).status()).isEqualTo(504);
        let("/first");
        assertThat(answer(first).status()).isEqualTo(200);
        assertThat(answer(post(client, target(u, "/after", Duration.ofSeconds(20), 1, 5))).status()).isEqualTo(200);
        assertThat(u.connections()).isEqualTo(1);
    }

    /** Waiting calls end when the client closes, never left waiting. */
    @Test
    void should_end_waiting_calls_when_the_client_closes() throws Exception {
        RawUpstream u = upstream("/first");
        UpstreamClient client = client();
        post(client, target(u, "/first", Duration.ofSeconds(20), 1, 5));
        CompletableFuture<UpstreamResponse> waiting = post(client, target(u, "/waiting", Duration.ofSeconds(20), 1, 5));
        client.close();
        assertThat(failure(waiting).status()).isEqualTo(502);
    }

    /** Many callers at once past a small cap: all answered, never more connections than the cap. */
    @Test
    void should_never_open_more_than_the_cap_under_a_burst() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient client = client();
        NioEventLoopGroup callers = new NioEventLoopGroup(2, new DefaultThreadFactory("caller", true));
        closing.add(() -> callers.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        List<CompletableFuture<UpstreamResponse>> calls = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            EventLoop near = i % 3 == 0 ? null : (EventLoop) callers.next();
            calls.add(client.callAsync(target(u, "/b" + i, Duration.ofSeconds(30), 3, 100), "POST", headers(), BODY,
                    false, near));
        }
        for (int i = 0; i < 60; i++) {
            assertThat(text(answer(calls.get(i)))).isEqualTo("answer to /b" + i);
        }
        assertThat(u.connections()).isBetween(1, 3);
    }
}
