package attest.identity;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Through the validator's original constructor and any key source: a verified token is trusted without a new
 * signature check for at most 60 s, so a key withdrawn from the source stops working within that time.
 */
class VerifiedTokenCacheTest {
    @Test
    void should_stop_trusting_a_cached_token_within_60_seconds_of_its_key_being_withdrawn() {
        TestTokens tokens = new TestTokens();
        FakeClock clock = new FakeClock(java.time.Instant.parse("2026-11-25T12:00:00Z"));
        AtomicReference<JWKSet> current = new AtomicReference<>(new JWKSet(List.of(tokens.rsa.toPublicJWK())));
        JWKSource<SecurityContext> source = (selector, context) -> selector.select(current.get());
        TokenValidator v = new TokenValidator(source, TestTokens.ISSUER, TestTokens.AUDIENCE, Duration.ofSeconds(30),
                clock);
        String t = tokens.rs256(TestTokens.claims("alice", List.of("inference-user"), clock.instant())
                .expirationTime(java.util.Date.from(clock.instant().plus(Duration.ofHours(8)))).build());
        assertThat(v.validate(t).username()).isEqualTo("alice");
        current.set(new JWKSet(List.of()));
        clock.advance(Duration.ofSeconds(61));
        assertThatThrownBy(() -> v.validate(t)).isInstanceOf(InvalidTokenException.class);
    }
}
