package attest.ingress;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.http.ResponseHeaders;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestRequestId}: always a new id of the gateway's own, and {@code attestCorrelationId}: the
 * caller's well-formed X-Request-Id, if any, recorded with the evidence as a correlation id only.
 */
public class AssignRequestIdProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        exchange.setProperty(Exchanges.REQUEST_ID, RequestIds.mint());
        var offered = in.headerValues(ResponseHeaders.REQUEST_ID);
        String correlation = offered.size() == 1 ? RequestIds.correlation(offered.get(0)) : null;
        if (correlation != null) {
            exchange.setProperty(Exchanges.CORRELATION_ID, correlation);
        }
    }
}
