package attest.identity;

import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;

import java.net.MalformedURLException;
import java.net.URI;
import java.time.Duration;

/**
 * The realm's signing keys, fetched from its JWKS endpoint and cached. An unknown {@code kid} triggers a
 * refresh, at most once per cooldown, so a key rotation in Keycloak is picked up without a restart and a
 * flood of made-up kids cannot hammer Keycloak. The JWKS URL is configuration, never taken from a token.
 */
public final class RealmKeys {
    private RealmKeys() {
    }

    public static JWKSource<SecurityContext> fromJwksUri(String jwksUri, Duration cacheTtl, Duration refreshCooldown,
                                                         Duration timeout) {
        try {
            var retriever = new DefaultResourceRetriever((int) timeout.toMillis(), (int) timeout.toMillis(), 512 * 1024);
            return JWKSourceBuilder.create(URI.create(jwksUri).toURL(), retriever)
                    .cache(cacheTtl.toMillis(), Math.min(timeout.toMillis() * 2, cacheTtl.toMillis() / 2))
                    .rateLimited(refreshCooldown.toMillis())
                    .refreshAheadCache(false)
                    .retrying(true)
                    .outageTolerantForever()
                    .build();
        } catch (MalformedURLException e) {
            throw new IllegalStateException("bad JWKS URL " + jwksUri, e);
        }
    }
}
