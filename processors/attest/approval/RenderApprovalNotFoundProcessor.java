package attest.approval;

import attest.http.GatewayException;
import attest.evidence.Outcome;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Refuses a control-plane request (approvals, audit records) that names nothing known: 404. */
public class RenderApprovalNotFoundProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        throw new GatewayException(404, "not_found", "no such resource", Outcome.DENIED);
    }
}
