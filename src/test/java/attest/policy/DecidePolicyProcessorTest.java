package attest.policy;

import attest.Exchanges;
import attest.http.BlockingStep;
import attest.http.InboundRequest;
import attest.identity.Identity;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import attest.rules.YamlTree;
import attest.upstream.UpstreamCredential;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.apache.camel.Exchange;
import org.apache.camel.component.netty.NettyConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A policy rule's requests-per-minute is counted in PostgreSQL (the shipped policy has one on chat): deciding such a
 * call may block, so the step, bound as {@code AttestConfiguration} binds it, runs off the caller's event loop and
 * the loop's other connections go on meanwhile. A call whose rule counts nothing in the store decides in place.
 */
class DecidePolicyProcessorTest {
    static final String POLICY = """
            rules:
              - id: chat
                decision: ALLOW
                reason: inference users may chat
                match:
                  roles: [inference-user]
                  upstreams: [llm]
                  methods: [POST]
                  paths: [/v1/chat/completions]
                limits:
                  requests-per-minute: 100000
              - id: models
                decision: ALLOW
                reason: inference users may list models
                match:
                  roles: [inference-user]
                  upstreams: [llm]
                  methods: [GET]
                  paths: [/v1/models]
            """;
    static final Upstream LLM = new Upstream("llm", "/llm", URI.create("http://127.0.0.1:8000"), UpstreamCredential.NONE,
            Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1));
    static final Identity ALICE = new Identity("sub-alice", "alice", Identity.USER, "attest-cli",
            List.of("inference-user"), List.of(), "jti", "iss", null);

    static NioEventLoopGroup loops;
    static DefaultCamelContext camel;
    final ThreadPoolExecutor pool = BlockingStep.pool(2, 10);
    /** The store, stalled (PostgreSQL slow): every count waits here. */
    final CountDownLatch store = new CountDownLatch(1);
    final AtomicInteger counted = new AtomicInteger();

    @BeforeAll
    static void up() {
        loops = new NioEventLoopGroup(1);
        camel = new DefaultCamelContext();
    }

    @AfterAll
    static void down() {
        loops.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }

    @AfterEach
    void release() {
        store.countDown();
        pool.shutdownNow();
    }

    /** A limiter in the store, as SharedRateLimiter is, with nothing taken ahead. */
    final RateLimiter stalledStore = new RateLimiter() {
        @Override
        public long acquire(String key, long perMinute) {
            counted.incrementAndGet();
            try {
                store.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }

        @Override
        public boolean blocks(String key, long perMinute) {
            return true;
        }
    };

    final DecidePolicyProcessor decide = new DecidePolicyProcessor(new PolicyEngine(
            PolicyFile.parse(YamlTree.parse("policy.yaml", POLICY), Set.of("llm")), stalledStore));
    /** The step as AttestConfiguration binds it. */
    final BlockingStep bound = new BlockingStep(decide, decide::blocks, pool);

    Exchange call(ChannelHandlerContext ctx, String method, String path) {
        Exchange e = new DefaultExchange(camel);
        e.getMessage().setHeader(NettyConstants.NETTY_CHANNEL_HANDLER_CONTEXT, ctx);
        e.setProperty(Exchanges.INBOUND, new InboundRequest(method, "/llm" + path, List.of(), new byte[0], "127.0.0.1"));
        e.setProperty(Exchanges.TARGET, new UpstreamTarget(LLM, path, URI.create("http://127.0.0.1:8000" + path)));
        e.setProperty(Exchanges.IDENTITY, ALICE);
        e.setProperty(Exchanges.FACTS, new RequestFacts("demo", 16L, false, 0));
        return e;
    }

    ChannelHandlerContext connection() throws InterruptedException {
        NioSocketChannel ch = new NioSocketChannel();
        ch.pipeline().addLast("caller", new ChannelInboundHandlerAdapter());
        loops.register(ch).sync();
        return ch.pipeline().context("caller");
    }

    @Test
    void should_count_a_rule_limit_off_the_event_loop_while_the_loops_other_connections_go_on() throws Exception {
        ChannelHandlerContext caller = connection();
        ChannelHandlerContext other = connection(); // another connection on the same loop
        assertThat(other.executor()).isSameAs(caller.executor());
        Exchange limited = call(caller, "POST", "/v1/chat/completions");
        CompletableFuture<Void> decided = new CompletableFuture<>();
        caller.executor().execute(() -> bound.process(limited, sync -> decided.complete(null)));
        // the other connection is served while the count waits for the store
        CompletableFuture<Decision> unrelated = new CompletableFuture<>();
        other.executor().execute(() -> unrelated.complete(new Decision(Verdict.ALLOW, "x", "y", 200, 0)));
        unrelated.get(1, TimeUnit.SECONDS); // a count on the loop would stall this until the store answers
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> counted.get() == 1);
        assertThat(decided).isNotDone();
        store.countDown();
        decided.get(5, TimeUnit.SECONDS);
        assertThat(limited.getProperty(Exchanges.DECISION, Decision.class).verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(decide.blocks(limited)).isTrue();
    }

    @Test
    void should_decide_in_place_when_the_rule_counts_nothing_in_the_store() throws Exception {
        Exchange models = call(connection(), "GET", "/v1/models");
        assertThat(decide.blocks(models)).isFalse();
        // an in-memory limiter never blocks, whatever the rule
        DecidePolicyProcessor inMemory = new DecidePolicyProcessor(new PolicyEngine(PolicyFile.parse(
                YamlTree.parse("policy.yaml", POLICY), Set.of("llm")), RateLimiter.inMemory(java.time.Clock.systemUTC())));
        assertThat(inMemory.blocks(call(connection(), "POST", "/v1/chat/completions"))).isFalse();
        // no identity yet (refused earlier): nothing to count
        Exchange anonymous = call(connection(), "POST", "/v1/chat/completions");
        anonymous.removeProperty(Exchanges.IDENTITY);
        assertThat(decide.blocks(anonymous)).isFalse();
    }
}
