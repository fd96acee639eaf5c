package attest.ingress;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestTarget}: the configured upstream for the request path, by prefix only.
 * Throws 400 for a path that is not plain (traversal, encoded separators, absolute-form), 404 for no match, and 400
 * for a query that still carries the caller's own secret (its token or key, raw, percent-encoded, base64 or hex) once the
 * parameters named as credentials are removed: under any other name it would reach the upstream.
 */
public class ResolveUpstreamProcessor implements Processor {
    private final UpstreamRegistry registry;

    public ResolveUpstreamProcessor(UpstreamRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        UpstreamTarget target = registry.resolve(in.uri());
        attest.identity.Credential credential = exchange.getProperty(Exchanges.CREDENTIAL,
                attest.identity.Credential.class);
        String secret = credential == null ? null : credential.secret();
        String query = target.uri().getRawQuery();
        if (secret != null && query != null && (attest.identity.Credential.carries(query, secret)
                || attest.identity.Credential.carries(decoded(query), secret))) {
            throw attest.http.GatewayException.badRequest("the query carries the caller's credential");
        }
        exchange.setProperty(Exchanges.TARGET, target);
    }

    private static String decoded(String rawQuery) {
        try {
            return java.net.URLDecoder.decode(rawQuery, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return rawQuery;
        }
    }
}
