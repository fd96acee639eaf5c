package attest.identity;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenValidatorTest {
    static final TestTokens T = new TestTokens();
    static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    static final TokenValidator V = T.validator(CLOCK);

    static JWTClaimsSet.Builder base() {
        return TestTokens.claims("alice", List.of("inference-user"), NOW);
    }

    static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static String withHeader(String headerJson, String token) {
        String[] parts = token.split("\\.");
        return b64(headerJson) + "." + parts[1] + "." + parts[2];
    }

    static String hs256WithPublicKey() throws Exception {
        // classic RS256 -> HS256 confusion: HMAC keyed with the realm's public key bytes
        byte[] secret = T.rsa.toPublicKey().getEncoded();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(T.rsa.getKeyID()).build(),
                base().build());
        jwt.sign(new MACSigner(java.util.Arrays.copyOf(secret, Math.max(32, secret.length))));
        return jwt.serialize();
    }

    /** Signs a raw JSON payload, so that it can hold what a claims builder would never write. */
    static String signedRaw(String json) throws Exception {
        var jws = new com.nimbusds.jose.JWSObject(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(T.rsa.getKeyID())
                .build(), new com.nimbusds.jose.Payload(json));
        jws.sign(new com.nimbusds.jose.crypto.RSASSASigner(T.rsa));
        return jws.serialize();
    }

    @Test
    void should_accept_a_raw_signed_payload_without_duplicates() throws Exception {
        // guards the duplicate-key case below: the same construction without a duplicate is valid
        assertThat(V.validate(signedRaw(base().build().toString())).username()).isEqualTo("alice");
    }

    static Stream<Arguments> rejected() throws Exception {
        String valid = T.rs256(base().build());
        String[] p = valid.split("\\.");
        String otherKey = new SignedJWTBuilder().signWithFreshKey(base().build());
        return Stream.of(
                Arguments.of("alg none", withHeader("{\"alg\":\"none\"}", valid).replaceAll("\\.[^.]*$", ".")),
                Arguments.of("alg NoNe mixed case", withHeader("{\"alg\":\"NoNe\",\"kid\":\"rsa-1\"}", valid)),
                Arguments.of("HS256 keyed with the public key", hs256WithPublicKey()),
                Arguments.of("unknown kid", T.rs256(base().build(), h -> h.keyID("nope"))),
                Arguments.of("path-like kid", T.rs256(base().build(), h -> h.keyID("../../etc/passwd"))),
                Arguments.of("huge kid", T.rs256(base().build(), h -> h.keyID("k".repeat(5000)))),
                Arguments.of("jku header", T.rs256(base().build(), h -> h.jwkURL(URI.create("http://evil.test/jwks")))),
                Arguments.of("x5u header", T.rs256(base().build(), h -> h.x509CertURL(URI.create("http://evil.test/c")))),
                Arguments.of("embedded jwk", T.rs256(base().build(), h -> h.jwk(T.rsa.toPublicJWK()))),
                Arguments.of("tampered signature", p[0] + "." + p[1] + "." + new StringBuilder(p[2]).reverse()),
                Arguments.of("tampered payload", p[0] + "." + b64(base().subject("mallory").build().toString()) + "." + p[2]),
                Arguments.of("signed by another key with same kid", otherKey),
                Arguments.of("expired", T.rs256(base().expirationTime(Date.from(NOW.minusSeconds(31))).build())),
                Arguments.of("no exp", T.rs256(base().expirationTime(null).build())),
                Arguments.of("not yet valid", T.rs256(base().notBeforeTime(Date.from(NOW.plusSeconds(120))).build())),
                Arguments.of("issued in the future", T.rs256(base().issueTime(Date.from(NOW.plusSeconds(600))).build())),
                Arguments.of("other realm", T.rs256(base().issuer("http://127.0.0.1:8180/realms/other").build())),
                Arguments.of("issuer with trailing slash", T.rs256(base().issuer(TestTokens.ISSUER + "/").build())),
                Arguments.of("other client (aud, azp)", T.rs256(base().audience("account").claim("azp", "other-app").build())),
                Arguments.of("ID token", T.rs256(base().claim("typ", "ID").build())),
                Arguments.of("refresh token", T.rs256(base().claim("typ", "Refresh").build())),
                Arguments.of("no typ", T.rs256(base().claim("typ", null).build())),
                Arguments.of("no subject", T.rs256(base().subject(null).build())),
                Arguments.of("malformed", "not-a-jwt"),
                Arguments.of("two parts", p[0] + "." + p[1]),
                Arguments.of("garbage base64", "%%%.%%%.%%%"),
                Arguments.of("duplicate JSON keys in a signed payload", signedRaw(base().build().toString()
                        .replaceFirst("\\{", "{\"sub\":\"mallory\","))),
                Arguments.of("signature padded", valid + "=="),
                Arguments.of("signature in the +/ alphabet", p[0] + "." + p[1] + "." + plusSlash(p[2])),
                Arguments.of("signature with a character outside base64", valid + "!"),
                Arguments.of("signature with other unused bits", p[0] + "." + p[1] + "." + p[2].substring(0,
                        p[2].length() - 1) + otherUnusedBits(p[2])),
                Arguments.of("too long", "a".repeat(20_000)),
                Arguments.of("empty", ""));
    }

    /** The base64url text in the standard alphabet, with a character of each kind at its start if it has none. */
    static String plusSlash(String b64url) {
        String std = b64url.replace('-', '+').replace('_', '/');
        return std.equals(b64url) ? "+/" + b64url.substring(2) : std;
    }

    /** The same bytes as the base64url text, with the unused low bits of its last character changed. */
    static char otherUnusedBits(String b64url) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        assertThat(b64url.length() % 4).as("ends on a partial quantum").isIn(2, 3);
        return alphabet.charAt(alphabet.indexOf(b64url.charAt(b64url.length() - 1)) ^ 1);
    }

    @Test
    void should_accept_each_spelling_of_the_signature_only_once() throws Exception {
        // guards the rows above: the lenient decoder reads each of those spellings as the valid signature
        String valid = T.rs256(base().build());
        String[] p = valid.split("\\.");
        String other = p[0] + "." + p[1] + "." + p[2].substring(0, p[2].length() - 1) + otherUnusedBits(p[2]);
        assertThat(com.nimbusds.jose.util.Base64URL.from(other.split("\\.")[2]).decode())
                .isEqualTo(com.nimbusds.jose.util.Base64URL.from(p[2]).decode());
        assertThat(V.validate(valid).username()).isEqualTo("alice");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejected")
    void should_reject_with_401(String name, String token) {
        assertThatThrownBy(() -> V.validate(token))
                .isInstanceOf(InvalidTokenException.class)
                .satisfies(e -> {
                    InvalidTokenException ite = (InvalidTokenException) e;
                    assertThat(ite.status()).isEqualTo(401);
                    assertThat(ite.headers()).containsEntry("WWW-Authenticate", "Bearer error=\"invalid_token\"");
                    // the caller's message is generic, and nothing of the token is echoed
                    assertThat(ite.getMessage()).isEqualTo("the access token is missing or invalid");
                    if (token.length() > 20) {
                        assertThat(ite.reason()).doesNotContain(token.substring(token.length() - 20));
                    }
                });
    }

    static Stream<Arguments> authorizationHeaders() {
        String valid = T.rs256(base().build());
        return Stream.of(
                Arguments.of(null, false),
                Arguments.of("", false),
                Arguments.of("Basic YWxpY2U6YWxpY2U=", false),
                Arguments.of("Bearer", false),
                Arguments.of("Bearer " + valid, true),
                Arguments.of("bearer " + valid, true));
    }

    @ParameterizedTest
    @MethodSource("authorizationHeaders")
    void should_read_only_bearer_authorization(String header, boolean ok) {
        if (ok) {
            assertThat(V.validateAuthorization(header).username()).isEqualTo("alice");
        } else {
            assertThatThrownBy(() -> V.validateAuthorization(header)).isInstanceOf(InvalidTokenException.class);
        }
    }

    @Test
    void should_accept_a_valid_user_token_and_read_the_identity() {
        Identity id = V.validate(T.rs256(base().build()));
        assertThat(id.username()).isEqualTo("alice");
        assertThat(id.subject()).isNotBlank();
        assertThat(id.principalType()).isEqualTo(Identity.USER);
        assertThat(id.clientId()).isEqualTo("attest-cli");
        assertThat(id.roles()).containsExactly("inference-user");
        assertThat(id.groups()).containsExactly("/team-a");
        assertThat(id.tokenId()).startsWith("onrtac:");
        assertThat(id.issuer()).isEqualTo(TestTokens.ISSUER);
    }

    @Test
    void should_recognise_a_service_account() {
        Identity id = V.validate(T.rs256(TestTokens.claims("service-account-batch-job", List.of("inference-user"), NOW)
                .claim("azp", "batch-job").claim("client_id", "batch-job").build()));
        assertThat(id.principalType()).isEqualTo(Identity.SERVICE_ACCOUNT);
        assertThat(id.clientId()).isEqualTo("batch-job");
    }

    /** Older Keycloak names the client of a client-credentials token clientId; a username may be in any case. */
    @Test
    void should_recognise_a_service_account_by_any_of_keycloaks_marks() {
        assertThat(V.validate(T.rs256(TestTokens.claims("svc", List.of("approver"), NOW).claim("azp", "bot")
                .claim("clientId", "bot").build())).principalType()).isEqualTo(Identity.SERVICE_ACCOUNT);
        assertThat(V.validate(T.rs256(TestTokens.claims("Service-Account-Bot", List.of("approver"), NOW).build()))
                .principalType()).isEqualTo(Identity.SERVICE_ACCOUNT);
        assertThat(V.validate(T.rs256(base().build())).principalType()).isEqualTo(Identity.USER);
    }

    /**
     * The email is the person's only where the identity provider says it verified it, and then in one form for every
     * spelling of it: an unverified (or text-less, or missing) email is none, and so is an email_verified of any other
     * type than true.
     */
    @Test
    void should_read_only_a_verified_email_in_one_form() {
        assertThat(V.validate(T.rs256(base().claim("email", " Alice@Example.TEST ").claim("email_verified", true)
                .build())).verifiedEmail()).isEqualTo("alice@example.test");
        assertThat(V.validate(T.rs256(base().claim("email", "\uff41lice@example.test").claim("email_verified", "true")
                .build())).verifiedEmail()).as("full-width a, verified as text").isEqualTo("alice@example.test");
        assertThat(V.validate(T.rs256(base().claim("email", "alice@example.test").claim("email_verified", false)
                .build())).verifiedEmail()).isNull();
        assertThat(V.validate(T.rs256(base().claim("email", "alice@example.test").build())).verifiedEmail()).isNull();
        assertThat(V.validate(T.rs256(base().claim("email", "alice@example.test").claim("email_verified", 1)
                .build())).verifiedEmail()).isNull();
        assertThat(V.validate(T.rs256(base().claim("email", List.of("alice@example.test")).claim("email_verified",
                true).build())).verifiedEmail()).isNull();
        assertThat(V.validate(T.rs256(base().claim("email", "not-an-address").claim("email_verified", true)
                .build())).verifiedEmail()).isNull();
    }

    /** An RFC 8693 act chain {@code depth} deep: the actor at level i is {@code actor-i}. */
    static java.util.Map<String, Object> actChain(int depth) {
        java.util.Map<String, Object> act = null;
        for (int i = depth; i >= 1; i--) {
            java.util.Map<String, Object> level = new java.util.LinkedHashMap<>();
            level.put("sub", "actor-" + i + "-sub");
            level.put("preferred_username", "actor-" + i);
            if (act != null) {
                level.put("act", act);
            }
            act = level;
        }
        return act;
    }

    /**
     * The actors behind a token are read in order (the current actor first, then whom it acted for, then Keycloak's
     * impersonator), up to 8 levels of act; a ninth level, or an act or impersonator that is not an object, makes
     * the token invalid (401), cached or not.
     */
    @Test
    void should_read_the_actors_and_refuse_an_act_chain_deeper_than_eight() {
        Identity eight = V.validate(T.rs256(base().claim("act", actChain(8)).build()));
        assertThat(eight.actors()).hasSize(8);
        assertThat(eight.actors().get(0).subject()).isEqualTo("actor-1-sub");
        assertThat(eight.actors().get(7).username()).isEqualTo("actor-8");
        assertThat(eight.actors()).allMatch(a -> a.via().equals("act"));
        assertThat(V.validate(T.rs256(base().build())).actors()).isEmpty();
        for (int depth : new int[]{9, 10, 64}) {
            String deep = T.rs256(base().claim("act", actChain(depth)).build());
            assertThatThrownBy(() -> V.validate(deep)).as("depth " + depth).isInstanceOf(InvalidTokenException.class)
                    .satisfies(e -> {
                        assertThat(((InvalidTokenException) e).status()).isEqualTo(401);
                        assertThat(((InvalidTokenException) e).reason()).isEqualTo("act chain deeper than 8");
                    });
            assertThatThrownBy(() -> V.validateAuthorization("Bearer " + deep)).isInstanceOf(
                    InvalidTokenException.class);
        }
        // eight levels under a top one are nine
        assertThatThrownBy(() -> V.validate(T.rs256(base().claim("act", java.util.Map.of("sub", "top", "act",
                actChain(8))).build()))).isInstanceOf(InvalidTokenException.class);
        for (Object bad : new Object[]{"alice", List.of(java.util.Map.of("sub", "x")), 7, true}) {
            assertThatThrownBy(() -> V.validate(T.rs256(base().claim("act", bad).build()))).as("act " + bad)
                    .isInstanceOf(InvalidTokenException.class);
            assertThatThrownBy(() -> V.validate(T.rs256(base().claim("act", java.util.Map.of("sub", "x", "act", bad))
                    .build()))).as("nested act " + bad).isInstanceOf(InvalidTokenException.class);
            assertThatThrownBy(() -> V.validate(T.rs256(base().claim("impersonator", bad).build())))
                    .as("impersonator " + bad).isInstanceOf(InvalidTokenException.class);
        }
    }

    /** Keycloak's impersonator is an actor too; an actor's email counts only where the same object verified it. */
    @Test
    void should_read_the_impersonator_and_only_an_actors_verified_email() {
        Identity id = V.validate(T.rs256(base().claim("act", java.util.Map.of("sub", "svc-sub", "email",
                "Svc@Example.test", "email_verified", true, "act", java.util.Map.of("preferred_username", "carol",
                "email", "carol@example.test"))).claim("impersonator", java.util.Map.of("id", "admin-sub",
                "username", "admin")).build()));
        assertThat(id.actors()).extracting(Identity.Actor::via).containsExactly("act", "act", "impersonator");
        assertThat(id.actors().get(0).verifiedEmail()).isEqualTo("svc@example.test");
        assertThat(id.actors().get(1).verifiedEmail()).as("not verified").isNull();
        assertThat(id.actors().get(1).username()).isEqualTo("carol");
        assertThat(id.actors().get(2).subject()).isEqualTo("admin-sub");
        assertThat(id.actors().get(2).username()).isEqualTo("admin");
        assertThat(V.validate(T.rs256(base().claim("act", java.util.Map.of("client_id", "svc")).build())).actors()
                .get(0).identified()).isFalse();
    }

    @Test
    void should_accept_es256() {
        assertThat(V.validate(T.es256(base().build())).username()).isEqualTo("alice");
        // a token issued to the gateway's own client is refused in production: see TokenLifetimeTest (deny list)
    }

    @Test
    void should_allow_clock_skew_but_no_more() {
        assertThat(V.validate(T.rs256(base().expirationTime(Date.from(NOW.minusSeconds(29))).build()))).isNotNull();
        assertThat(V.validate(T.rs256(base().notBeforeTime(Date.from(NOW.plusSeconds(29))).build()))).isNotNull();
        assertThatThrownBy(() -> V.validate(T.rs256(base().notBeforeTime(Date.from(NOW.plusSeconds(31))).build())))
                .isInstanceOf(InvalidTokenException.class);
    }

    /** Signs with a fresh RSA key that claims the realm key's kid. */
    static final class SignedJWTBuilder {
        String signWithFreshKey(JWTClaimsSet claims) throws Exception {
            var other = new RSAKeyGenerator(2048).keyID(T.rsa.getKeyID()).generate();
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(other.getKeyID()).build(), claims);
            jwt.sign(new com.nimbusds.jose.crypto.RSASSASigner(other));
            return jwt.serialize();
        }
    }

}
