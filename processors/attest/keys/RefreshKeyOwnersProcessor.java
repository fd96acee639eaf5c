package attest.keys;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Refreshes the owners of live keys from Keycloak (those not checked lately); sets the count as the body. */
public class RefreshKeyOwnersProcessor implements Processor {
    private final KeyResolver resolver;

    public RefreshKeyOwnersProcessor(KeyResolver resolver) {
        this.resolver = resolver;
    }

    @Override
    public void process(Exchange exchange) {
        exchange.getMessage().setBody(resolver.refreshOwners());
    }
}
