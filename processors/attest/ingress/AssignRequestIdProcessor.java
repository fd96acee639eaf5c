package attest.ingress;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.http.ResponseHeaders;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Sets {@code attestRequestId}: the caller's well-formed X-Request-Id, or a new one. */
public class AssignRequestIdProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        exchange.setProperty(Exchanges.REQUEST_ID, RequestIds.acceptOrMint(in.header(ResponseHeaders.REQUEST_ID)));
    }
}
