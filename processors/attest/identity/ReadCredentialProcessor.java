package attest.identity;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Sets {@code attestCredential}: the one token or virtual key the call presents; 401 for none or several. */
public class ReadCredentialProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        exchange.setProperty(Exchanges.CREDENTIAL, Credential.read(in::headerValues));
    }
}
