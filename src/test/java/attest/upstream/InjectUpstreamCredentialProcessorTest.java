package attest.upstream;

import attest.Exchanges;
import attest.http.BlockingStep;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import com.sun.net.httpserver.HttpServer;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.apache.camel.Exchange;
import org.apache.camel.component.netty.NettyConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Credential brokering with a short-lived upstream token: when a call has no usable token, the step that injects it
 * waits for the token endpoint, so (bound as {@code AttestConfiguration} binds it) it waits off the caller's event
 * loop, and the loop's other connections go on while the endpoint hangs.
 */
class InjectUpstreamCredentialProcessorTest {
    HttpServer tokenEndpoint;
    final CountDownLatch hang = new CountDownLatch(1);
    final NioEventLoopGroup loops = new NioEventLoopGroup(1);
    final ThreadPoolExecutor pool = BlockingStep.pool(2, 10);
    final DefaultCamelContext camel = new DefaultCamelContext();

    @BeforeEach
    void start() throws IOException {
        tokenEndpoint = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        tokenEndpoint.createContext("/token", ex -> {
            try {
                hang.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = "{\"access_token\":\"tok-1\",\"expires_in\":60}".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        tokenEndpoint.start();
    }

    @AfterEach
    void stop() {
        hang.countDown();
        tokenEndpoint.stop(0);
        pool.shutdownNow();
        loops.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }

    ChannelHandlerContext connection() throws InterruptedException {
        NioSocketChannel ch = new NioSocketChannel();
        ch.pipeline().addLast("caller", new ChannelInboundHandlerAdapter());
        loops.register(ch).sync();
        return ch.pipeline().context("caller");
    }

    @Test
    void should_wait_for_a_first_upstream_token_off_the_event_loop_while_the_loops_other_connections_go_on()
            throws Exception {
        var credential = new OAuth2ClientCredential(URI.create("http://127.0.0.1:"
                + tokenEndpoint.getAddress().getPort() + "/token"), "attest-gateway", "s3cret", "",
                Duration.ofSeconds(30), Clock.systemUTC());
        Upstream llm = new Upstream("llm", "/llm", URI.create("http://127.0.0.1:8000"), credential,
                Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1));
        var inject = new InjectUpstreamCredentialProcessor("X-Attest-Subject");
        BlockingStep bound = new BlockingStep(inject, inject::blocks, pool); // as AttestConfiguration binds it
        ChannelHandlerContext caller = connection();
        ChannelHandlerContext other = connection(); // another connection on the same loop
        assertThat(other.executor()).isSameAs(caller.executor());
        Exchange call = new DefaultExchange(camel);
        call.getMessage().setHeader(NettyConstants.NETTY_CHANNEL_HANDLER_CONTEXT, caller);
        call.setProperty(Exchanges.TARGET, new UpstreamTarget(llm, "/v1/chat/completions",
                URI.create("http://127.0.0.1:8000/v1/chat/completions")));
        ForwardHeaders headers = new ForwardHeaders(new ArrayList<>());
        call.setProperty(Exchanges.FORWARD_HEADERS, headers);
        call.setProperty(Exchanges.REQUEST_ID, "rid");
        CompletableFuture<Void> injected = new CompletableFuture<>();
        caller.executor().execute(() -> bound.process(call, sync -> injected.complete(null)));
        CompletableFuture<Boolean> unrelated = new CompletableFuture<>();
        other.executor().execute(() -> unrelated.complete(true));
        unrelated.get(1, TimeUnit.SECONDS); // a token fetch on the loop would stall this until the endpoint answers
        assertThat(injected).isNotDone();
        hang.countDown();
        injected.get(5, TimeUnit.SECONDS);
        assertThat(call.getException()).isNull();
        assertThat(headers.first("Authorization")).isEqualTo("Bearer tok-1");
        // with a usable token the step runs in place: no hand-off
        assertThat(inject.blocks(call)).isFalse();
    }
}
