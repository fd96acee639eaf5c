package attest.approval;

import attest.Exchanges;
import attest.http.ErrorBodies;
import attest.policy.Decision;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * Until just-in-time approval exists, a call that needs review is refused: 403 {@code approval_required},
 * naming the rule. Its evidence is written like any other refusal.
 */
public class RenderApprovalRequiredProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        Decision d = exchange.getProperty(Exchanges.DECISION, Decision.class);
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 403);
        m.setHeader(Exchange.CONTENT_TYPE, "application/json");
        m.setBody(ErrorBodies.json("approval_required",
                "this call needs approval: " + (d == null ? "review required" : d.reason()),
                exchange.getProperty(Exchanges.REQUEST_ID, String.class), d == null ? null : d.ruleId()));
    }
}
