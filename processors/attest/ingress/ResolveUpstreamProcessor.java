package attest.ingress;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestTarget}: the configured upstream for the request path, by prefix only.
 * Throws 400 for a path that is not plain (traversal, encoded separators, absolute-form), 404 for no match.
 */
public class ResolveUpstreamProcessor implements Processor {
    private final UpstreamRegistry registry;

    public ResolveUpstreamProcessor(UpstreamRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        exchange.setProperty(Exchanges.TARGET, registry.resolve(in.uri()));
    }
}
