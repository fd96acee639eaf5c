package attest.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;

import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Validates Keycloak access tokens locally: signature against the realm's JWKS (an allow-list of
 * algorithms, no key from the token itself), exact issuer, audience or authorized party, token type
 * {@code Bearer}, and {@code exp}/{@code nbf} with a small clock skew, and a deny list of clients that are
 * never callers. The actors behind a token (RFC 8693 {@code act}, at most {@link #MAX_ACT_DEPTH} deep, and Keycloak's
 * {@code impersonator}) are read into the identity; a deeper or malformed chain makes the token invalid. A verified token is cached for at most {@code cacheTtl}, and only while its key is still
 * one of the realm's. Built on nimbus-jose-jwt.
 */
public final class TokenValidator {
    /** Algorithms accepted for access tokens. HMAC and {@code none} are never accepted. */
    public static final Set<JWSAlgorithm> ALLOWED_ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.PS256,
            JWSAlgorithm.ES256);
    private static final int MAX_TOKEN_LENGTH = 16 * 1024;
    private static final int MAX_KID_LENGTH = 128;
    private static final int MAX_CACHED = 10_000;
    /** How many RFC 8693 actors one token may nest ({@code act} within {@code act}); a deeper chain is refused. */
    public static final int MAX_ACT_DEPTH = 8;

    /** How long a verified token is trusted without checking its signature again, by default. */
    public static final Duration DEFAULT_CACHE_TTL = Duration.ofSeconds(60);

    private final DefaultJWTProcessor<SecurityContext> processor;
    private final JWKSource<SecurityContext> keys;
    private final String issuer;
    private final String audience;
    private final Duration clockSkew;
    private final Clock clock;
    private final Duration cacheTtl;
    private final Set<String> deniedClients;
    private final java.util.concurrent.ConcurrentHashMap<String, Verified> verified =
            new java.util.concurrent.ConcurrentHashMap<>();

    public TokenValidator(JWKSource<SecurityContext> keys, String issuer, String audience, Duration clockSkew,
                          Clock clock) {
        this(keys, issuer, audience, clockSkew, clock, DEFAULT_CACHE_TTL, Set.of());
    }

    /**
     * @param cacheTtl      how long a verified token is trusted without checking its signature again; a cached
     *                      token whose key has left the realm's keys is dropped as soon as the keys refresh
     * @param deniedClients clients ({@code azp} or {@code client_id}) whose tokens are never accepted as a
     *                      caller's, whatever their audience: the gateway's own admin service account above all
     */
    public TokenValidator(JWKSource<SecurityContext> keys, String issuer, String audience, Duration clockSkew,
                          Clock clock, Duration cacheTtl, Set<String> deniedClients) {
        this.keys = keys;
        this.issuer = issuer;
        this.audience = audience;
        this.clockSkew = clockSkew;
        this.clock = clock;
        this.cacheTtl = cacheTtl;
        this.deniedClients = Set.copyOf(deniedClients);
        this.processor = new DefaultJWTProcessor<>();
        this.processor.setJWSKeySelector(new JWSVerificationKeySelector<>(ALLOWED_ALGORITHMS, keys));
        // claims are checked below, against our clock; the processor only checks the signature
        this.processor.setJWTClaimsSetVerifier((claims, context) -> { });
    }

    /** Validates an {@code Authorization} header value and returns the caller's identity. */
    public Identity validateAuthorization(String authorization) {
        if (authorization == null || authorization.isBlank()) {
            throw new InvalidTokenException("no bearer token");
        }
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new InvalidTokenException("authorization scheme is not Bearer");
        }
        return validate(authorization.substring(7).trim());
    }

    public Identity validate(String token) {
        if (token.isEmpty() || token.length() > MAX_TOKEN_LENGTH) {
            throw new InvalidTokenException("token empty or too long");
        }
        // a token whose signature was verified before is not verified again; its claims are re-checked
        // against the clock on every call, so expiry still applies to the second
        Verified cached = verified.get(token);
        if (cached != null) {
            if (clock.instant().isBefore(cached.at().plus(cacheTtl)) && keyStillCurrent(cached.kid())) {
                checkClaims(cached.claims());
                return cached.identity();
            }
            verified.remove(token, cached);
        }
        Verified fresh = verify(token);
        if (verified.size() >= MAX_CACHED) {
            verified.clear();
        }
        verified.put(token, fresh);
        return fresh.identity();
    }

    /** Whether the key that signed a cached token is still one of the realm's (refreshing the keys when due). */
    private boolean keyStillCurrent(String kid) {
        return !(keys instanceof RealmKeys realm) || realm.current(kid);
    }

    /**
     * Whether the token is three parts of canonical base64url (RFC 7515 section 7.1): the alphabet {@code A-Z a-z
     * 0-9 - _}, no padding, and unused trailing bits zero. The decoder is lenient (it skips other characters and
     * ignores unused bits), so one signed token could otherwise be spelt many ways.
     */
    static boolean canonicalCompactJws(String token) {
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            return parts.length == 5; // a JWE: refused below as not signed
        }
        for (String part : parts) {
            if (!CANONICAL_PART.matcher(part).matches()) {
                return false;
            }
            try {
                byte[] bytes = java.util.Base64.getUrlDecoder().decode(part);
                if (!java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(bytes).equals(part)) {
                    return false;
                }
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        return true;
    }

    private static final java.util.regex.Pattern CANONICAL_PART = java.util.regex.Pattern.compile("[A-Za-z0-9_-]*");

    private record Verified(JWTClaimsSet claims, Identity identity, String kid, java.time.Instant at) {
    }

    private Verified verify(String token) {
        if (!canonicalCompactJws(token)) {
            throw new InvalidTokenException("malformed token: not canonical");
        }
        JWT jwt;
        try {
            jwt = JWTParser.parse(token);
        } catch (ParseException e) {
            throw new InvalidTokenException("malformed token");
        }
        if (!(jwt instanceof SignedJWT signed)) {
            throw new InvalidTokenException("token is not a signed JWS (alg none or encrypted)");
        }
        JWSHeader header = signed.getHeader();
        if (!ALLOWED_ALGORITHMS.contains(header.getAlgorithm())) {
            throw new InvalidTokenException("algorithm not allowed: " + header.getAlgorithm());
        }
        if (header.getJWKURL() != null || header.getX509CertURL() != null || header.getJWK() != null
                || header.getX509CertChain() != null) {
            throw new InvalidTokenException("token names its own key (jku/x5u/jwk/x5c)");
        }
        String kid = header.getKeyID();
        if (kid == null || kid.isEmpty() || kid.length() > MAX_KID_LENGTH || !kid.matches("[A-Za-z0-9_\\-.=]+")) {
            throw new InvalidTokenException("missing or malformed kid");
        }
        if (header.getCriticalParams() != null && !header.getCriticalParams().isEmpty()) {
            throw new InvalidTokenException("unsupported critical header");
        }
        JWTClaimsSet claims;
        try {
            claims = processor.process(signed, null);
        } catch (KeySourceException e) {
            throw new InvalidTokenException("signing keys unavailable");
        } catch (BadJOSEException | JOSEException e) {
            throw new InvalidTokenException("signature or key rejected");
        }
        checkClaims(claims);
        return new Verified(claims, toIdentity(claims), kid, clock.instant());
    }

    private void checkClaims(JWTClaimsSet claims) {
        if (!issuer.equals(claims.getIssuer())) {
            throw new InvalidTokenException("issuer mismatch");
        }
        Object typ = claims.getClaim("typ");
        if (!"Bearer".equals(typ)) {
            throw new InvalidTokenException("token type is not Bearer");
        }
        Date now = Date.from(clock.instant());
        Date exp = claims.getExpirationTime();
        if (exp == null || now.getTime() - clockSkew.toMillis() >= exp.getTime()) {
            throw new InvalidTokenException("token expired or without exp");
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.getTime() + clockSkew.toMillis() < nbf.getTime()) {
            throw new InvalidTokenException("token not yet valid");
        }
        Date iat = claims.getIssueTime();
        if (iat != null && now.getTime() + clockSkew.toMillis() < iat.getTime()) {
            throw new InvalidTokenException("token issued in the future");
        }
        List<String> aud = claims.getAudience();
        String azp = stringClaim(claims, "azp");
        boolean forUs = (aud != null && aud.contains(audience)) || audience.equals(azp);
        if (!forUs) {
            throw new InvalidTokenException("token not issued for this gateway (aud/azp)");
        }
        if (claims.getSubject() == null || claims.getSubject().isBlank()) {
            throw new InvalidTokenException("token without subject");
        }
        Object clientId = claims.getClaim("client_id");
        if ((azp != null && deniedClients.contains(azp))
                || (clientId instanceof String c && deniedClients.contains(c))) {
            // the gateway's own service account names this gateway as azp: never a caller
            throw new InvalidTokenException("client not allowed as a caller");
        }
    }

    private static Identity toIdentity(JWTClaimsSet claims) {
        List<Identity.Actor> actors = actors(claims);
        String username = stringClaim(claims, "preferred_username");
        String azp = stringClaim(claims, "azp");
        // Keycloak puts client_id (before 25: clientId) into client-credentials tokens, and names the user
        // service-account-<client>
        boolean serviceAccount = claims.getClaim("client_id") != null || claims.getClaim("clientId") != null
                || (username != null && username.regionMatches(true, 0, "service-account-", 0, 16));
        // an email counts only where the identity provider says it verified it (a boolean; a mapper may make it text)
        Object verified = claims.getClaim("email_verified");
        boolean emailVerified = Boolean.TRUE.equals(verified)
                || (verified instanceof String v && v.strip().equalsIgnoreCase("true"));
        return new Identity(claims.getSubject(), username,
                serviceAccount ? Identity.SERVICE_ACCOUNT : Identity.USER, azp,
                realmRoles(claims), stringList(claims.getClaim("groups")), claims.getJWTID(), claims.getIssuer(),
                claims.getClaim("auth_time") instanceof Number n ? java.time.Instant.ofEpochSecond(n.longValue()) : null,
                emailVerified ? stringClaim(claims, "email") : null, actors);
    }

    /**
     * The token's actors: its RFC 8693 {@code act} chain, the current actor first, at most {@link #MAX_ACT_DEPTH}
     * deep, then Keycloak's {@code impersonator}. An {@code act} or {@code impersonator} that is not a JSON object
     * ({@code null} included: a claim present as null is not an absent one), or an {@code act} chain deeper than the
     * limit, makes the token invalid (401): who acted could not be read.
     */
    static List<Identity.Actor> actors(JWTClaimsSet claims) {
        List<Identity.Actor> out = new ArrayList<>();
        Object act = claims.getClaim("act");
        boolean present = claims.getClaims().containsKey("act");
        while (present) {
            if (!(act instanceof Map<?, ?> m)) {
                throw new InvalidTokenException("malformed act claim");
            }
            if (out.size() == MAX_ACT_DEPTH) {
                throw new InvalidTokenException("act chain deeper than " + MAX_ACT_DEPTH);
            }
            boolean verified = Boolean.TRUE.equals(m.get("email_verified"))
                    || (m.get("email_verified") instanceof String v && v.strip().equalsIgnoreCase("true"));
            String username = string(m.get("preferred_username")) != null ? string(m.get("preferred_username"))
                    : string(m.get("username"));
            out.add(new Identity.Actor(string(m.get("sub")), username, verified ? string(m.get("email")) : null,
                    string(m.get("client_id")), string(m.get("iss")), "act"));
            present = m.containsKey("act");
            act = m.get("act");
        }
        Object impersonator = claims.getClaim("impersonator");
        if (claims.getClaims().containsKey("impersonator")) {
            if (!(impersonator instanceof Map<?, ?> m)) {
                throw new InvalidTokenException("malformed impersonator claim");
            }
            out.add(new Identity.Actor(string(m.get("id")), string(m.get("username")), null, null, null,
                    "impersonator"));
        }
        return List.copyOf(out);
    }

    private static String string(Object v) {
        return v instanceof String s ? s : null;
    }

    private static String stringClaim(JWTClaimsSet claims, String name) {
        Object v = claims.getClaim(name);
        return v instanceof String s ? s : null;
    }

    private static List<String> realmRoles(JWTClaimsSet claims) {
        Object access = claims.getClaim("realm_access");
        if (access instanceof Map<?, ?> map) {
            return stringList(map.get("roles"));
        }
        return List.of();
    }

    private static List<String> stringList(Object value) {
        List<String> out = new ArrayList<>();
        if (value instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof String s) {
                    out.add(s);
                }
            }
        }
        return List.copyOf(out);
    }
}
