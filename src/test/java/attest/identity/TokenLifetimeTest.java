package attest.identity;

import attest.http.GatewayException;
import com.nimbusds.jose.jwk.JWKSet;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * How long a token stays good once its key is gone, with a fake clock and an in-memory JWKS: the verified-token
 * cache, key removal, Keycloak unreachable, and the gateway's own service account as a caller.
 */
class TokenLifetimeTest {
    static final Instant T0 = Instant.parse("2026-11-25T12:00:00Z");

    final TestTokens tokens = new TestTokens();
    final FakeClock clock = new FakeClock(T0);
    final AtomicReference<JWKSet> jwks = new AtomicReference<>(new JWKSet(List.of(tokens.rsa.toPublicJWK())));
    final AtomicBoolean keycloakDown = new AtomicBoolean();
    final AtomicInteger fetches = new AtomicInteger();
    // the shipped defaults: keys cached 5 min, refresh cooldown 10 s, stale keys kept 1 h, tokens cached 60 s
    final RealmKeys keys = new RealmKeys(() -> {
        fetches.incrementAndGet();
        if (keycloakDown.get()) {
            throw new IOException("connection refused");
        }
        return jwks.get();
    }, Duration.ofMinutes(5), Duration.ofSeconds(10), Duration.ofHours(1), clock);
    final TokenValidator validator = new TokenValidator(keys, TestTokens.ISSUER, TestTokens.AUDIENCE,
            Duration.ofSeconds(30), clock, Duration.ofSeconds(60), Set.of("attest-gateway"));

    String token(Duration lifetime) {
        return tokens.rs256(TestTokens.claims("alice", List.of("inference-user"), clock.instant())
                .expirationTime(java.util.Date.from(clock.instant().plus(lifetime))).build());
    }

    @Test
    void should_stop_accepting_a_cached_token_once_its_key_is_removed_from_the_realm() {
        String t = token(Duration.ofHours(10));
        assertThat(validator.validate(t).username()).isEqualTo("alice");
        // the realm removes the key; the token is still in the verified cache
        jwks.set(new JWKSet(List.of()));
        clock.advance(Duration.ofSeconds(30));
        assertThat(validator.validate(t).username()).isEqualTo("alice");
        // the keys' cache time is over: they are fetched again, the kid is gone, the cached token is dropped
        clock.advance(Duration.ofMinutes(5));
        assertThatThrownBy(() -> validator.validate(t)).isInstanceOf(InvalidTokenException.class);
    }

    @Test
    void should_verify_a_cached_token_again_after_the_cache_ttl() {
        String t = token(Duration.ofHours(10));
        validator.validate(t);
        // the realm replaces the key under the same kid: the kid check cannot see it, only a new verification can
        jwks.set(new JWKSet(List.of(new TestTokens().rsa.toPublicJWK())));
        clock.advance(Duration.ofSeconds(59));
        assertThat(validator.validate(t).username()).isEqualTo("alice");
        clock.advance(Duration.ofMinutes(5));
        assertThatThrownBy(() -> validator.validate(t)).isInstanceOf(InvalidTokenException.class);
    }

    @Test
    void should_keep_keys_through_a_short_outage_and_fail_closed_past_the_max_age() {
        String t = token(Duration.ofHours(10));
        validator.validate(t);
        keycloakDown.set(true);
        // within the hour: the last keys still verify, including tokens never seen before
        clock.advance(Duration.ofMinutes(30));
        assertThat(validator.validate(token(Duration.ofHours(10))).username()).isEqualTo("alice");
        assertThat(validator.validate(t).username()).isEqualTo("alice");
        // past the hour since the last successful fetch: 503, for cached and new tokens alike
        clock.advance(Duration.ofMinutes(31));
        assertThatThrownBy(() -> validator.validate(t)).isInstanceOf(RealmKeys.KeysUnavailableException.class)
                .satisfies(e -> assertThat(((GatewayException) e).status()).isEqualTo(503));
        String fresh = token(Duration.ofHours(10));
        assertThatThrownBy(() -> validator.validate(fresh)).isInstanceOf(RealmKeys.KeysUnavailableException.class);
        // Keycloak back: after the cooldown the keys refresh and tokens verify again
        keycloakDown.set(false);
        clock.advance(Duration.ofSeconds(11));
        assertThat(validator.validate(fresh).username()).isEqualTo("alice");
    }

    @Test
    void should_not_keep_a_removed_key_forever_while_keycloak_is_unreachable() {
        String t = token(Duration.ofDays(30));
        validator.validate(t);
        keycloakDown.set(true);
        for (int hour = 0; hour < 24; hour++) {
            clock.advance(Duration.ofMinutes(59));
        }
        assertThatThrownBy(() -> validator.validate(t)).isInstanceOf(GatewayException.class);
    }

    @Test
    void should_refuse_the_gateways_own_service_account_and_listed_clients_as_callers() {
        var sa = TestTokens.claims("service-account-attest-gateway", List.of("inference-user"), clock.instant())
                .audience(List.of("account")).claim("azp", "attest-gateway");
        assertThatThrownBy(() -> validator.validate(tokens.rs256(sa.build()))).isInstanceOf(InvalidTokenException.class)
                .satisfies(e -> assertThat(((InvalidTokenException) e).reason()).isEqualTo("client not allowed as a caller"));
        // aud naming the gateway does not help, nor does a client_id claim with another azp
        assertThatThrownBy(() -> validator.validate(tokens.rs256(sa.audience(List.of("attest-gateway")).build())))
                .isInstanceOf(InvalidTokenException.class);
        var viaClientId = TestTokens.claims("x", List.of("inference-user"), clock.instant())
                .claim("client_id", "attest-gateway");
        assertThatThrownBy(() -> validator.validate(tokens.rs256(viaClientId.build())))
                .isInstanceOf(InvalidTokenException.class);
        // an ordinary user token still passes
        assertThat(validator.validate(token(Duration.ofMinutes(5))).clientId()).isEqualTo("attest-cli");
    }
}
