package attest.e2e;

import com.nimbusds.jose.EncryptionMethod;
import com.nimbusds.jose.JWEAlgorithm;
import com.nimbusds.jose.JWEHeader;
import com.nimbusds.jose.JWEObject;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSAEncrypter;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static attest.e2e.E2E.CHAT;
import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Forged and bent access tokens against the suite's gateway, built from a real Keycloak token of alice: the
 * realm's own key id and claims with another algorithm (none, HS256 keyed with every encoding of the realm's
 * public key), keys the caller brings (jku / x5u served by a local JWKS server, an embedded jwk, x5c), another
 * realm's token, JWE, duplicate header members, signature re-encodings, forged privileged claims. Each must be
 * 401 with no upstream call, no fetch of a caller-named URL, and evidence that names nobody.
 */
class ForgedTokensE2EIT {
    static HttpServer attackerJwks;
    static final AtomicInteger JWKS_FETCHES = new AtomicInteger();
    static RSAKey attackerRsa;
    static ECKey attackerEc;
    static String realmKid;
    static RSAKey realmPublic;
    static String encKid;
    static String jwksUrl;

    @BeforeAll
    static void up() throws Exception {
        stack();
        attackerRsa = new RSAKeyGenerator(2048).keyID("attacker-rsa").generate();
        attackerEc = new ECKeyGenerator(Curve.P_256).keyID("attacker-ec").generate();
        attackerJwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] jwks = new JWKSet(List.of(attackerRsa.toPublicJWK(), attackerEc.toPublicJWK())).toString()
                .getBytes(StandardCharsets.UTF_8);
        attackerJwks.createContext("/", ex -> {
            JWKS_FETCHES.incrementAndGet();
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, jwks.length);
            ex.getResponseBody().write(jwks);
            ex.close();
        });
        attackerJwks.start();
        jwksUrl = "http://127.0.0.1:" + attackerJwks.getAddress().getPort() + "/jwks";
        JWKSet realm = JWKSet.load(URI.create(stack().issuer + "/protocol/openid-connect/certs").toURL());
        for (JWK k : realm.getKeys()) {
            if (k.getKeyUse() != null && "enc".equals(k.getKeyUse().identifier())) {
                encKid = k.getKeyID();
            } else if (k instanceof RSAKey r) {
                realmKid = k.getKeyID();
                realmPublic = r;
            }
        }
        assertThat(realmKid).isNotNull();
    }

    @AfterAll
    static void down() {
        if (attackerJwks != null) {
            attackerJwks.stop(0);
        }
    }

    static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static String payloadJson(String token) {
        return new String(Base64.getUrlDecoder().decode(token.split("\\.")[1]), StandardCharsets.UTF_8);
    }

    /** Alice's real claims, with the privileged ones an attacker would want. */
    static String escalated(String token) throws Exception {
        var node = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(payloadJson(token));
        node.put("preferred_username", "oscar");
        node.putObject("realm_access").putArray("roles").add("inference-user").add("attest-admin").add("approver");
        return JSON.writeValueAsString(node);
    }

    static String sign(JWSHeader header, String payload, com.nimbusds.jose.JWSSigner signer) throws Exception {
        JWSObject o = new JWSObject(header, new Payload(payload));
        o.sign(signer);
        return o.serialize();
    }

    static byte[] hmacKey(byte[] k) {
        return k.length >= 32 ? k : java.util.Arrays.copyOf(k, 32);
    }

    static Stream<Arguments> forged() throws Exception {
        String real = stack().userToken("alice");
        String[] p = real.split("\\.");
        String claims = payloadJson(real);
        String high = escalated(real);
        String pem = "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes())
                .encodeToString(realmPublic.toPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n";
        List<Arguments> rows = new ArrayList<>();
        rows.add(Arguments.of("alg none, realm kid, no signature",
                b64("{\"alg\":\"none\",\"kid\":\"" + realmKid + "\"}") + "." + b64(high) + "."));
        rows.add(Arguments.of("alg none, real payload, real signature",
                b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + p[1] + "." + p[2]));
        rows.add(Arguments.of("alg None", b64("{\"alg\":\"None\",\"kid\":\"" + realmKid + "\"}") + "." + b64(high) + "."));
        rows.add(Arguments.of("duplicate alg, none last",
                b64("{\"alg\":\"RS256\",\"kid\":\"" + realmKid + "\",\"alg\":\"none\"}") + "." + b64(high) + "."));
        rows.add(Arguments.of("duplicate alg, none first",
                b64("{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"" + realmKid + "\"}") + "." + p[1] + "." + p[2]));
        rows.add(Arguments.of("duplicate kid, real key last",
                b64("{\"alg\":\"RS256\",\"kid\":\"attacker-rsa\",\"kid\":\"" + realmKid + "\"}") + "." + p[1] + "." + p[2]));
        for (var key : Map.of("DER", realmPublic.toPublicKey().getEncoded(),
                "PEM", pem.getBytes(StandardCharsets.US_ASCII),
                "JWK JSON", realmPublic.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8),
                "modulus", realmPublic.getModulus().decode(),
                "JWKS", JWKSet.load(URI.create(stack().issuer + "/protocol/openid-connect/certs").toURL()).toString()
                        .getBytes(StandardCharsets.UTF_8)).entrySet()) {
            rows.add(Arguments.of("HS256 keyed with the realm key as " + key.getKey(), sign(new JWSHeader.Builder(
                    JWSAlgorithm.HS256).keyID(realmKid).build(), high, new MACSigner(hmacKey(key.getValue())))));
        }
        rows.add(Arguments.of("HS512 keyed with the realm key as DER", sign(new JWSHeader.Builder(JWSAlgorithm.HS512)
                .keyID(realmKid).build(), high, new MACSigner(java.util.Arrays.copyOf(
                realmPublic.toPublicKey().getEncoded(), Math.max(64, realmPublic.toPublicKey().getEncoded().length))))));
        rows.add(Arguments.of("attacker RSA key under the realm kid", sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(realmKid).build(), high, new RSASSASigner(attackerRsa))));
        rows.add(Arguments.of("attacker EC key under the realm kid (ES256 vs RS256)", sign(new JWSHeader.Builder(
                JWSAlgorithm.ES256).keyID(realmKid).build(), high, new ECDSASigner(attackerEc))));
        rows.add(Arguments.of("PS256 by the attacker under the realm kid", sign(new JWSHeader.Builder(
                JWSAlgorithm.PS256).keyID(realmKid).build(), high, new RSASSASigner(attackerRsa))));
        rows.add(Arguments.of("real signature under the enc key's kid",
                b64("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" + encKid + "\"}") + "." + p[1] + "." + p[2]));
        rows.add(Arguments.of("jku to the attacker's JWKS", sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID("attacker-rsa").jwkURL(URI.create(jwksUrl)).build(), high, new RSASSASigner(attackerRsa))));
        rows.add(Arguments.of("x5u to the attacker", sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID("attacker-rsa").x509CertURL(URI.create(jwksUrl)).build(), high, new RSASSASigner(attackerRsa))));
        rows.add(Arguments.of("kid is the attacker's URL", sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(jwksUrl).build(), high, new RSASSASigner(attackerRsa))));
        rows.add(Arguments.of("kid is a path", sign(new JWSHeader.Builder(JWSAlgorithm.HS256)
                .keyID("../../../../dev/null").build(), high, new MACSigner(new byte[32]))));
        rows.add(Arguments.of("embedded attacker jwk", sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
                .jwk(attackerRsa.toPublicJWK()).build(), high, new RSASSASigner(attackerRsa))));
        rows.add(Arguments.of("embedded attacker jwk with the realm kid", sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(realmKid).jwk(attackerRsa.toPublicJWK()).build(), high, new RSASSASigner(attackerRsa))));
        rows.add(Arguments.of("crit member the gateway does not know", b64("{\"alg\":\"RS256\",\"kid\":\"" + realmKid
                + "\",\"crit\":[\"exp\"],\"exp\":1}") + "." + p[1] + "." + p[2]));
        rows.add(Arguments.of("JWE for the realm's enc key", jwe(claims)));
        rows.add(Arguments.of("payload padded", p[0] + "." + p[1] + "=." + p[2]));
        rows.add(Arguments.of("four parts", real + ".x"));
        rows.add(Arguments.of("8 KiB of forged claims", b64("{\"alg\":\"RS256\",\"kid\":\"" + realmKid + "\"}") + "."
                + b64(high.replaceFirst("\\{", "{\"pad\":\"" + "x".repeat(8192) + "\",")) + "." + p[2]));
        rows.add(Arguments.of("exp as a string, forged", b64("{\"alg\":\"none\"}") + "."
                + b64(high.replaceAll("\"exp\":\\d+", "\"exp\":\"99999999999\"")) + "."));
        rows.add(Arguments.of("exp past 2^63, forged", b64("{\"alg\":\"none\"}") + "."
                + b64(high.replaceAll("\"exp\":\\d+", "\"exp\":1e300")) + "."));
        rows.add(Arguments.of("token of the master realm", masterToken()));
        return rows.stream();
    }

    static String jwe(String claims) throws Exception {
        JWK enc = JWKSet.load(URI.create(stack().issuer + "/protocol/openid-connect/certs").toURL()).getKeyByKeyId(encKid);
        JWEObject o = new JWEObject(new JWEHeader.Builder(JWEAlgorithm.RSA_OAEP, EncryptionMethod.A128GCM).keyID(encKid)
                .build(), new Payload(claims));
        o.encrypt(new RSAEncrypter(enc.toRSAKey()));
        return o.serialize();
    }

    static String masterToken() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(stack().keycloakUrl
                        + "/realms/master/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(
                        "grant_type=password&client_id=admin-cli&username=admin&password=admin")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("a master realm token").isEqualTo(200);
        String t = JSON.readTree(r.body()).path("access_token").asText();
        stack().secrets.add(t);
        return t;
    }

    static HttpResponse<String> call(String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(stack().gatewayUrl() + "/llm/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(CHAT));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A refusal on the headers: 401, nothing upstream, evidence that names nobody. */
    static void assertRefusedWithEvidence(HttpResponse<String> r, int upstreamCallsBefore, String token) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer error=\"invalid_token\"");
        assertThat(stack().demo.calls()).as("upstream calls").isEqualTo(upstreamCallsBefore);
        if (token.length() > 40) {
            assertThat(r.body()).doesNotContain(token.substring(token.length() - 30));
        }
        String gid = r.headers().firstValue("X-Request-Id").orElseThrow();
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(gid) != null);
        Map<String, Object> row = evidence(gid);
        assertThat(row.get("outcome")).isEqualTo("unauthenticated");
        assertThat(row.get("status")).isEqualTo(401);
        assertThat(row.get("auth_error")).isNotNull();
        assertThat(row.get("username")).as("an unverified token names nobody").isNull();
        assertThat(row.get("subject")).isNull();
        assertThat(row.get("realm_roles")).isNull();
        assertThat(String.valueOf(row.get("auth_error")).length()).isLessThanOrEqualTo(64);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forged")
    void should_refuse_a_forged_or_bent_token_with_401_evidence_and_no_fetch(String name, String token) throws Exception {
        int before = stack().demo.calls();
        int fetches = JWKS_FETCHES.get();
        HttpResponse<String> r = call("Bearer " + token);
        assertRefusedWithEvidence(r, before, token);
        assertThat(JWKS_FETCHES.get()).as("the gateway fetched a URL the token named").isEqualTo(fetches);
    }

    static Stream<Arguments> reEncoded() {
        String real = stack().userToken("alice");
        String[] p = real.split("\\.");
        String sig = p[2];
        return Stream.of(
                Arguments.of("signature with base64 padding", p[0] + "." + p[1] + "." + sig + "=="),
                Arguments.of("signature with one pad", p[0] + "." + p[1] + "." + sig + "="),
                Arguments.of("signature in the +/ alphabet", p[0] + "." + p[1] + "." + (sig.matches(".*[-_].*")
                        ? sig.replace('-', '+').replace('_', '/') : sig + "+")),
                Arguments.of("signature with a character outside base64", p[0] + "." + p[1] + "." + sig + "!"),
                Arguments.of("signature with other unused bits in its last character", p[0] + "." + p[1] + "."
                        + sig.substring(0, sig.length() - 1) + otherUnusedBits(sig)));
    }

    /** The last character of a base64url text whose unused low bits differ: the same bytes, spelt otherwise. */
    static char otherUnusedBits(String b64url) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        int v = alphabet.indexOf(b64url.charAt(b64url.length() - 1));
        int unused = switch (b64url.length() % 4) {
            case 2 -> 4;
            case 3 -> 2;
            default -> 0;
        };
        assertThat(unused).as("the signature's text ends on a partial quantum").isPositive();
        return alphabet.charAt(v ^ 1);
    }

    /**
     * RFC 7515 section 7.1: each part of the compact serialization is base64url without padding. A token whose
     * signature part is spelt otherwise is not the token Keycloak issued ("refuse rather than repair"): a second
     * spelling of one token escapes whatever keys on the token's text (the verified-token cache, a deny list,
     * the log hygiene checks, which look for the issued text).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("reEncoded")
    void should_refuse_a_real_token_whose_signature_is_spelt_otherwise(String name, String token) throws Exception {
        int before = stack().demo.calls();
        assertRefusedWithEvidence(call("Bearer " + token), before, token);
    }

    static Stream<Arguments> bentHeaders() {
        return Stream.of(
                Arguments.of("token in the query only", "QUERY"),
                Arguments.of("Bearer, then the token twice", "Bearer %s %s"),
                Arguments.of("two tokens, comma-joined", "Bearer %s, Bearer %s"),
                Arguments.of("Basic with the token", "Basic %s"),
                Arguments.of("token without a scheme", "%s"),
                Arguments.of("scheme glued to the token", "Bearer%s"),
                Arguments.of("DPoP scheme", "DPoP %s"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bentHeaders")
    void should_refuse_a_real_token_in_a_place_or_form_no_client_sends(String name, String form) throws Exception {
        String token = stack().userToken("alice");
        int before = stack().demo.calls();
        HttpResponse<String> r;
        if ("QUERY".equals(form)) {
            r = HTTP.send(HttpRequest.newBuilder(URI.create(stack().gatewayUrl()
                            + "/llm/v1/chat/completions?access_token=" + token)).timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } else {
            r = call(form.formatted(token, token));
        }
        assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
        assertThat(stack().demo.calls()).isEqualTo(before);
        String gid = r.headers().firstValue("X-Request-Id").orElseThrow();
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(gid) != null);
        assertThat(evidence(gid).get("outcome")).isEqualTo("unauthenticated");
    }

    @Test
    void should_accept_a_real_token_for_the_control_case() throws Exception {
        // the construction above is sound: the same token, unbent, is served
        assertThat(call("Bearer " + stack().userToken("alice")).statusCode()).isEqualTo(200);
        assertThat(call("bearer " + stack().userToken("alice")).statusCode()).isEqualTo(200);
    }

    @Test
    void should_keep_every_token_out_of_the_logs() {
        E2E.assertLogsClean();
    }
}
