package attest.identity;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.keys.KeyResolver;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestIdentity} (the key owner's, as Keycloak last said within the allowed age) and {@code attestKey}
 * from the call's virtual key; 401 for a wrong, revoked or expired key or a disabled owner.
 */
public class VerifyKeyProcessor implements Processor {
    private final KeyResolver keys;

    public VerifyKeyProcessor(KeyResolver keys) {
        this.keys = keys;
    }

    @Override
    public void process(Exchange exchange) {
        Credential c = exchange.getProperty(Exchanges.CREDENTIAL, Credential.class);
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        KeyResolver.Resolved r = keys.resolve(c.value(), in.sourceAddress());
        exchange.setProperty(Exchanges.KEY, r.key());
        exchange.setProperty(Exchanges.IDENTITY, r.identity());
    }
}
