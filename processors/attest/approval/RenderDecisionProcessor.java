package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/** Sets the answer to an applied decision: 200 with the call's state after it. */
public class RenderDecisionProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        DecisionInput input = exchange.getProperty(Exchanges.APPROVAL_DECISION, DecisionInput.class);
        var body = ApprovalJson.JSON.createObjectNode();
        body.put("approval_id", a.id().toString());
        body.put("decision", input.decision());
        body.put("state", exchange.getProperty(Exchanges.APPROVAL_DECIDED, String.class));
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        m.setBody(body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
