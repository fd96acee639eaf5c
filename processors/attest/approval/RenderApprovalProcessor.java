package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.time.Clock;

/** Sets the body to one held call ({@code attestApproval}) as the approvers' JSON view, with its decisions. */
public class RenderApprovalProcessor implements Processor {
    private final Clock clock;
    private final ApprovalPreview preview;

    public RenderApprovalProcessor(Clock clock, ApprovalPreview preview) {
        this.clock = clock;
        this.preview = preview;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        m.setBody(ApprovalJson.full(a, preview.shape(a), clock.instant()).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
