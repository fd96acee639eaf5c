package attest.upstream;

import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Netty upstream client against upstreams that are hostile or broken, and against production's churn. What a
 * gateway owes every call: it ends (an answer, 502 or 504) within its deadline; a connection is never reused after
 * anything unclean; one call's answer never reaches another call; nothing is left open.
 * <p>
 * A comment that starts BREAK, LEAK or HANG says what the code did before the fix in the same commit; OK, or no
 * label, means the shape already held.
 */
class HostileUpstreamTest {
    static final byte[] BODY = "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
    static final ScheduledExecutorService WATCH = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "hostile-stream-watch");
        t.setDaemon(true);
        return t;
    });

    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    UpstreamClient client() {
        UpstreamClient c = new UpstreamClient(Clock.systemUTC(), 1 << 20, UpstreamClient.DEFAULT_MAX_DECODED_BYTES,
                UpstreamClient.Kind.NETTY);
        closing.add(c);
        return c;
    }

    RawUpstream upstream(RawUpstream.Script script) throws Exception {
        RawUpstream u = new RawUpstream(script);
        closing.add(u);
        return u;
    }

    static UpstreamTarget target(RawUpstream u, String path, Duration responseTimeout) {
        String base = "http://127.0.0.1:" + u.port();
        Upstream up = new Upstream("u", "/u", URI.create(base), UpstreamCredential.NONE, Duration.ofSeconds(2),
                responseTimeout, Duration.ofSeconds(5));
        return new UpstreamTarget(up, path, URI.create(base + path));
    }

    static ForwardHeaders headers() {
        return new ForwardHeaders(List.of(Map.entry("Content-Type", "application/json")));
    }

    static CompletableFuture<UpstreamResponse> post(UpstreamClient c, UpstreamTarget t) {
        return c.callAsync(t, "POST", headers(), BODY, false);
    }

    static CompletableFuture<UpstreamResponse> post(UpstreamClient c, UpstreamTarget t, byte[] body) {
        return c.callAsync(t, "POST", headers(), body, false);
    }

    static UpstreamResponse answer(CompletableFuture<UpstreamResponse> f) {
        return f.orTimeout(20, TimeUnit.SECONDS).join();
    }

    static GatewayException failure(CompletableFuture<UpstreamResponse> f) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> f.orTimeout(20, TimeUnit.SECONDS).join());
        assertThat(t).isInstanceOf(CompletionException.class);
        assertThat(t.getCause()).isInstanceOf(GatewayException.class);
        return (GatewayException) t.getCause();
    }

    static String text(UpstreamResponse r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    static String fixed(int status, String headers, String body) {
        return "HTTP/1.1 " + status + " X\r\n" + headers + "Content-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }

    /** Answers every further request on the connection with its own path: a call given anything else got another's. */
    static void echoPaths(RawUpstream.Conn c) throws IOException {
        RawUpstream.Request r;
        while ((r = c.read()) != null) {
            c.write(fixed(200, "", "answer to " + r.line().split(" ")[1] + " on " + c.index));
        }
    }

    static void pause(long millis) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < until) {
            LockSupport.parkNanos(until - System.nanoTime());
        }
    }

    static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    static long drain(StreamRelay relay) {
        long n = 0;
        HttpContent c;
        while ((c = relay.readChunk(ByteBufAllocator.DEFAULT)) != null) {
            n += c.content().readableBytes();
            c.release();
        }
        return n;
    }

    // ---- one call's answer never reaches another call ----------------------------------------------------------

    /** OK: two answers in one write for one request; the second must not be the next call's answer. */
    @Test
    void should_never_give_a_second_answer_for_one_request_to_the_next_call() throws Exception {
        RawUpstream u = upstream(c -> {
            if (c.index == 1) {
                c.read();
                c.write(fixed(200, "", "first") + fixed(200, "", "smuggled"));
                c.awaitClose(); // a next request on this connection is never answered
                return;
            }
            echoPaths(c);
        });
        UpstreamClient client = client();

        assertThat(text(answer(post(client, target(u, "/one", Duration.ofSeconds(5)))))).isEqualTo("first");
        UpstreamResponse next = answer(post(client, target(u, "/two", Duration.ofSeconds(5))));

        assertThat(text(next)).isEqualTo("answer to /two on 2");
        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() >= 1);
    }

    /** OK: an answer arriving on an idle pooled connection (nobody asked) must not be the next call's answer. */
    @Test
    void should_close_an_idle_connection_that_sends_an_unasked_answer() throws Exception {
        CountDownLatch smuggle = new CountDownLatch(1);
        RawUpstream u = upstream(c -> {
            if (c.index == 1) {
                c.read();
                c.write(fixed(200, "", "first"));
                smuggle.await(10, TimeUnit.SECONDS);
                c.write(fixed(200, "", "smuggled"));
                c.awaitClose();
                return;
            }
            echoPaths(c);
        });
        UpstreamClient client = client();
        assertThat(text(answer(post(client, target(u, "/one", Duration.ofSeconds(5)))))).isEqualTo("first");

        smuggle.countDown();

        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
        assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(5))))))
                .isEqualTo("answer to /two on 2");
    }

    /** OK: a 204 (or 304) has no body by definition; the bytes after its head must not be the next call's answer. */
    @Test
    void should_not_give_the_body_of_a_204_or_304_to_the_next_call() throws Exception {
        for (int status : new int[] {204, 304}) {
            RawUpstream u = upstream(c -> {
                if (c.index == 1) {
                    c.read();
                    c.write("HTTP/1.1 " + status + " X\r\nContent-Length: " + fixed(200, "", "smuggled").length()
                            + "\r\n\r\n" + fixed(200, "", "smuggled"));
                }
                echoPaths(c);
            });
            UpstreamClient client = client();

            UpstreamResponse first = answer(post(client, target(u, "/one", Duration.ofSeconds(5))));
            assertThat(first.status()).isEqualTo(status);
            assertThat(first.body()).isEmpty();
            assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(5))))))
                    .isEqualTo("answer to /two on 2");
        }
    }

    /** OK: the bytes past a short Content-Length must not be the next call's answer. */
    @Test
    void should_not_give_the_bytes_past_a_short_content_length_to_the_next_call() throws Exception {
        RawUpstream u = upstream(c -> {
            if (c.index == 1) {
                c.read();
                c.write("HTTP/1.1 200 X\r\nContent-Length: 5\r\n\r\nfirst" + fixed(200, "", "smuggled"));
            }
            echoPaths(c);
        });
        UpstreamClient client = client();

        assertThat(text(answer(post(client, target(u, "/one", Duration.ofSeconds(5)))))).isEqualTo("first");
        assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(5))))))
                .isEqualTo("answer to /two on 2");
    }

    /** BREAK: an answer framed by both Content-Length and Transfer-Encoding: its connection was reused. */
    @Test
    void should_never_reuse_a_connection_whose_answer_had_content_length_and_transfer_encoding() throws Exception {
        RawUpstream u = upstream(c -> {
            if (c.index == 1) {
                c.read();
                c.write("HTTP/1.1 200 X\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "5\r\nfirst\r\n0\r\n\r\n");
            }
            echoPaths(c);
        });
        UpstreamClient client = client();

        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/one", Duration.ofSeconds(5)));
        try {
            assertThat(text(answer(first))).isEqualTo("first");
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(GatewayException.class); // refusing it as 502 is as good
        }
        assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(5))))))
                .isEqualTo("answer to /two on 2");
    }

    /**
     * BREAK: a transfer coding other than chunked (gzip, chunked): the body is still coded once the chunks are read, and no
     * Content-Encoding says so, so masking would read compressed bytes; the caller could decode them. Refused.
     */
    @Test
    void should_refuse_a_transfer_coding_other_than_chunked() throws Exception {
        java.io.ByteArrayOutputStream zipped = new java.io.ByteArrayOutputStream();
        try (var z = new java.util.zip.GZIPOutputStream(zipped)) {
            z.write("{\"content\":\"card 4111 1111 1111 1111\"}".getBytes(StandardCharsets.UTF_8));
        }
        byte[] body = zipped.toByteArray();
        for (String coding : List.of("gzip, chunked", "deflate,chunked", "chunked, identity")) {
            RawUpstream u = upstream(c -> {
                c.read();
                c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: " + coding
                        + "\r\n\r\n" + Integer.toHexString(body.length) + "\r\n");
                c.write(body);
                c.write("\r\n0\r\n\r\n");
                c.awaitClose();
            });

            CompletableFuture<UpstreamResponse> call = post(client(), target(u, "/one", Duration.ofSeconds(5)));

            assertThat(failure(call).status()).as(coding).isEqualTo(502);
            await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
        }
    }

    /** BREAK: a status outside 100-599 is no HTTP answer: it was handed to the caller. */
    @Test
    void should_refuse_a_status_outside_the_http_range() throws Exception {
        for (String status : List.of("600", "999", "099")) {
            RawUpstream u = upstream(c -> {
                c.read();
                c.write("HTTP/1.1 " + status + " Odd\r\nContent-Length: 2\r\n\r\nok");
                c.awaitClose();
            });

            CompletableFuture<UpstreamResponse> call = post(client(), target(u, "/one", Duration.ofSeconds(5)));

            assertThat(failure(call).status()).as(status).isEqualTo(502);
        }
    }

    // ---- 1xx -----------------------------------------------------------------------------------------------------

    @Test
    void should_answer_with_the_final_answer_after_a_100_continue() throws Exception {
        RawUpstream u = upstream(c -> {
            c.read();
            c.write("HTTP/1.1 100 Continue\r\n\r\n" + "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
                    + fixed(200, "Content-Type: application/json\r\n", "{\"ok\":1}"));
            echoPaths(c);
        });
        UpstreamClient client = client();

        UpstreamResponse r = answer(post(client, target(u, "/one", Duration.ofSeconds(5))));

        assertThat(r.status()).isEqualTo(200);
        assertThat(text(r)).isEqualTo("{\"ok\":1}");
        assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(5))))))
                .startsWith("answer to /two");
    }

    /** A huge head, on the answer or on a 1xx before it: 502 at once, the connection closed. */
    @Test
    void should_refuse_a_huge_head_on_the_answer_or_on_a_1xx() throws Exception {
        String huge = "X-Huge: " + "h".repeat(512 * 1024) + "\r\n";
        for (String answer : List.of("HTTP/1.1 200 OK\r\n" + huge + "Content-Length: 2\r\n\r\nok",
                "HTTP/1.1 103 Early Hints\r\n" + huge + "\r\n" + fixed(200, "", "ok"),
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" + huge + "\r\ndata: x\n\n")) {
            RawUpstream u = upstream(c -> {
                c.read();
                try {
                    c.write(answer);
                } catch (IOException e) {
                    // closed by the client mid-head
                }
                c.awaitClose();
            });

            assertThat(failure(post(client(), target(u, "/one", Duration.ofSeconds(5)))).status()).isEqualTo(502);
            await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
        }
    }

    /** A flood of 1xx heads that never ends: the call ends by its deadline, and the connection is closed. */
    @Test
    void should_end_a_flood_of_1xx_heads_by_the_deadline() throws Exception {
        RawUpstream u = upstream(c -> {
            c.read();
            byte[] info = "HTTP/1.1 102 Processing\r\n\r\n".repeat(1000).getBytes(StandardCharsets.ISO_8859_1);
            try {
                while (true) {
                    c.write(info);
                }
            } catch (IOException e) {
                c.awaitClose();
            }
        });
        long started = System.nanoTime();

        GatewayException e = failure(post(client(), target(u, "/one", Duration.ofMillis(800))));

        assertThat(e.status()).isIn(502, 504);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
    }

    /**
     * BREAK (504 after the whole deadline): an answer switching protocols that nobody asked for (the gateway never sends Upgrade): the connection speaks
     * something else from there on, so it is refused (502) and closed, never pooled.
     */
    @Test
    void should_refuse_an_unasked_101_and_never_reuse_its_connection() throws Exception {
        RawUpstream u = upstream(c -> {
            if (c.index == 1) {
                c.read();
                c.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
                c.awaitClose(); // a next request on this connection is never answered
                return;
            }
            echoPaths(c);
        });
        UpstreamClient client = client();

        assertThat(failure(post(client, target(u, "/one", Duration.ofSeconds(5)))).status()).isEqualTo(502);
        assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(2))))))
                .isEqualTo("answer to /two on 2");
        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
    }

    // ---- framing and time ----------------------------------------------------------------------------------------

    @Test
    void should_end_a_content_length_longer_than_the_body_by_the_deadline_and_close_the_connection() throws Exception {
        RawUpstream u = upstream(c -> {
            c.read();
            c.write("HTTP/1.1 200 X\r\nContent-Length: 100\r\n\r\nshort");
            c.awaitClose();
        });

        assertThat(failure(post(client(), target(u, "/one", Duration.ofMillis(500)))).status()).isEqualTo(504);
        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
    }

    @Test
    void should_end_a_chunked_answer_that_never_ends_by_the_deadline() throws Exception {
        RawUpstream u = upstream(c -> {
            c.read();
            c.write("HTTP/1.1 200 X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            try {
                for (int i = 0; i < 10_000; i++) {
                    c.write("1\r\nx\r\n");
                    pause(5);
                }
            } catch (IOException e) {
                // closed by the client
            }
            c.awaitClose();
        });

        assertThat(failure(post(client(), target(u, "/one", Duration.ofMillis(500)))).status()).isEqualTo(504);
        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
    }

    /** A head sent a byte at a time, finishing just past the deadline: 504 at the deadline, not when it ends. */
    @Test
    void should_end_a_head_sent_byte_by_byte_at_the_deadline() throws Exception {
        String head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + "p".repeat(60)
                + "\r\nContent-Length: 2\r\n\r\nok";
        RawUpstream u = upstream(c -> {
            RawUpstream.Request r;
            while ((r = c.read()) != null && r.line().contains("/warm")) {
                c.write(fixed(200, "", "warm"));
            }
            try {
                for (char ch : head.toCharArray()) {
                    c.write(String.valueOf(ch));
                    pause(10); // ~1.3 s in all
                }
            } catch (IOException e) {
                // closed by the client
            }
            c.awaitClose();
        });
        UpstreamClient client = client();
        answer(post(client, target(u, "/warm", Duration.ofSeconds(5)))); // the client's first call loads its classes
        long started = System.nanoTime();

        assertThat(failure(post(client, target(u, "/one", Duration.ofMillis(1000)))).status()).isEqualTo(504);
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        assertThat(took).as("ended after %s", took).isLessThan(Duration.ofMillis(1250));
        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
    }

    /** HTTP/1.0 without a length: the body ends with the connection, which is never reused. */
    @Test
    void should_read_an_http_1_0_answer_without_a_length_to_its_close() throws Exception {
        RawUpstream u = upstream(c -> {
            if (c.index == 1) {
                c.read();
                c.write("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\":1}");
                return;
            }
            echoPaths(c);
        });
        UpstreamClient client = client();

        assertThat(text(answer(post(client, target(u, "/one", Duration.ofSeconds(5)))))).isEqualTo("{\"ok\":1}");
        assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(5))))))
                .isEqualTo("answer to /two on 2");
    }

    /** OK: an answer saying Connection: close (or an HTTP/1.0 one without keep-alive) whose socket stays open. */
    @Test
    void should_close_a_connection_whose_answer_said_close_though_the_upstream_keeps_it_open() throws Exception {
        for (String answer : List.of(fixed(200, "Connection: close\r\n", "first"),
                "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nfirst")) {
            RawUpstream u = upstream(c -> {
                if (c.index == 1) {
                    c.read();
                    c.write(answer);
                    c.awaitClose();
                    return;
                }
                echoPaths(c);
            });
            UpstreamClient client = client();

            assertThat(text(answer(post(client, target(u, "/one", Duration.ofSeconds(5)))))).isEqualTo("first");

            await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
            assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(5))))))
                    .isEqualTo("answer to /two on 2");
        }
    }

    /** An upstream that accepts and never reads a large body: 504 at the deadline, the connection closed. */
    @Test
    void should_end_a_call_whose_upstream_never_reads_by_the_deadline() throws Exception {
        CountDownLatch failed = new CountDownLatch(1);
        RawUpstream u = upstream(c -> {
            failed.await(20, TimeUnit.SECONDS);
            c.awaitClose();
        });
        byte[] big = new byte[16 * 1024 * 1024];

        GatewayException e = failure(post(client(), target(u, "/one", Duration.ofMillis(500)), big));
        failed.countDown();

        assertThat(e.status()).isEqualTo(504);
        await().atMost(Duration.ofSeconds(10)).until(() -> u.peerClosed() == 1);
    }

    /**
     * An upstream that answers before it has read the request's body (413 on the head): the caller gets the answer
     * (or 502), and the connection, whose request was never fully sent, is never reused.
     */
    @Test
    void should_never_reuse_a_connection_answered_before_its_request_body_was_read() throws Exception {
        RawUpstream u = upstream(c -> {
            if (c.index == 1) {
                // the head only, then an answer; what is left of the body would be read as a next request
                var head = new java.io.ByteArrayOutputStream();
                int matched = 0;
                while (matched < 4) {
                    int b = c.in.read();
                    head.write(b);
                    matched = (b == '\r' && (matched == 0 || matched == 2))
                            || (b == '\n' && (matched == 1 || matched == 3)) ? matched + 1 : b == '\r' ? 1 : 0;
                }
                c.write(fixed(413, "", "too big"));
                c.awaitClose();
                return;
            }
            echoPaths(c);
        });
        UpstreamClient client = client();
        byte[] big = new byte[8 * 1024 * 1024];

        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/one", Duration.ofSeconds(5)), big);
        try {
            assertThat(answer(first).status()).isEqualTo(413);
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(GatewayException.class);
        }
        assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(5))))))
                .isEqualTo("answer to /two on 2");
        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
    }

    // ---- pooled connections closed by the upstream -----------------------------------------------------------------

    /**
     * An upstream that closes each connection right after its answer, without saying so (its keep-alive is shorter
     * than ours): the closed connection is reused by the next call at once, the request written into a closing
     * socket. Every call must still end; none may hang.
     */
    @Test
    void should_end_every_call_to_an_upstream_that_closes_each_connection_after_its_answer() throws Exception {
        RawUpstream u = upstream(c -> {
            RawUpstream.Request r = c.read();
            if (r != null) {
                c.write(fixed(200, "", "ok"));
            }
        });
        UpstreamClient client = client();
        for (int i = 0; i < 200; i++) {
            CompletableFuture<UpstreamResponse> call = post(client, target(u, "/n" + i, Duration.ofSeconds(5)));
            try {
                assertThat(text(answer(call))).isEqualTo("ok");
            } catch (CompletionException e) {
                // the upstream's close still on its way when the request was written: the request may have reached
                // it, and a model call is not idempotent, so it is not sent again (0-2 of 200 here; 48 before the
                // check of a pooled connection's socket)
                assertThat(e.getCause()).isInstanceOf(GatewayException.class);
                assertThat(((GatewayException) e.getCause()).status()).isEqualTo(502);
            }
        }
    }

    /**
     * BREAK: an idle pooled connection that its upstream closed, the close not yet read by the event loop when a call
     * takes the connection: the request was written into the closed socket and the call failed with 502, though it
     * provably never reached the upstream. Made certain here by holding the connection's loop (the caller's) until
     * the upstream has closed. The call goes on a new connection.
     */
    @Test
    void should_send_a_call_on_a_new_connection_when_its_pooled_one_was_closed_unnoticed() throws Exception {
        AtomicInteger closedByUpstream = new AtomicInteger();
        CountDownLatch mayClose = new CountDownLatch(1);
        RawUpstream u = upstream(c -> {
            RawUpstream.Request r = c.read();
            if (r != null) {
                c.write(fixed(200, "", "answer to " + r.line().split(" ")[1] + " on " + c.index));
            }
            if (c.index == 1) {
                mayClose.await(10, TimeUnit.SECONDS);
            }
            c.socket.close(); // its keep-alive is over, and it does not say so
            closedByUpstream.incrementAndGet();
        });
        io.netty.channel.nio.NioEventLoopGroup loops = new io.netty.channel.nio.NioEventLoopGroup(1,
                new io.netty.util.concurrent.DefaultThreadFactory("hostile-caller-loop", true));
        closing.add(() -> loops.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        io.netty.channel.EventLoop loop = loops.next();
        UpstreamClient client = client();
        assertThat(text(answer(client.callAsync(target(u, "/one", Duration.ofSeconds(5)), "POST", headers(), BODY,
                false, loop)))).isEqualTo("answer to /one on 1");

        CompletableFuture<CompletableFuture<UpstreamResponse>> second = new CompletableFuture<>();
        loop.execute(() -> {
            // the loop reads nothing meanwhile: the pool still holds the connection as open
            mayClose.countDown();
            await().atMost(Duration.ofSeconds(5)).until(() -> closedByUpstream.get() == 1);
            pause(50); // the close's FIN in this side's kernel
            second.complete(client.callAsync(target(u, "/two", Duration.ofSeconds(5)), "POST", headers(), BODY, false,
                    loop));
        });

        assertThat(text(answer(second.get(10, TimeUnit.SECONDS)))).isEqualTo("answer to /two on 2");
        assertThat(u.requests).hasSize(2); // the first connection never got the second request
    }

    /**
     * OK: a TLS upstream that ends an idle connection's session (close_notify) and keeps its socket open: the next
     * call is not written into the ended session.
     */
    @Test
    void should_not_reuse_a_tls_connection_whose_session_the_upstream_ended() throws Exception {
        java.nio.file.Path dir = Files.createTempDirectory("hostile-tls");
        java.nio.file.Path store = dir.resolve("upstream.p12");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "upstream", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost", "-validity", "2",
                "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "changeit")
                .redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(store)) {
            ks.load(in, "changeit".toCharArray());
        }
        var kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        javax.net.ssl.SSLContext serverTls = javax.net.ssl.SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        javax.net.ssl.SSLContext trusting = javax.net.ssl.SSLContext.getInstance("TLS");
        trusting.init(null, tmf.getTrustManagers(), null);

        CountDownLatch ended = new CountDownLatch(1);
        RawUpstream u = new RawUpstream(c -> {
            RawUpstream.Request r = c.read();
            if (r == null) {
                return;
            }
            c.write(fixed(200, "", "answer to " + r.line().split(" ")[1] + " on " + c.index));
            if (c.index == 1) {
                c.socket.shutdownOutput(); // close_notify; the socket stays open
                ended.countDown();
                c.awaitClose();
                return;
            }
            echoPaths(c);
        }, serverTls);
        closing.add(u);
        UpstreamClient client = new UpstreamClient(Clock.systemUTC(), 1 << 20,
                UpstreamClient.DEFAULT_MAX_DECODED_BYTES, UpstreamClient.Kind.NETTY, trusting);
        closing.add(client);
        String base = "https://localhost:" + u.port();
        Upstream up = new Upstream("u", "/u", URI.create(base), UpstreamCredential.NONE, Duration.ofSeconds(2),
                Duration.ofSeconds(5), Duration.ofSeconds(5));

        assertThat(text(answer(post(client, new UpstreamTarget(up, "/one", URI.create(base + "/one"))))))
                .isEqualTo("answer to /one on 1");
        assertThat(ended.await(5, TimeUnit.SECONDS)).isTrue();
        // whether or not the client's loop has read the close_notify yet: neither may give the call to that session

        assertThat(text(answer(post(client, new UpstreamTarget(up, "/two", URI.create(base + "/two"))))))
                .isEqualTo("answer to /two on 2");
        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
    }

    /** Many quick 503s, with and without Connection: close: the client's open sockets stay bounded. */
    @Test
    void should_keep_its_open_sockets_bounded_under_quick_503s() throws Exception {
        AtomicInteger n = new AtomicInteger();
        RawUpstream u = upstream(RawUpstream.each((c, r) -> {
            c.write(fixed(503, n.incrementAndGet() % 2 == 0 ? "Connection: close\r\nRetry-After: 1\r\n"
                    : "Retry-After: 1\r\n", "{\"error\":\"overloaded\"}"));
        }));
        UpstreamClient client = client();
        answer(post(client, target(u, "/warm", Duration.ofSeconds(5))));
        long before = openFds();

        for (int round = 0; round < 20; round++) {
            List<CompletableFuture<UpstreamResponse>> calls = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                calls.add(post(client, target(u, "/n", Duration.ofSeconds(5))));
            }
            for (CompletableFuture<UpstreamResponse> call : calls) {
                assertThat(answer(call).status()).isEqualTo(503);
            }
        }

        // the pool keeps at most the connections that were idle at once; what the upstream closed is gone
        await().atMost(Duration.ofSeconds(10)).until(() -> openFds() <= before + 60);
        client.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> openFds() <= before + 5);
    }

    /** Calls that fail every way an upstream can fail them (502 or 504): no socket of the client's is left open. */
    @Test
    void should_leave_no_socket_open_after_calls_that_fail() throws Exception {
        RawUpstream u = upstream(c -> {
            RawUpstream.Request r = c.read();
            String path = r == null ? "" : r.line().split(" ")[1];
            switch (path) {
                case "/warm" -> {
                    c.write(fixed(200, "", "warm"));
                    c.awaitClose();
                }
                case "/nothing" -> { } // closed without an answer
                case "/reset" -> {
                    c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal");
                    c.socket.setSoLinger(true, 0);
                    c.socket.close();
                }
                case "/garbage" -> c.write("NOT HTTP AT ALL\r\n\r\n");
                default -> c.awaitClose(); // never answers: 504
            }
        });
        UpstreamClient client = client();
        answer(post(client, target(u, "/warm", Duration.ofSeconds(5))));
        long before = openFds();

        List<CompletableFuture<UpstreamResponse>> calls = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            for (String path : List.of("/nothing", "/reset", "/garbage", "/silent")) {
                calls.add(post(client, target(u, path, Duration.ofMillis(500))));
            }
        }
        for (CompletableFuture<UpstreamResponse> call : calls) {
            assertThat(failure(call).status()).isIn(502, 504);
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> openFds() <= before);
    }

    // ---- live streams ------------------------------------------------------------------------------------------------

    static String sseHead() {
        return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    }

    @Test
    void should_end_a_stream_that_stalls_forever_after_its_head_and_close_its_connection() throws Exception {
        RawUpstream u = upstream(c -> {
            c.read();
            c.write(sseHead() + "e\r\ndata: {\"a\":1}\n\r\n");
            c.awaitClose();
        });
        UpstreamResponse r = answer(post(client(), target(u, "/one", Duration.ofSeconds(5))));
        r.stream().bind(new EmbeddedChannel(new ChannelInboundHandlerAdapter()), WATCH, Duration.ofMillis(500));

        await().atMost(Duration.ofSeconds(10)).until(() -> drain(r.stream()) >= 0 && r.stream().ended().isDone());

        assertThat(r.stream().ended().join().outcome()).isEqualTo(Outcome.TIMEOUT);
        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
    }

    @Test
    void should_end_a_stream_reset_in_its_middle_as_an_upstream_error() throws Exception {
        RawUpstream u = upstream(c -> {
            c.read();
            c.write(sseHead() + "e\r\ndata: {\"a\":1}\n\r\n");
            c.socket.setSoLinger(true, 0);
            c.socket.close(); // RST
        });
        UpstreamClient client = client();
        UpstreamResponse r = answer(post(client, target(u, "/one", Duration.ofSeconds(5))));
        r.stream().bind(new EmbeddedChannel(new ChannelInboundHandlerAdapter()), WATCH, Duration.ofSeconds(30));

        await().atMost(Duration.ofSeconds(10)).until(() -> drain(r.stream()) >= 0 && r.stream().ended().isDone());

        assertThat(r.stream().ended().join().outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
    }

    @Test
    void should_stop_the_upstream_exchange_when_a_streams_caller_goes_away() throws Exception {
        CountDownLatch headSent = new CountDownLatch(1);
        RawUpstream u = upstream(c -> {
            c.read();
            c.write(sseHead());
            headSent.countDown();
            try {
                while (true) {
                    c.write("e\r\ndata: {\"a\":1}\n\r\n");
                    pause(5);
                }
            } catch (IOException e) {
                // the client closed the connection
            }
            c.awaitClose();
        });
        UpstreamResponse r = answer(post(client(), target(u, "/one", Duration.ofSeconds(5))));
        EmbeddedChannel caller = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        r.stream().bind(caller, WATCH, Duration.ofSeconds(30));
        drain(r.stream());

        caller.close();

        await().atMost(Duration.ofSeconds(5)).until(() -> u.peerClosed() == 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> r.stream().ended().isDone());
        assertThat(r.stream().ended().join().outcome()).isEqualTo(Outcome.CLIENT_ABORTED);
    }

    /** BREAK: a stream whose answer is framed by both lengths: its connection was reused. */
    @Test
    void should_never_reuse_the_connection_of_a_stream_with_content_length_and_transfer_encoding() throws Exception {
        RawUpstream u = upstream(c -> {
            if (c.index == 1) {
                c.read();
                c.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 5\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n" + "e\r\ndata: {\"a\":1}\n\r\n0\r\n\r\n");
            }
            echoPaths(c);
        });
        UpstreamClient client = client();
        CompletableFuture<UpstreamResponse> first = post(client, target(u, "/one", Duration.ofSeconds(5)));
        try {
            UpstreamResponse r = answer(first);
            r.stream().bind(new EmbeddedChannel(new ChannelInboundHandlerAdapter()), WATCH, Duration.ofSeconds(30));
            await().atMost(Duration.ofSeconds(10)).until(() -> drain(r.stream()) >= 0 && r.stream().ended().isDone());
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(GatewayException.class);
        }

        assertThat(text(answer(post(client, target(u, "/two", Duration.ofSeconds(5))))))
                .isEqualTo("answer to /two on 2");
    }
}
