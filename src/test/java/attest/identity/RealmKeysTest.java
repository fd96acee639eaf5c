package attest.identity;

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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Key rotation without a restart, and a cooldown that keeps made-up kids from hammering the JWKS endpoint. */
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
        return new TokenValidator(RealmKeys.fromJwksUri(url, Duration.ofMinutes(5), cooldown, Duration.ofSeconds(2)),
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
        // within the refresh cooldown after the first fetch the new kid is still unknown (401): retry until it is not
        await().atMost(Duration.ofSeconds(5)).ignoreExceptionsInstanceOf(InvalidTokenException.class).untilAsserted(() ->
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
            assertThatThrownBy(() -> v.validate(forged)).isInstanceOf(InvalidTokenException.class);
        }
        assertThat(fetches.get() - before).isLessThanOrEqualTo(1);
    }

    private com.nimbusds.jose.jwk.JWK newKeysWithKid(String kid) throws com.nimbusds.jose.JOSEException {
        return new com.nimbusds.jose.jwk.RSAKey.Builder(newKeys.rsa.toRSAPublicKey()).keyID(kid).build();
    }
}
