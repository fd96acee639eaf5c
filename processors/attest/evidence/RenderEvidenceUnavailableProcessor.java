package attest.evidence;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.ErrorBodies;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/** Sets the 503 response for a call whose evidence could not be committed: the answer is withheld. */
public class RenderEvidenceUnavailableProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 503);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set("Retry-After", "5");
        m.setBody(ErrorBodies.json("evidence_unavailable", "the evidence store is unavailable; the call was refused",
                exchange.getProperty(Exchanges.REQUEST_ID, String.class), null));
    }
}
