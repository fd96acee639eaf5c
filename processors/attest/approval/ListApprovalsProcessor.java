package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.time.Clock;
import java.time.Instant;

/** Sets the body to the pending calls this approver may decide (never their own), oldest first, as JSON. */
public class ListApprovalsProcessor implements Processor {
    private final ApprovalStore store;
    private final Clock clock;

    public ListApprovalsProcessor(ApprovalStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        Instant now = clock.instant();
        var body = ApprovalJson.JSON.createObjectNode();
        var items = body.putArray("approvals");
        for (Approval a : store.pending(500)) {
            if (ApprovalAccess.mayDecide(a, who)) {
                items.add(ApprovalJson.summary(a, now));
            }
        }
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        m.setBody(body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
