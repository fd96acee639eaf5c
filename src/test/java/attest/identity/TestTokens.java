package attest.identity;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;

/** Mints Keycloak-shaped access tokens with local keys, for validator and route tests. */
public final class TestTokens {
    public static final String ISSUER = "http://127.0.0.1:8180/realms/attest";
    public static final String AUDIENCE = "attest-gateway";
    public final RSAKey rsa;
    public final ECKey ec;

    public TestTokens() {
        try {
            rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
            ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public JWKSource<SecurityContext> keys() {
        return new ImmutableJWKSet<>(new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())));
    }

    public TokenValidator validator(java.time.Clock clock) {
        return new TokenValidator(keys(), ISSUER, AUDIENCE, java.time.Duration.ofSeconds(30), clock);
    }

    /** Claims of a valid access token for a user with the given realm roles. */
    public static JWTClaimsSet.Builder claims(String username, List<String> roles, Instant now) {
        return new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .subject(UUID.nameUUIDFromBytes(username.getBytes()).toString())
                .audience(List.of(AUDIENCE, "account"))
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(300)))
                .jwtID("onrtac:" + UUID.randomUUID())
                .claim("typ", "Bearer")
                .claim("azp", "attest-cli")
                .claim("preferred_username", username)
                .claim("realm_access", Map.of("roles", roles))
                .claim("groups", List.of("/team-a"));
    }

    public String rs256(JWTClaimsSet claims) {
        return sign(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(rsa.getKeyID()).type(JOSEObjectType.JWT).build(),
                claims);
    }

    public String rs256(JWTClaimsSet claims, UnaryOperator<JWSHeader.Builder> header) {
        return sign(header.apply(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(rsa.getKeyID())).build(), claims);
    }

    public String es256(JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(ec.getKeyID()).build(), claims);
            jwt.sign(new ECDSASigner(ec));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public String user(String username, List<String> roles) {
        return rs256(claims(username, roles, Instant.now()).build());
    }

    private String sign(JWSHeader header, JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(header, claims);
            jwt.sign(new RSASSASigner(rsa));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
