package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * The requester cancels their pending call: sets the answer (200) and the aggregator's signal, or refuses
 * with 409 when the call is no longer pending.
 */
public class CancelHeldCallProcessor implements Processor {
    private final ApprovalStore store;

    public CancelHeldCallProcessor(ApprovalStore store) {
        this.store = store;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        if (!store.cancel(a.id(), who.subject())) {
            throw new GatewayException(409, "not_pending", "the call is no longer pending (" + a.state() + ")",
                    Outcome.DENIED);
        }
        exchange.setProperty(Exchanges.APPROVAL_SIGNAL, new ApprovalSignal(a.id(), Approval.CANCELLED,
                a.expiresAt(), null));
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        m.setBody(("{\"approval_id\":\"" + a.id() + "\",\"state\":\"cancelled\"}").getBytes(
                java.nio.charset.StandardCharsets.UTF_8));
    }
}
