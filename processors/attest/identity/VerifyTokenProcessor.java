package attest.identity;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Sets {@code attestIdentity} from a valid bearer token; throws 401 otherwise. */
public class VerifyTokenProcessor implements Processor {
    private final TokenValidator validator;

    public VerifyTokenProcessor(TokenValidator validator) {
        this.validator = validator;
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        var values = in.headerValues("Authorization");
        if (values.size() > 1) {
            throw new InvalidTokenException("more than one Authorization header");
        }
        exchange.setProperty(Exchanges.IDENTITY, validator.validateAuthorization(values.isEmpty() ? null : values.get(0)));
    }
}
