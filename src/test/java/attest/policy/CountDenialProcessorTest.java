package attest.policy;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Credential;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which answers count against their caller towards {@code too_many_denials} (CountDenialProcessor): a refusal of the
 * caller's request counts; the gateway's or the upstream's failure does not, and neither does a call told to wait
 * for its own earlier calls (429 {@code too_many_held_calls}: a caller with many calls waiting for approval is not
 * attacking, and must not be locked out of the calls it may still make).
 */
class CountDenialProcessorTest {
    static final long NOW = 1_764_590_430_000L;

    static Stream<Arguments> table() {
        return Stream.of(
                // status, the error that ended the call (null: a policy denial rendered by policy-deny), counted
                Arguments.of(403, null, true),
                Arguments.of(429, null, true), // policy's own rate limit
                Arguments.of(413, null, true),
                Arguments.of(400, GatewayException.badRequest("bad"), true),
                Arguments.of(404, GatewayException.notFound("no such path"), true),
                Arguments.of(429, new GatewayException(429, "rate_limited", "slow down", Outcome.DENIED), true),
                Arguments.of(429, new GatewayException(429, "too_many_held_calls", "you have 20 calls waiting",
                        Outcome.DENIED, Map.of("Retry-After", "30")), false),
                Arguments.of(502, GatewayException.upstreamError("down"), false),
                Arguments.of(503, GatewayException.upstreamBusy("busy"), false),
                Arguments.of(200, null, false));
    }

    @ParameterizedTest(name = "{0} {1}: counted {2}")
    @MethodSource("table")
    void should_count_only_refusals_of_the_callers_request(int status, GatewayException error, boolean counted) {
        DenialLimiter denials = new DenialLimiter(5, 60_000, 10);
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        e.setProperty(Exchanges.ERROR, error);
        e.setProperty(Exchanges.CREDENTIAL, new Credential(Credential.TOKEN, "a-token"));
        e.setProperty(Exchanges.IDENTITY, new Identity("erin-sub", "erin", Identity.USER, "attest-cli",
                List.of("inference-user"), List.of(), "j", "https://issuer.test", null, null, List.of()));
        new CountDenialProcessor(denials, Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC)).process(e);
        assertThat(denials.deniedInWindow(DenialLimiter.subject("erin-sub"), NOW)).isEqualTo(counted ? 1 : 0);
    }

    @org.junit.jupiter.api.Test
    void should_keep_the_virtual_keys_id_and_owner_beside_the_count_of_its_digest_never_the_secret() {
        DenialLimiter denials = new DenialLimiter(5, 60_000, 10);
        String secret = attest.keys.KeySecrets.generate();
        java.util.UUID keyId = java.util.UUID.fromString("7e1d2c3b-4a59-4687-9786-a5b4c3d2e1f0");
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 403);
        e.setProperty(Exchanges.CREDENTIAL, new Credential(Credential.KEY, secret));
        e.setProperty(Exchanges.KEY, new attest.keys.VirtualKey(keyId, "ci", "atk_…x1", "erin-sub", "erin",
                Identity.USER, "attest-cli", List.of(), List.of(), attest.usage.Budget.NONE,
                Instant.ofEpochMilli(NOW - 1000), "erin", Instant.ofEpochMilli(NOW + 86_400_000L), null, null));
        e.setProperty(Exchanges.IDENTITY, new Identity("erin-sub", "erin", Identity.USER, "attest-cli",
                List.of("inference-user"), List.of(), "key:" + keyId, "https://issuer.test", null, null, List.of()));
        new CountDenialProcessor(denials, Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC)).process(e);
        assertThat(denials.deniedInWindow(DenialLimiter.key(secret), NOW)).isEqualTo(1);
        assertThat(denials.keyOf(DenialLimiter.key(secret), NOW))
                .isEqualTo(new DenialLimiter.KeyName(keyId, "erin-sub"));
        assertThat(denials.deniedInWindow(DenialLimiter.subject("erin-sub"), NOW)).as("not the owner's own count")
                .isZero();
    }

    @org.junit.jupiter.api.Test
    void should_give_a_token_callers_count_no_keys_name() {
        DenialLimiter denials = new DenialLimiter(5, 60_000, 10);
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 403);
        e.setProperty(Exchanges.CREDENTIAL, new Credential(Credential.TOKEN, "a-token"));
        e.setProperty(Exchanges.IDENTITY, new Identity("erin-sub", "erin", Identity.USER, "attest-cli",
                List.of(), List.of(), "j", "https://issuer.test", null, null, List.of()));
        new CountDenialProcessor(denials, Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC)).process(e);
        assertThat(denials.deniedInWindow(DenialLimiter.subject("erin-sub"), NOW)).isEqualTo(1);
        assertThat(denials.keyOf(DenialLimiter.subject("erin-sub"), NOW)).isNull();
    }
}
