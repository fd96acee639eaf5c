package attest.upstream;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Sets {@code attestForwardHeaders}: the request's headers without caller credentials and hop-by-hop headers. */
public class StripCredentialsProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        exchange.setProperty(Exchanges.FORWARD_HEADERS, CredentialStripper.strip(in.headers()));
    }
}
