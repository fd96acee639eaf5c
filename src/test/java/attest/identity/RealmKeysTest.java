package attest.identity;

import attest.http.GatewayException;
import com.nimbusds.jose.jwk.JWKSet;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.ArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/**
 * Key rotation without a restart, a cooldown that keeps made-up kids from hammering the JWKS endpoint, and fetches
 * that never hold up a caller: a fetch that hangs (a latch, or a real endpoint that accepts and never answers) does
 * not delay a call while usable keys exist.
 */
class RealmKeysTest {
    HttpServer server;
    final AtomicReference<JWKSet> served = new AtomicReference<>();
    final AtomicInteger fetches = new AtomicInteger();
    final TestTokens oldKeys = new TestTokens();
    final TestTokens newKeys = new TestTokens();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/certs", ex -> {
            fetches.incrementAndGet();
            byte[] body = served.get().toString(true).getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        served.set(new JWKSet(List.of(oldKeys.rsa.toPublicJWK())));
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    TokenValidator validator(Duration cooldown) {
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/certs";
        RealmKeys keys = RealmKeys.fromJwksUri(url, Duration.ofMinutes(5), cooldown, Duration.ofSeconds(2));
        assertThat(keys.prime()).isTrue(); // as the gateway does before serving
        return new TokenValidator(keys,
                TestTokens.ISSUER, TestTokens.AUDIENCE, Duration.ofSeconds(30), Clock.systemUTC());
    }

    @Test
    void should_pick_up_a_rotated_key_without_restart() throws Exception {
        TokenValidator v = validator(Duration.ofMillis(300));
        assertThat(v.validate(oldKeys.user("alice", List.of("inference-user"))).username()).isEqualTo("alice");
        // Keycloak rotates: the new key (new kid) signs from now on
        served.set(new JWKSet(List.of(oldKeys.rsa.toPublicJWK(), newKeysWithKid("rsa-2"))));
        String rotated = newKeys.rs256(TestTokens.claims("alice", List.of("inference-user"), java.time.Instant.now())
                .build(), h -> h.keyID("rsa-2"));
        // within the refresh cooldown after the first fetch the new kid is still unknown (401), and while the fetch
        // it starts runs it is refused as retryable (503 keys_refreshing): retry until it is accepted
        await().atMost(Duration.ofSeconds(5)).ignoreExceptionsInstanceOf(GatewayException.class).untilAsserted(() ->
                assertThat(v.validate(rotated).username()).isEqualTo("alice"));
    }

    @Test
    void should_not_refetch_keys_for_every_unknown_kid() {
        TokenValidator v = validator(Duration.ofSeconds(30));
        v.validate(oldKeys.user("alice", List.of("inference-user")));
        int before = fetches.get();
        for (int i = 0; i < 50; i++) {
            String forged = oldKeys.rs256(TestTokens.claims("alice", List.of(), java.time.Instant.now()).build(),
                    h -> h.keyID("made-up-" + System.nanoTime()));
            assertThatThrownBy(() -> v.validate(forged)).isInstanceOf(GatewayException.class);
        }
        assertThat(fetches.get() - before).isLessThanOrEqualTo(1);
    }

    // --- fetches that hang: nobody waits for them -------------------------------------------------------------

    final FakeClock clock = new FakeClock(java.time.Instant.parse("2026-11-30T12:00:00Z"));
    final AtomicReference<JWKSet> realm = new AtomicReference<>(new JWKSet(List.of(oldKeys.rsa.toPublicJWK())));
    final AtomicInteger realmFetches = new AtomicInteger();
    /** While set, a fetch hangs on it (Keycloak slow or blackholed). */
    final AtomicReference<CountDownLatch> hang = new AtomicReference<>();
    final ExecutorService callers = Executors.newFixedThreadPool(8);

    @AfterEach
    void release() {
        CountDownLatch l = hang.get();
        if (l != null) {
            l.countDown();
        }
        callers.shutdownNow();
    }

