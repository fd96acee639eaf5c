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
}
