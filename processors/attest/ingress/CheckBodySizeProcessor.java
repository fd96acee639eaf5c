package attest.ingress;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Refuses (413) a body larger than {@code attest.data.max-body-bytes}, before anything reaches an upstream. */
public class CheckBodySizeProcessor implements Processor {
    private final long maxBytes;

    public CheckBodySizeProcessor(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        if (in.body().length > maxBytes) {
            throw GatewayException.tooLarge("request body exceeds " + maxBytes + " bytes");
        }
    }
}
