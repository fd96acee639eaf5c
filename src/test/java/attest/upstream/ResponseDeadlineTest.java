package attest.upstream;

import attest.http.GatewayException;
import io.netty.channel.EventLoop;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static attest.upstream.UpstreamClientTest.BODY;
import static attest.upstream.UpstreamClientTest.answer;
import static attest.upstream.UpstreamClientTest.failure;
import static attest.upstream.UpstreamClientTest.fixed;
import static attest.upstream.UpstreamClientTest.headers;
import static attest.upstream.UpstreamClientTest.target;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The response deadline of a Netty call against the hand-over of an idle connection and the loops involved: a call
 * that times out before its idle connection reaches it leaves that connection healthy, back in the pool; a call whose
 * deadline sat on a caller's loop that stopped still ends. The connection's loop is held busy by the test (a latch),
 * so the order of events is the test's, not the machine's.
 */
class ResponseDeadlineTest {
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private EventLoop loop(String name) {
        NioEventLoopGroup g = new NioEventLoopGroup(1, new DefaultThreadFactory(name, true));
        closing.add(() -> g.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        return (EventLoop) g.next();
    }

    private UpstreamClient client() {
        UpstreamClient c = new UpstreamClient(Clock.systemUTC(), 1 << 20, UpstreamClient.DEFAULT_MAX_DECODED_BYTES,
                UpstreamClient.Kind.NETTY, 30_000);
        closing.add(c);
        return c;
    }

    /** An upstream that answers every request at once, except those for /silent (never, while the test runs). */
    private RawUpstream upstream() throws Exception {
        CountDownLatch over = new CountDownLatch(1);
        RawUpstream u = new RawUpstream(RawUpstream.each((c, r) -> {
            if (r.line().contains("/silent")) {
                over.await(30, TimeUnit.SECONDS);
            }
            c.write(fixed(200, "", "ok"));
        }));
        closing.add(u);
        closing.add(over::countDown);
        return u;
    }

    /** Holds the loop busy until the returned latch is counted down (at the latest when the test ends). */
    private CountDownLatch hold(EventLoop loop) throws InterruptedException {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        closing.add(gate::countDown);
        loop.execute(() -> {
            entered.countDown();
            try {
                gate.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        return gate;
    }

    private static CompletableFuture<UpstreamResponse> call(UpstreamClient c, RawUpstream u, String path,
                                                           Duration timeout, EventLoop near) {
        return c.callAsync(target("http://127.0.0.1:" + u.port(), path, timeout), "POST", headers(), BODY, false,
                near);
    }

    /**
     * The call (on another loop than its idle connection's, so the connection is to move to it) times out while the
     * connection's loop is busy; once that loop gets to the hand-over, the connection, never written on, goes back to
     * the pool, and the next call reuses it. It was closed (a new connection for the next call).
     */
    @Test
    void should_put_back_an_idle_connection_whose_call_timed_out_before_it_moved_over() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient client = client();
        EventLoop a = loop("caller-a");
        EventLoop b = loop("caller-b");
        assertThat(answer(call(client, u, "/first", Duration.ofSeconds(10), a)).status()).isEqualTo(200);
        assertThat(u.connections()).isEqualTo(1); // idle on a

        CountDownLatch gate = hold(a);
        GatewayException late = failure(call(client, u, "/second", Duration.ofMillis(200), b));
        assertThat(late.status()).isEqualTo(504);
        gate.countDown();
        a.submit(() -> { }).syncUninterruptibly(); // the hand-over has run on a

        assertThat(answer(call(client, u, "/third", Duration.ofSeconds(10), a)).status()).isEqualTo(200);
        assertThat(u.connections()).as("the third call reused the connection").isEqualTo(1);
        assertThat(u.requests).hasSize(2); // the timed-out call's request was never sent
    }

    /** The same when the call is not the caller's loop's (a held call's): the connection is reused where it is. */
    @Test
    void should_put_back_an_idle_connection_whose_call_timed_out_before_it_was_reused() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient client = client();
        EventLoop a = loop("caller-a");
        assertThat(answer(call(client, u, "/first", Duration.ofSeconds(10), a)).status()).isEqualTo(200);

        CountDownLatch gate = hold(a);
        GatewayException late = failure(call(client, u, "/second", Duration.ofMillis(200), null));
        assertThat(late.status()).isEqualTo(504);
        gate.countDown();
        a.submit(() -> { }).syncUninterruptibly();

        assertThat(answer(call(client, u, "/third", Duration.ofSeconds(10), null)).status()).isEqualTo(200);
        assertThat(u.connections()).as("the third call reused the connection").isEqualTo(1);
        assertThat(u.requests).hasSize(2);
    }

    /**
     * The call's deadline was on its caller's loop; that loop stops before the idle connection (on another loop) gets
     * to the call, which then goes on there, and the upstream never answers. The call still ends, with a 504 at its
     * deadline: it waited forever, its deadline gone with the stopped loop.
     */
    @Test
    void should_end_a_call_whose_callers_loop_stopped_while_its_connection_was_handed_over() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient client = client();
        EventLoop a = loop("caller-a");
        NioEventLoopGroup stopping = new NioEventLoopGroup(1, new DefaultThreadFactory("caller-stopping", true));
        closing.add(() -> stopping.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        EventLoop s = (EventLoop) stopping.next();
        assertThat(answer(call(client, u, "/first", Duration.ofSeconds(10), a)).status()).isEqualTo(200);

        CountDownLatch gate = hold(a);
        CompletableFuture<UpstreamResponse> silent = call(client, u, "/silent", Duration.ofMillis(300), s);
        assertThat(stopping.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS)).isTrue();
        gate.countDown();

        GatewayException late = failure(silent);
        assertThat(late.status()).isEqualTo(504);
    }

    /**
     * The same with no idle connection: the caller's loop stops while the upstream's name is resolved. The call ends
     * (its connection is made on a loop of the client's own), and its connection's permit is not lost with the loop:
     * the stopped loop refused the connection and told nobody, so the call ended only by its deadline and the
     * upstream's one permit was never given back.
     */
    @Test
    void should_end_a_call_whose_callers_loop_stopped_before_its_connection_was_made() throws Exception {
        RawUpstream u = upstream();
        UpstreamClient client = client();
        NioEventLoopGroup stopping = new NioEventLoopGroup(1, new DefaultThreadFactory("caller-stopping", true));
        closing.add(() -> stopping.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        EventLoop s = (EventLoop) stopping.next();
        // a name, not an address: it is resolved on the client's own threads, and the loop stops meanwhile
        NettyTransport transport = new NettyTransport(client, null);
        closing.add(transport);
        CountDownLatch resolvedMayGoOn = new CountDownLatch(1);
        closing.add(resolvedMayGoOn::countDown);
        CountDownLatch inHook = new CountDownLatch(1);
        transport.beforeOpen = () -> {
            inHook.countDown();
            try {
                resolvedMayGoOn.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        // one connection at most, no queue: a permit lost with the stopped loop would refuse the next call (503)
        String base = "http://localhost:" + u.port();
        attest.ingress.Upstream one = new attest.ingress.Upstream("one", "/one", java.net.URI.create(base),
                UpstreamCredential.NONE, Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(5), 1, 0);
        // called from a thread of its own: a name already resolved goes on to open() on the calling thread
        CompletableFuture<UpstreamResponse> call = CompletableFuture.supplyAsync(() -> transport.call(
                new attest.ingress.UpstreamTarget(one, "/first", java.net.URI.create(base + "/first")), "POST",
                headers(), BODY, false, s)).thenCompose(f -> f);
        assertThat(inHook.await(10, TimeUnit.SECONDS)).isTrue(); // resolved, about to connect
        assertThat(stopping.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS)).isTrue();
        resolvedMayGoOn.countDown();
        CompletableFuture<UpstreamResponse> ended = call.exceptionally(e -> null);
        UpstreamResponse r = ended.orTimeout(20, TimeUnit.SECONDS).join(); // it ends, answered or failed
        if (r != null) {
            assertThat(r.status()).isEqualTo(200); // made on a loop of the client's own instead
        } else {
            assertThat(failure(call).status()).isIn(502, 504);
        }
        transport.beforeOpen = null;
        assertThat(answer(transport.call(new attest.ingress.UpstreamTarget(one, "/next",
                java.net.URI.create(base + "/next")), "POST", headers(), BODY, false, null)).status()).isEqualTo(200);
    }
}
