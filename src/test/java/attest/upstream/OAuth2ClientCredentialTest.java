package attest.upstream;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The short-lived upstream token: fetched once, reused until shortly before expiry, then refreshed. */
class OAuth2ClientCredentialTest {
    HttpServer server;
    final AtomicInteger issued = new AtomicInteger();
    final AtomicReference<String> lastAuth = new AtomicReference<>();
    volatile int status = 200;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/token", ex -> {
            lastAuth.set(ex.getRequestHeaders().getFirst("Authorization"));
            int n = issued.incrementAndGet();
            byte[] body = ("{\"access_token\":\"tok-" + n + "\",\"expires_in\":60,\"token_type\":\"Bearer\"}")
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        var l = stall.get();
        if (l != null) {
            l.countDown(); // first: stopping waits for a handler that waits on it
        }
        server.stop(0);
    }

    static final class MovableClock extends Clock {
        Instant now = Instant.parse("2026-11-25T12:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void should_cache_the_token_until_shortly_before_expiry_then_refresh() {
        MovableClock clock = new MovableClock();
        OAuth2ClientCredential c = new OAuth2ClientCredential(URI.create("http://127.0.0.1:"
                + server.getAddress().getPort() + "/token"), "attest-gateway", "s3cret", "", Duration.ofSeconds(10), clock);
        assertThat(c.headerValue()).isEqualTo("Bearer tok-1");
        assertThat(c.headerValue()).isEqualTo("Bearer tok-1");
        clock.now = clock.now.plusSeconds(49);
        assertThat(c.headerValue()).isEqualTo("Bearer tok-1");
        clock.now = clock.now.plusSeconds(2); // 51 s: within 10 s of the 60 s expiry, a refresh in the background
        assertThat(c.headerValue()).isIn("Bearer tok-1", "Bearer tok-2");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> c.headerValue().equals("Bearer tok-2"));
        assertThat(issued.get()).isEqualTo(2);
        assertThat(lastAuth.get()).startsWith("Basic ");
        assertThat(c.describe()).doesNotContain("s3cret");
    }

    @Test
    void should_fail_closed_when_no_token_can_be_had() {
        status = 401;
        OAuth2ClientCredential c = new OAuth2ClientCredential(URI.create("http://127.0.0.1:"
                + server.getAddress().getPort() + "/token"), "attest-gateway", "wrong", "", Duration.ofSeconds(10),
                Clock.systemUTC());
        assertThatThrownBy(c::headerValue).isInstanceOf(OAuth2ClientCredential.UpstreamCredentialException.class)
                .hasMessageNotContaining("wrong");
    }

    /** The token endpoint, stalled: a request waits here until the test lets it go (Keycloak slow or blackholed). */
    final AtomicReference<java.util.concurrent.CountDownLatch> stall = new AtomicReference<>();

    OAuth2ClientCredential stallable(Clock clock) {
        server.removeContext("/token");
        server.createContext("/token", ex -> {
            var l = stall.get();
            if (l != null) {
                try {
                    l.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            int n = issued.incrementAndGet();
            byte[] body = ("{\"access_token\":\"tok-" + n + "\",\"expires_in\":60}").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        return new OAuth2ClientCredential(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/token"),
                "attest-gateway", "s3cret", "", Duration.ofSeconds(30), clock);
    }

    @Test
    void should_serve_the_current_token_while_its_refresh_hangs_and_fetch_it_once() throws Exception {
        MovableClock clock = new MovableClock();
        OAuth2ClientCredential c = stallable(clock);
        assertThat(c.blocks()).isTrue(); // no token yet: the first call waits (off the event loop)
        assertThat(c.headerValue()).isEqualTo("Bearer tok-1");
        assertThat(c.blocks()).isFalse();
        stall.set(new java.util.concurrent.CountDownLatch(1));
        clock.now = clock.now.plusSeconds(35); // within 30 s of expiry: refreshed in the background, and it hangs
        var callers = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<String>> calls = new java.util.ArrayList<>();
            for (int i = 0; i < 64; i++) {
                calls.add(callers.submit(c::headerValue));
            }
            for (var call : calls) {
                // a caller waiting for the hanging fetch (or for the lock a fetch holds) times out here
                assertThat(call.get(1, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("Bearer tok-1");
            }
            assertThat(c.blocks()).isFalse();
        } finally {
            callers.shutdownNow();
        }
        stall.get().countDown();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> c.headerValue().equals("Bearer tok-2"));
        assertThat(issued.get()).isEqualTo(2); // one refresh for 64 callers
        assertThat(c.fetches()).isEqualTo(2);
    }

    @Test
    void should_say_a_call_waits_only_when_no_token_is_usable() {
        MovableClock clock = new MovableClock();
        OAuth2ClientCredential c = stallable(clock);
        c.headerValue();
        clock.now = clock.now.plusSeconds(44); // 16 s before expiry: refreshing, still usable
        assertThat(c.blocks()).isFalse();
        status = 503; // the endpoint fails: so does the background refresh
        assertThat(c.headerValue()).isEqualTo("Bearer tok-1");
        clock.now = clock.now.plusSeconds(2); // 14 s before expiry: no longer usable
        assertThat(c.blocks()).isTrue();
    }
}