    /** The shipped defaults (keys 5 min, cooldown 10 s, stale keys 1 h) with fetches on a thread of their own. */
    RealmKeys hangingRealm() {
        RealmKeys keys = new RealmKeys(() -> {
            realmFetches.incrementAndGet();
            CountDownLatch l = hang.get();
            if (l != null) {
                try {
                    l.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            return realm.get();
        }, Duration.ofMinutes(5), Duration.ofSeconds(10), Duration.ofHours(1), clock, RealmKeys.fetchThread(),
                Duration.ofSeconds(3));
        assertThat(keys.prime()).isTrue();
        return keys;
    }

    TokenValidator validator(RealmKeys keys) {
        return new TokenValidator(keys, TestTokens.ISSUER, TestTokens.AUDIENCE, Duration.ofSeconds(30), clock);
    }

    String token(TestTokens by, String kid) {
        return by.rs256(TestTokens.claims("alice", List.of("inference-user"), clock.instant()).build(),
                h -> h.keyID(kid));
    }

    /** Runs {@code call} on 8 threads at once and fails if any of them has not returned within a second. */
    void eachReturnsAtOnce(int times, java.util.function.IntConsumer call) throws Exception {
        List<Future<?>> running = new ArrayList<>();
        for (int i = 0; i < times; i++) {
            int n = i;
            running.add(callers.submit(() -> call.accept(n)));
        }
        for (Future<?> f : running) {
            f.get(1, TimeUnit.SECONDS); // a caller waiting for the hanging fetch times out here
        }
    }

    @Test
    void should_answer_from_the_cached_keys_while_a_refresh_hangs() throws Exception {
        RealmKeys keys = hangingRealm();
        TokenValidator v = validator(keys);
        String seen = by(oldKeys, Duration.ofHours(10));
        v.validate(seen);
        hang.set(new CountDownLatch(1));
        clock.advance(Duration.ofMinutes(6)); // the keys' cache time is over: a refresh is due, and it hangs
        eachReturnsAtOnce(64, i -> {
            // a token never seen (its signature checked against the keys) and a cached one (its kid checked)
            assertThat(v.validate(token(oldKeys, "rsa-1")).username()).isEqualTo("alice");
            assertThat(v.validate(seen).username()).isEqualTo("alice");
        });
        assertThat(keys.refreshing()).isTrue();
        assertThat(realmFetches.get()).isEqualTo(2); // the start-up fetch and one refresh, still hanging
        hang.get().countDown();
        await().atMost(Duration.ofSeconds(5)).until(() -> !keys.refreshing());
    }

    @Test
    void should_fetch_at_most_once_per_cooldown_under_a_flood_of_unknown_kids_and_never_wait_for_it() throws Exception {
        RealmKeys keys = hangingRealm();
        TokenValidator v = validator(keys);
        hang.set(new CountDownLatch(1));
        clock.advance(Duration.ofSeconds(11)); // past the cooldown of the start-up fetch
        java.util.function.IntConsumer forged = i -> assertThatThrownBy(() -> v.validate(token(oldKeys, "made-up-" + i)))
                .isInstanceOf(GatewayException.class);
        eachReturnsAtOnce(200, forged); // the first starts a fetch that hangs; none waits for it
        assertThat(realmFetches.get()).isEqualTo(2);
        hang.get().countDown();
        await().atMost(Duration.ofSeconds(5)).until(() -> !keys.refreshing());
        // the fetch landed; within the cooldown: refused at once (401), no fetch
        clock.advance(Duration.ofSeconds(9));
        eachReturnsAtOnce(200, i -> assertThatThrownBy(() -> v.validate(token(oldKeys, "made-up-" + i)))
                .isInstanceOf(InvalidTokenException.class));
        assertThat(realmFetches.get()).isEqualTo(2);
        // past the cooldown: one more fetch for the next flood
        clock.advance(Duration.ofSeconds(2));
        eachReturnsAtOnce(200, forged);
        await().atMost(Duration.ofSeconds(5)).until(() -> !keys.refreshing());
        assertThat(realmFetches.get()).isEqualTo(3);
    }

    @Test
    void should_refuse_a_rotated_kid_as_retryable_while_its_fetch_runs_and_accept_it_once_it_lands() throws Exception {
        RealmKeys keys = hangingRealm();
        TokenValidator v = validator(keys);
        realm.set(new JWKSet(List.of(oldKeys.rsa.toPublicJWK(), newKeysWithKid("rsa-2"))));
        hang.set(new CountDownLatch(1));
        clock.advance(Duration.ofSeconds(11)); // past the cooldown of the start-up fetch
        String rotated = token(newKeys, "rsa-2");
        // answered at once (a caller that waited for the fetch would time out here)
        Throwable thrown = catchThrowable(() -> callers.submit(() -> v.validate(rotated)).get(1, TimeUnit.SECONDS));
        assertThat(thrown).isInstanceOf(java.util.concurrent.ExecutionException.class)
                .cause().isInstanceOf(RealmKeys.KeysRefreshingException.class);
        var refusal = (RealmKeys.KeysRefreshingException) thrown.getCause();
        assertThat(refusal.status()).isEqualTo(503);
        assertThat(refusal.code()).isEqualTo("keys_refreshing");
        assertThat(refusal.headers()).containsEntry("Retry-After", "1");
        assertThat(refusal.landed().toCompletableFuture()).isNotDone();
        hang.get().countDown();
        refusal.landed().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(v.validate(rotated).username()).isEqualTo("alice");
    }

    @Test
    void should_stop_a_removed_key_once_the_background_refresh_has_landed() {
        RealmKeys keys = hangingRealm();
        TokenValidator v = validator(keys);
        String t = by(oldKeys, Duration.ofHours(10));
        v.validate(t);
        realm.set(new JWKSet(List.of()));
        clock.advance(Duration.ofMinutes(6));
        await().atMost(Duration.ofSeconds(5)).ignoreExceptionsInstanceOf(AssertionError.class).untilAsserted(() ->
                assertThatThrownBy(() -> v.validate(t)).isInstanceOf(InvalidTokenException.class));
        assertThat(realmFetches.get()).isEqualTo(2);
    }

    private String by(TestTokens keysOf, Duration lifetime) {
        return keysOf.rs256(TestTokens.claims("alice", List.of("inference-user"), clock.instant())
                .expirationTime(java.util.Date.from(clock.instant().plus(lifetime))).build());
    }

    @Test
    void should_not_delay_a_valid_token_while_the_jwks_endpoint_accepts_and_never_answers() throws Exception {
        // a real endpoint: the first request is answered, every later connection is accepted and left hanging
        try (var blackhole = new BlackholeAfterFirst(realm.get())) {
            RealmKeys keys = RealmKeys.fromJwksUri(blackhole.url(), Duration.ofMinutes(5), Duration.ofSeconds(10),
                    Duration.ofSeconds(20), Duration.ofHours(1), clock);
            assertThat(keys.prime()).isTrue();
            TokenValidator v = validator(keys);
            clock.advance(Duration.ofMinutes(6));
            long start = System.nanoTime();
            eachReturnsAtOnce(64, i -> assertThat(v.validate(token(oldKeys, "rsa-1")).username()).isEqualTo("alice"));
            // an unknown kid: refused at once as retryable while the fetch hangs, not after its 20 s timeout
            assertThatThrownBy(() -> v.validate(token(newKeys, "rsa-2")))
                    .isInstanceOf(RealmKeys.KeysRefreshingException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
            await().atMost(Duration.ofSeconds(5)).until(() -> blackhole.hanging.get() == 1);
            assertThat(keys.refreshing()).isTrue();
        }
    }

    /** Answers the first request with the keys, then accepts connections and never answers them. */
    static final class BlackholeAfterFirst implements AutoCloseable {
        final java.net.ServerSocket socket = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getLoopbackAddress());
        final AtomicInteger hanging = new AtomicInteger();
        final List<java.net.Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        final Thread acceptor;

        BlackholeAfterFirst(JWKSet keys) throws IOException {
            byte[] body = keys.toString(true).getBytes(StandardCharsets.UTF_8);
            acceptor = new Thread(() -> {
                boolean first = true;
                while (!socket.isClosed()) {
                    try {
                        java.net.Socket s = socket.accept();
                        if (first) {
                            first = false;
                            readHead(s);
                            s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n")
                                    .getBytes(StandardCharsets.ISO_8859_1));
                            s.getOutputStream().write(body);
                            s.close();
                        } else {
                            held.add(s);
                            hanging.incrementAndGet();
                        }
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "jwks-blackhole");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        private static void readHead(java.net.Socket s) throws IOException {
            var in = s.getInputStream();
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) {
                    return;
                }
                matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
            }
        }

        String url() {
            return "http://127.0.0.1:" + socket.getLocalPort() + "/certs";
        }

        @Override
        public void close() throws IOException {
            socket.close();
            for (java.net.Socket s : held) {
                s.close();
            }
        }
    }

    private com.nimbusds.jose.jwk.JWK newKeysWithKid(String kid) throws com.nimbusds.jose.JOSEException {
        return new com.nimbusds.jose.jwk.RSAKey.Builder(newKeys.rsa.toRSAPublicKey()).keyID(kid).build();
    }
}
