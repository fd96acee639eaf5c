package attest.upstream;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.identity.Credential;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestForwardHeaders}: the request's headers without caller credentials and hop-by-hop headers, and
 * without any header whose value carries the caller's own secret (its token or key copied under a name no list
 * knows, inside a longer value, or folded into another header).
 */
public class StripCredentialsProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        exchange.setProperty(Exchanges.FORWARD_HEADERS, CredentialStripper.strip(in.headers(),
                exchange.getProperty(Exchanges.CREDENTIAL, Credential.class)));
    }
}
