package attest.identity;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** The credential router's otherwise: whatever was presented is not a credential the gateway knows (401). */
public class RefuseCredentialProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        throw new InvalidTokenException("no usable credential");
    }
}
