package attest.identity;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.RSASSASigner;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Claims and headers a realm key might sign but Keycloak never writes, signed with the realm's own key so that
 * only the claim or header decides: each is refused with 401 (never a 5xx, never accepted), and the like-shaped
 * control row is accepted, so each row can fail.
 */
class TokenClaimsHostileTest {
    static final TestTokens T = new TestTokens();
    static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
    static final TokenValidator V = T.validator(Clock.fixed(NOW, ZoneOffset.UTC));
    static final long EXP = NOW.getEpochSecond() + 300;
    static final long IAT = NOW.getEpochSecond();

    /** A Keycloak-shaped payload with one member replaced (raw JSON, so that any type can be written). */
    static String claims(String member, String json) {
        StringBuilder b = new StringBuilder("{");
        String[][] base = {
                {"iss", "\"" + TestTokens.ISSUER + "\""}, {"sub", "\"0c8f5a4e-0000-0000-0000-000000000001\""},
                {"aud", "[\"attest-gateway\",\"account\"]"}, {"iat", String.valueOf(IAT)}, {"exp", String.valueOf(EXP)},
                {"jti", "\"onrtac:1\""}, {"typ", "\"Bearer\""}, {"azp", "\"attest-cli\""},
                {"preferred_username", "\"alice\""}, {"realm_access", "{\"roles\":[\"inference-user\"]}"}};
        boolean replaced = false;
        for (String[] kv : base) {
            String value = kv[0].equals(member) ? json : kv[1];
            replaced |= kv[0].equals(member);
            if (value == null) {
                continue;
            }
            b.append(b.length() > 1 ? "," : "").append('"').append(kv[0]).append("\":").append(value);
        }
        if (!replaced && member != null) {
            b.append(",\"").append(member).append("\":").append(json);
        }
        return b.append('}').toString();
    }

    static String signed(String headerJson, String payload) throws Exception {
        String h = Base64.getUrlEncoder().withoutPadding().encodeToString(headerJson.getBytes(StandardCharsets.UTF_8));
        String p = Base64.getUrlEncoder().withoutPadding().encodeToString(payload.getBytes(StandardCharsets.UTF_8));
        var signer = new RSASSASigner(T.rsa);
        var sig = signer.sign(new JWSHeader.Builder(JWSAlgorithm.RS256).build(),
                (h + "." + p).getBytes(StandardCharsets.US_ASCII));
        return h + "." + p + "." + sig;
    }

    static String rs256(String payload) throws Exception {
        JWSObject o = new JWSObject(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(T.rsa.getKeyID()).build(),
                new Payload(payload));
        o.sign(new RSASSASigner(T.rsa));
        return o.serialize();
    }

    static final String HEADER = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"rsa-1\"}";

    static Stream<Arguments> refused() throws Exception {
        return Stream.of(
                Arguments.of("exp as a string", rs256(claims("exp", "\"" + EXP + "\""))),
                Arguments.of("exp past 2^63 seconds", rs256(claims("exp", "1e300"))),
                Arguments.of("exp negative", rs256(claims("exp", "-1"))),
                Arguments.of("exp null", rs256(claims("exp", "null"))),
                Arguments.of("exp an array", rs256(claims("exp", "[" + EXP + "]"))),
                Arguments.of("nbf in the future", rs256(claims("nbf", String.valueOf(IAT + 600)))),
                Arguments.of("nbf as a string", rs256(claims("nbf", "\"0\""))),
                Arguments.of("iat a day ahead", rs256(claims("iat", String.valueOf(IAT + 86_400)))),
                Arguments.of("aud without the gateway", rs256(claims("aud", "[\"account\",\"other-app\"]"))),
                Arguments.of("aud a string, another client", rs256(claims("aud", "\"account\""))),
                Arguments.of("aud empty", rs256(claims("aud", "[]"))),
                Arguments.of("aud absent", rs256(claims("aud", null))),
                Arguments.of("aud an object", rs256(claims("aud", "{\"attest-gateway\":true}"))),
                Arguments.of("aud the gateway in another case", rs256(claims("aud", "[\"Attest-Gateway\"]"))),
                Arguments.of("iss in another case", rs256(claims("iss", "\"" + TestTokens.ISSUER.toUpperCase() + "\""))),
                Arguments.of("iss with a trailing space", rs256(claims("iss", "\"" + TestTokens.ISSUER + " \""))),
                Arguments.of("iss with a dot segment", rs256(claims("iss", "\"http://127.0.0.1:8180/realms/x/../attest\""))),
                Arguments.of("iss absent", rs256(claims("iss", null))),
                Arguments.of("iss an array", rs256(claims("iss", "[\"" + TestTokens.ISSUER + "\"]"))),
                Arguments.of("typ ID", rs256(claims("typ", "\"ID\""))),
                Arguments.of("typ Logout", rs256(claims("typ", "\"Logout\""))),
                Arguments.of("sub empty", rs256(claims("sub", "\"\""))),
                Arguments.of("sub an object", rs256(claims("sub", "{\"id\":\"x\"}"))),
                Arguments.of("repeated exp, the later far ahead", rs256(claims("exp", String.valueOf(IAT - 3600))
                        .replace("}", ",\"exp\":" + (EXP + 10_000_000) + "}"))),
                Arguments.of("repeated alg in the header, none last", signed(
                        "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"alg\":\"none\"}", claims(null, null))),
                Arguments.of("crit naming a member nobody understands", signed(
                        "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"x-attest\"],\"x-attest\":1}", claims(null, null))),
                Arguments.of("b64 false (RFC 7797)", signed(
                        "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"b64\":false,\"crit\":[\"b64\"]}", claims(null, null))),
                Arguments.of("header with a JWE's enc", signed("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"enc\":\"A128GCM\"}",
                        claims(null, null))),
                Arguments.of("payload not an object", signed(HEADER, "[1,2,3]")),
                Arguments.of("payload a JSON string", signed(HEADER, "\"alice\"")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void should_refuse_a_signed_token_keycloak_would_never_write(String name, String token) {
        assertThatThrownBy(() -> V.validate(token)).as(name).isInstanceOf(InvalidTokenException.class)
                .satisfies(e -> assertThat(((InvalidTokenException) e).status()).isEqualTo(401));
    }

    static Stream<Arguments> accepted() throws Exception {
        return Stream.of(
                Arguments.of("the control row", rs256(claims(null, null))),
                Arguments.of("the control row, signed from raw bytes", signed(HEADER, claims(null, null))),
                Arguments.of("aud the gateway alone, as a string", rs256(claims("aud", "\"attest-gateway\""))),
                Arguments.of("exp a float", rs256(claims("exp", EXP + ".5"))),
                Arguments.of("8 KiB of other claims", rs256(claims("pad", "\"" + "x".repeat(8192) + "\""))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void should_accept_the_like_shaped_token_keycloak_could_write(String name, String token) {
        assertThat(V.validate(token).username()).as(name).isEqualTo("alice");
    }

}
