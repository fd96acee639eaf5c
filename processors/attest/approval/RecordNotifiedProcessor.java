package attest.approval;

import attest.Exchanges;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.List;

/**
 * Records, as the held call's evidence, to whom its approval request was sent, and who was past their email
 * rate limit (the call is counted in their digest instead).
 */
public class RecordNotifiedProcessor implements Processor {
    private final ApprovalStore store;

    public RecordNotifiedProcessor(ApprovalStore store) {
        this.store = store;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        @SuppressWarnings("unchecked")
        List<ApproverDirectory.Approver> to = exchange.getProperty(FindApproversProcessor.APPROVERS, List.class);
        @SuppressWarnings("unchecked")
        List<ApproverDirectory.Approver> later = exchange.getProperty(AllotApprovalEmailsProcessor.HELD_BACK,
                List.class);
        if ((to == null || to.isEmpty()) && (later == null || later.isEmpty())) {
            return; // nobody was notified (email off, or no approver with an address)
        }
        ObjectNode d = ApprovalJson.JSON.createObjectNode();
        d.put("channel", "email");
        var names = d.putArray("recipients");
        for (ApproverDirectory.Approver p : to == null ? List.<ApproverDirectory.Approver>of() : to) {
            names.add(p.username());
        }
        var digest = d.putArray("digest");
        for (ApproverDirectory.Approver p : later == null ? List.<ApproverDirectory.Approver>of() : later) {
            digest.add(p.username());
        }
        store.record(a, "notified", null, d);
    }
}
