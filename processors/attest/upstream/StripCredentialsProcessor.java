package attest.upstream;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.identity.Credential;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.Map;

/**
 * Sets {@code attestForwardHeaders}: the request's headers without caller credentials and hop-by-hop headers, and
 * without any header whose value carries the caller's own secret (its token or key copied under a name no list
 * knows, inside a longer value, or folded into another header).
 */
public class StripCredentialsProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        ForwardHeaders kept = CredentialStripper.strip(in.headers());
        String secret = secret(exchange.getProperty(Exchanges.CREDENTIAL, Credential.class));
        if (secret != null) {
            kept = new ForwardHeaders(kept.entries().stream().filter(e -> !e.getValue().contains(secret))
                    .map(e -> Map.entry(e.getKey(), e.getValue())).toList());
        }
        exchange.setProperty(Exchanges.FORWARD_HEADERS, kept);
    }

    /** The caller's secret as it would be copied: a key, or a token without its scheme; null when there is none. */
    static String secret(Credential c) {
        if (c == null || c.value() == null) {
            return null;
        }
        String v = c.value().strip();
        if (Credential.TOKEN.equals(c.kind())) {
            int space = v.indexOf(' ');
            v = space < 0 ? v : v.substring(space + 1).strip();
        }
        return v.length() < 16 ? null : v; // a token or key is far longer: never match a short common value
    }
}
