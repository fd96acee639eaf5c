package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.time.Clock;
import java.time.Instant;

/**
 * Sets the body to one page of the held calls this approver may decide (never their own), as JSON: filtered
 * and ordered by the query ({@link ApprovalQuery}: pending and oldest first by default, at most
 * {@link ApprovalQuery#MAX_LIMIT} a page), with {@code next_cursor} for the next page. A bad query is a 400.
 */
public class ListApprovalsProcessor implements Processor {
    private final ApprovalStore store;
    private final Clock clock;
    private final ApprovalPreview preview;

    public ListApprovalsProcessor(ApprovalStore store, Clock clock, ApprovalPreview preview) {
        this.store = store;
        this.clock = clock;
        this.preview = preview;
    }

    @Override
    public void process(Exchange exchange) {
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        ApprovalQuery q;
        try {
            q = ApprovalQuery.parse(in.uri());
        } catch (IllegalArgumentException e) {
            throw GatewayException.badRequest(e.getMessage());
        }
        Instant now = clock.instant();
        ApprovalStore.Page page = store.list(q, who);
        var body = ApprovalJson.JSON.createObjectNode();
        var items = body.putArray("approvals");
        for (Approval a : page.items()) {
            if (ApprovalAccess.mayDecide(a, who)) { // the query already asked for this; checked again here
                items.add(ApprovalJson.summary(a, preview.shape(a), now));
            }
        }
        body.put("next_cursor", page.nextCursor());
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
        m.setBody(body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
