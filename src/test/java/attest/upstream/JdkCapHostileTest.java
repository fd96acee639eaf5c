package attest.upstream;

import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static attest.upstream.UpstreamClientTest.BODY;
import static attest.upstream.UpstreamClientTest.WATCH;
import static attest.upstream.UpstreamClientTest.answer;
import static attest.upstream.UpstreamClientTest.drain;
import static attest.upstream.UpstreamClientTest.failure;
import static attest.upstream.UpstreamClientTest.fixed;
import static attest.upstream.UpstreamClientTest.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An outsider's review of {@code attest.upstream.client=jdk} honouring {@code .max-connections} / {@code .max-waiting}
 * (docs/security.md), from the spec only. The stand-in upstream counts the requests it is serving at once (a request
 * is counted from the moment it is read until just before its last byte is written, so its count never exceeds the
 * client's); each case ends with a call that must still get through, so a place leaked by the case shows as a 504.
 */
class JdkCapHostileTest {
    private final List<AutoCloseable> closing = new ArrayList<>();
    private final AtomicInteger serving = new AtomicInteger();
    private final AtomicInteger maxServing = new AtomicInteger();
    /** Opened by the test: requests for /hold wait for it. */
    private final CountDownLatch gate = new CountDownLatch(1);

    @AfterEach
    void close() throws Exception {
        gate.countDown();
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private UpstreamClient client() {
        UpstreamClient c = new UpstreamClient(Clock.systemUTC(), 1 << 20, UpstreamClient.DEFAULT_MAX_DECODED_BYTES,
                UpstreamClient.Kind.JDK);
        closing.add(c);
        return c;
    }

    private void enter() {
        maxServing.accumulateAndGet(serving.incrementAndGet(), Math::max);
    }

    /**
     * /ok answers at once; /hold answers once the gate opens; /silent never answers; /drop closes without answering;
     * /stream sends a head and one event, then waits for the gate (or the client to go), then ends the stream;
     * /break sends a head and one event and closes mid-stream.
     */
    private RawUpstream upstream() throws Exception {
        RawUpstream u = new RawUpstream(c -> {
            RawUpstream.Request r;
            while ((r = c.read()) != null) {
                enter();
                String line = r.line();
                if (line.contains("/hold")) {
                    gate.await(30, TimeUnit.SECONDS);
                } else if (line.contains("/silent")) {
                    try {
                        c.awaitClose();
                    } finally {
                        serving.decrementAndGet();
                    }
                    return;
                } else if (line.contains("/drop")) {
                    serving.decrementAndGet();
                    return; // closes the connection without a byte
                } else if (line.contains("/stream") || line.contains("/break")) {
                    c.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
                    c.write("e\r\ndata: {\"a\":1}\n\r\n");
                    if (line.contains("/break")) {
                        serving.decrementAndGet();
                        return; // closed mid-stream
                    }
                    boolean open = awaitGateOrClose(c);
                    serving.decrementAndGet();
                    if (!open) {
                        return;
                    }
                    c.write("0\r\n\r\n");
                    continue;
                }
                serving.decrementAndGet();
                c.write(fixed(200, "", line.split(" ")[1]));
            }
        });
        closing.add(u);
        return u;
    }

    /**
     * Until the gate opens (true) or the client closes the connection (false): a stream the client gave up stops being
     * served only once its connection is closed, which is what the upstream sees.
     */
    private boolean awaitGateOrClose(RawUpstream.Conn c) throws IOException, InterruptedException {
        c.socket.setSoTimeout(20);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            if (gate.await(0, TimeUnit.MILLISECONDS)) {
                c.socket.setSoTimeout(0);
                return true;
            }
            try {
                if (c.in.read() < 0) {
                    return false;
                }
            } catch (java.net.SocketTimeoutException e) {
                // still open
            } catch (IOException e) {
                return false;
            }
        }
        return false;
    }

    private static UpstreamTarget target(RawUpstream u, String path, int maxConnections, int maxWaiting,
                                         Duration timeout) {
        String base = "http://127.0.0.1:" + u.port();
        Upstream up = new Upstream("u", "/u", URI.create(base), UpstreamCredential.NONE, Duration.ofSeconds(2),
                timeout, Duration.ofSeconds(5), maxConnections, maxWaiting);
        return new UpstreamTarget(up, path, URI.create(base + path));
    }

    private static CompletableFuture<UpstreamResponse> post(UpstreamClient c, UpstreamTarget t) {
        return c.callAsync(t, "POST", headers(), BODY, false);
    }

    /** A call to /hold takes the one place (max-connections 1) and stays until the gate opens. */
    private CompletableFuture<UpstreamResponse> holdTheOnePlace(UpstreamClient c, RawUpstream u, int maxWaiting) {
        CompletableFuture<UpstreamResponse> first = post(c, target(u, "/hold", 1, maxWaiting, Duration.ofSeconds(20)));
        await().atMost(Duration.ofSeconds(10)).until(() -> sent(u, "/hold") == 1);
        return first;
    }

    private long sent(RawUpstream u, String path) {
        return u.requests.stream().filter(r -> r.line().contains(path)).count();
    }

    /** The last word of every case: a plain call to the same upstream still gets through. */
    private void assertStillGetsThrough(UpstreamClient c, RawUpstream u, int maxConnections, int maxWaiting) {
        // a place freed a moment after the case's end is fine (the release may be asynchronous); one never freed is not
        await().atMost(Duration.ofSeconds(5)).ignoreExceptions().untilAsserted(() -> {
            UpstreamResponse r = answer(post(c, target(u, "/ok", maxConnections, maxWaiting, Duration.ofSeconds(2))));
            assertThat(r.status()).isEqualTo(200);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("/ok");
        });
    }

    @Test
    void should_send_one_call_at_a_time_to_an_upstream_capped_at_one_with_forty_at_once() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        List<CompletableFuture<UpstreamResponse>> calls = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            calls.add(post(c, target(u, "/hold", 1, 100, Duration.ofSeconds(20))));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> sent(u, "/hold") == 1);
        await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(5)).until(() -> sent(u, "/hold") == 1);
        assertThat(maxServing.get()).isEqualTo(1);
        gate.countDown();
        for (CompletableFuture<UpstreamResponse> f : calls) {
            assertThat(answer(f).status()).isEqualTo(200);
        }
        assertThat(sent(u, "/hold")).isEqualTo(40);
        assertThat(maxServing.get()).as("requests the upstream served at once").isEqualTo(1);
        assertStillGetsThrough(c, u, 1, 100);
    }

    @Test
    void should_refuse_at_once_and_send_nothing_when_max_waiting_is_zero() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        CompletableFuture<UpstreamResponse> first = holdTheOnePlace(c, u, 0);
        for (int i = 0; i < 5; i++) {
            CompletableFuture<UpstreamResponse> busy = post(c, target(u, "/busy", 1, 0, Duration.ofSeconds(20)));
            GatewayException g = failure(busy);
            assertThat(g.status()).isEqualTo(503);
            assertThat(g.code()).isEqualTo("upstream_busy");
            assertThat(g.outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
            assertThat(g.headers()).containsEntry("Retry-After", "1");
        }
        gate.countDown();
        assertThat(answer(first).status()).isEqualTo(200);
        assertThat(sent(u, "/busy")).as("refused calls sent upstream").isZero();
        assertStillGetsThrough(c, u, 1, 0);
    }

    @Test
    void should_time_out_a_waiting_call_unsent_and_leave_no_place_taken() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        CompletableFuture<UpstreamResponse> first = holdTheOnePlace(c, u, 2);
        for (int round = 0; round < 3; round++) {
            GatewayException g = failure(post(c, target(u, "/late", 1, 2, Duration.ofMillis(300))));
            assertThat(g.status()).isEqualTo(504);
            assertThat(g.code()).isEqualTo("upstream_timeout");
        }
        // the queue of 2 is empty again: two more may wait
        CompletableFuture<UpstreamResponse> w1 = post(c, target(u, "/ok", 1, 2, Duration.ofSeconds(20)));
        CompletableFuture<UpstreamResponse> w2 = post(c, target(u, "/ok", 1, 2, Duration.ofSeconds(20)));
        assertThat(w1).isNotDone();
        assertThat(w2).isNotDone();
        gate.countDown();
        assertThat(answer(first).status()).isEqualTo(200);
        assertThat(answer(w1).status()).isEqualTo(200);
        assertThat(answer(w2).status()).isEqualTo(200);
        assertThat(sent(u, "/late")).isZero();
        assertStillGetsThrough(c, u, 1, 2);
    }

    @Test
    void should_free_the_place_of_a_waiting_call_that_is_cancelled() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        CompletableFuture<UpstreamResponse> first = holdTheOnePlace(c, u, 1);
        for (int i = 0; i < 5; i++) { // the client goes away while waiting, five times over: the queue of one stays free
            CompletableFuture<UpstreamResponse> waiting = post(c, target(u, "/gone", 1, 1, Duration.ofSeconds(20)));
            assertThat(waiting).isNotDone();
            waiting.cancel(true);
        }
        CompletableFuture<UpstreamResponse> next = post(c, target(u, "/ok", 1, 1, Duration.ofSeconds(20)));
        assertThat(next).as("admitted to the queue, not refused busy").isNotDone();
        gate.countDown();
        assertThat(answer(first).status()).isEqualTo(200);
        assertThat(answer(next).status()).isEqualTo(200);
        assertThat(sent(u, "/gone")).as("cancelled waiting calls sent upstream").isZero();
        assertThat(maxServing.get()).isEqualTo(1);
        assertStillGetsThrough(c, u, 1, 1);
    }

    @Test
    void should_free_the_place_of_calls_the_upstream_fails_or_lets_time_out() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        for (int i = 0; i < 4; i++) {
            assertThat(failure(post(c, target(u, "/drop", 1, 0, Duration.ofSeconds(5)))).status()).isEqualTo(502);
            assertStillGetsThrough(c, u, 1, 0);
            assertThat(failure(post(c, target(u, "/silent", 1, 0, Duration.ofMillis(300)))).status())
                    .isEqualTo(504);
            assertStillGetsThrough(c, u, 1, 0);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> serving.get() == 0);
        assertThat(maxServing.get()).isEqualTo(1);
        assertStillGetsThrough(c, u, 1, 0);
    }

    /**
     * A caller told 504 (its call sent, the upstream silent) that retries at once, on an upstream with one place and no
     * queue, finds the place free: the timed-out exchange is aborted and its place given back before the 504 is heard.
     * Before, the 504 came first and about half of such retries were refused 503 upstream_busy.
     */
    @Test
    void should_give_a_timed_out_calls_place_back_before_its_caller_hears_504() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        for (int i = 0; i < 20; i++) {
            GatewayException late = failure(post(c, target(u, "/silent", 1, 0, Duration.ofMillis(100))));
            assertThat(late.status()).isEqualTo(504);
            assertThat(late.code()).isEqualTo("upstream_timeout");
            assertThat(answer(post(c, target(u, "/ok", 1, 0, Duration.ofSeconds(2)))).status()).as("retry " + i)
                    .isEqualTo(200);
        }
    }

    @Test
    void should_free_the_place_of_a_cancelled_call_already_sent() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        for (int i = 0; i < 4; i++) {
            CompletableFuture<UpstreamResponse> f = post(c, target(u, "/silent", 1, 0, Duration.ofSeconds(20)));
            int n = i + 1;
            await().atMost(Duration.ofSeconds(10)).until(() -> sent(u, "/silent") == n);
            f.cancel(true);
        }
        assertStillGetsThrough(c, u, 1, 0);
    }

    /** A stream holds its place until it ends; then the waiting call is sent. */
    @Test
    void should_hold_the_place_for_a_stream_until_it_ends() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        UpstreamResponse s = answer(post(c, target(u, "/stream", 1, 4, Duration.ofSeconds(20))));
        assertThat(s.streaming()).isTrue();
        s.stream().bind(new EmbeddedChannel(new ChannelInboundHandlerAdapter()), WATCH, Duration.ofSeconds(30));
        CompletableFuture<UpstreamResponse> next = post(c, target(u, "/ok", 1, 4, Duration.ofSeconds(20)));
        await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(5)).until(() -> sent(u, "/ok") == 0);
        assertThat(next).isNotDone();
        gate.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> drain(s.stream()) >= 0 && s.stream().ended().isDone());
        assertThat(s.stream().ended().join().outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(answer(next).status()).isEqualTo(200);
        assertThat(maxServing.get()).isEqualTo(1);
    }

    /** Streams that end every wrong way, over and over, with one place: each frees it. */
    @Test
    void should_free_the_place_of_streams_that_break_off_or_whose_caller_goes_away() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        for (int i = 0; i < 3; i++) {
            // the upstream closes mid-stream
            UpstreamResponse broken = answer(post(c, target(u, "/break", 1, 0, Duration.ofSeconds(5))));
            broken.stream().bind(new EmbeddedChannel(new ChannelInboundHandlerAdapter()), WATCH, Duration.ofSeconds(30));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> drain(broken.stream()) >= 0 && broken.stream().ended().isDone());
            assertThat(broken.stream().ended().join().outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
            assertStillGetsThrough(c, u, 1, 0);

            // the caller's connection closes mid-stream
            UpstreamResponse left = answer(post(c, target(u, "/stream", 1, 0, Duration.ofSeconds(20))));
            EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
            left.stream().bind(ch, WATCH, Duration.ofSeconds(30));
            drain(left.stream());
            ch.close();
            assertThat(left.stream().ended().orTimeout(10, TimeUnit.SECONDS).join().outcome())
                    .isEqualTo(Outcome.CLIENT_ABORTED);
            assertStillGetsThrough(c, u, 1, 0);

            // the gateway gives the stream up before binding it (a refusal after the upstream answered)
            UpstreamResponse refused = answer(post(c, target(u, "/stream", 1, 0, Duration.ofSeconds(20))));
            refused.stream().abort(Outcome.MASKING_FAILED);
            assertStillGetsThrough(c, u, 1, 0);

            // a stream released uncommitted (its evidence could not be written) before it ended
            UpstreamResponse uncommitted = answer(post(c, target(u, "/stream", 1, 0, Duration.ofSeconds(20))));
            uncommitted.stream().bind(new EmbeddedChannel(new ChannelInboundHandlerAdapter()), WATCH,
                    Duration.ofSeconds(30));
            uncommitted.stream().abort(Outcome.EVIDENCE_UNAVAILABLE);
            uncommitted.stream().release(false);
            assertStillGetsThrough(c, u, 1, 0);
        }
        assertThat(maxServing.get()).isEqualTo(1);
    }

    /** The caller's connection is already gone when the stream's head is handed to it: the place comes back. */
    @Test
    void should_free_the_place_of_a_stream_bound_to_a_caller_already_gone() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient c = client();
        for (int i = 0; i < 3; i++) {
            UpstreamResponse s = answer(post(c, target(u, "/stream", 1, 0, Duration.ofSeconds(20))));
            EmbeddedChannel gone = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
            gone.close();
            s.stream().bind(gone, WATCH, Duration.ofSeconds(30));
            assertThat(s.stream().ended().orTimeout(10, TimeUnit.SECONDS).join().outcome())
                    .isEqualTo(Outcome.CLIENT_ABORTED);
            assertStillGetsThrough(c, u, 1, 0);
        }
        assertThat(maxServing.get()).isEqualTo(1);
    }

    /** A buffered answer larger than the bound (502 after the upstream answered) frees the place too. */
    @Test
    void should_free_the_place_of_an_answer_refused_as_too_large() throws Exception {
        RawUpstream u = new RawUpstream(RawUpstream.each((conn, r) -> conn.write(r.line().contains("/big")
                ? fixed(200, "Content-Type: application/json\r\n", "x".repeat(4096))
                : fixed(200, "", "/ok"))));
        closing.add(u);
        UpstreamClient c = new UpstreamClient(Clock.systemUTC(), 1 << 20, 1024, UpstreamClient.Kind.JDK);
        closing.add(c);
        for (int i = 0; i < 4; i++) {
            assertThat(failure(post(c, target(u, "/big", 1, 0, Duration.ofSeconds(5)))).status()).isEqualTo(502);
        }
        assertStillGetsThrough(c, u, 1, 0);
    }
}
