package attest.upstream;

import attest.Exchanges;
import attest.bench.SlowUpstream;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.evidence.Outcome;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.netty.NettyConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The upstream call holds no thread while the upstream thinks: the routing thread is given back at once, the
 * route goes on when the answer arrives, a deadline still bounds it, and a caller who leaves cancels it.
 */
class CallUpstreamProcessorTest {
    static final byte[] PLAIN = "{\"model\":\"slow\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    static final byte[] STREAMED = "{\"model\":\"slow\",\"stream\": true,\"messages\":[]}".getBytes(StandardCharsets.UTF_8);

    CamelContext camel;
    SlowUpstream upstream;
    ExecutorService continuation;
    UpstreamClient client;
    CallUpstreamProcessor processor;

    /** The transport under test; {@link CallUpstreamProcessorJdkTest} runs the same cases over the JDK client. */
    UpstreamClient.Kind kind() {
        return UpstreamClient.Kind.NETTY;
    }

    @BeforeEach
    void start() throws Exception {
        camel = new DefaultCamelContext();
        upstream = new SlowUpstream(0, 1, 60_000, 60_000, 50);
        continuation = Executors.newFixedThreadPool(2, r -> new Thread(r, "test-continuation"));
        client = new UpstreamClient(Clock.systemUTC(), 1 << 20, UpstreamClient.DEFAULT_MAX_DECODED_BYTES, kind());
        processor = new CallUpstreamProcessor(client, continuation);
    }

    @AfterEach
    void stop() {
        upstream.close();
        continuation.shutdownNow();
        client.close();
    }

    Exchange exchange(byte[] body, Duration responseTimeout) {
        Upstream up = new Upstream("slow", "/slow", URI.create(upstream.baseUrl()), UpstreamCredential.NONE,
                Duration.ofSeconds(2), responseTimeout, Duration.ofSeconds(5));
        Exchange e = new DefaultExchange(camel);
        e.setProperty(Exchanges.INBOUND, new InboundRequest("POST", "/slow/v1/chat/completions",
                List.of(Map.entry("Content-Type", "application/json")), body, "127.0.0.1"));
        e.setProperty(Exchanges.TARGET, new UpstreamTarget(up, "/v1/chat/completions",
                URI.create(upstream.baseUrl() + "/v1/chat/completions")));
        e.setProperty(Exchanges.FORWARD_HEADERS, new ForwardHeaders(List.of(Map.entry("Content-Type",
                "application/json"))));
        return e;
    }

    @Test
    void should_give_the_routing_thread_back_while_the_upstream_thinks() {
        upstream.answerDelay(500);
        Exchange e = exchange(PLAIN, Duration.ofSeconds(10));
        AtomicReference<String> continuedOn = new AtomicReference<>();

        boolean sync = processor.process(e, doneSync -> continuedOn.set(Thread.currentThread().getName()));

        assertThat(sync).isFalse();
        assertThat(continuedOn.get()).as("nothing waited for the upstream").isNull();
        await().atMost(Duration.ofSeconds(5)).until(() -> continuedOn.get() != null);
        assertThat(continuedOn.get()).isEqualTo("test-continuation");
        assertThat(e.getException()).isNull();
        UpstreamResponse answer = e.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(new String(answer.body(), StandardCharsets.UTF_8)).contains("Thought about it");
    }

    @Test
    void should_hold_hundreds_of_calls_in_flight_from_one_thread_without_a_thread_each() {
        upstream.answerDelay(3_000);
        int calls = 400;
        int threadsBefore = Thread.activeCount();
        AtomicInteger done = new AtomicInteger();
        List<Exchange> exchanges = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            Exchange e = exchange(PLAIN, Duration.ofSeconds(20));
            exchanges.add(e);
            assertThat(processor.process(e, doneSync -> done.incrementAndGet())).isFalse();
        }

        await().atMost(Duration.ofSeconds(15)).until(() -> upstream.inFlight() == calls);
        // a thread per call would add 400; the bound leaves room for threads other tests of this JVM start or end
        // meanwhile (Thread.activeCount counts the whole JVM: the full suite once saw 41 against a bound of 40)
        assertThat(Thread.activeCount() - threadsBefore).as("threads added while %d calls are in flight", calls)
                .isLessThan(calls / 4);
        assertThat(done.get()).isZero();
        await().atMost(Duration.ofSeconds(20)).until(() -> done.get() == calls);
        assertThat(exchanges).allSatisfy(e -> {
            assertThat(e.getException()).isNull();
            assertThat(e.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class).status()).isEqualTo(200);
        });
    }

    @Test
    void should_answer_504_past_the_response_timeout_and_abort_the_upstream_exchange() {
        upstream.answerDelay(30_000);
        Exchange e = exchange(PLAIN, Duration.ofMillis(300));
        AtomicBoolean done = new AtomicBoolean();

        assertThat(processor.process(e, doneSync -> done.set(true))).isFalse();

        await().atMost(Duration.ofSeconds(5)).untilTrue(done);
        assertThat(e.getException()).isInstanceOfSatisfying(GatewayException.class, g -> {
            assertThat(g.status()).isEqualTo(504);
            assertThat(g.outcome()).isEqualTo(Outcome.TIMEOUT);
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> upstream.abandoned() == 1);
    }

    @Test
    void should_cancel_the_upstream_call_when_the_caller_goes_away() {
        upstream.answerDelay(30_000);
        EmbeddedChannel caller = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        ChannelHandlerContext ctx = caller.pipeline().firstContext();
        Exchange e = exchange(PLAIN, Duration.ofSeconds(60));
        e.getMessage().setHeader(NettyConstants.NETTY_CHANNEL_HANDLER_CONTEXT, ctx);
        AtomicBoolean done = new AtomicBoolean();

        assertThat(processor.process(e, doneSync -> done.set(true))).isFalse();
        await().atMost(Duration.ofSeconds(5)).until(() -> upstream.inFlight() == 1);
        caller.close();

        await().atMost(Duration.ofSeconds(5)).until(() -> upstream.abandoned() == 1);
        // the route goes on on the caller's own channel thread (here the embedded loop, run by hand)
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            caller.runPendingTasks();
            return done.get();
        });
        assertThat(e.getException()).isInstanceOfSatisfying(GatewayException.class,
                g -> assertThat(g.outcome()).isEqualTo(Outcome.CLIENT_ABORTED));
    }

    @Test
    void should_go_on_at_a_streams_head_with_the_live_relay_long_before_it_ends() {
        upstream.stream(30_000, 50);
        Exchange e = exchange(STREAMED, Duration.ofSeconds(10));
        AtomicBoolean done = new AtomicBoolean();

        assertThat(processor.process(e, doneSync -> done.set(true))).isFalse();

        await().atMost(Duration.ofSeconds(5)).untilTrue(done);
        UpstreamResponse answer = e.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class);
        assertThat(answer.streaming()).isTrue();
        assertThat(answer.stream().ended()).isNotDone();
        answer.stream().abort(Outcome.CLIENT_ABORTED);
        assertThat(answer.stream().ended().join().outcome()).isEqualTo(Outcome.CLIENT_ABORTED);
        await().atMost(Duration.ofSeconds(5)).until(() -> upstream.abandoned() == 1);
    }

    @Test
    void should_fail_with_502_at_once_when_the_upstream_refuses_connections() throws Exception {
        int port = upstream.port();
        upstream.close();
        Upstream up = new Upstream("gone", "/gone", URI.create("http://127.0.0.1:" + port), UpstreamCredential.NONE,
                Duration.ofSeconds(2), Duration.ofSeconds(10), Duration.ofSeconds(5));
        Exchange e = exchange(PLAIN, Duration.ofSeconds(10));
        e.setProperty(Exchanges.TARGET, new UpstreamTarget(up, "/v1/chat/completions",
                URI.create("http://127.0.0.1:" + port + "/v1/chat/completions")));
        AtomicBoolean done = new AtomicBoolean();

        processor.process(e, doneSync -> done.set(true));

        await().atMost(Duration.ofSeconds(5)).untilTrue(done);
        assertThat(e.getException()).isInstanceOfSatisfying(GatewayException.class, g -> {
            assertThat(g.status()).isEqualTo(502);
            assertThat(g.getMessage()).doesNotContain("127.0.0.1").doesNotContain(String.valueOf(port));
        });
        upstream = new SlowUpstream(0, 1, 0, 0, 1); // for stop()
    }
}
