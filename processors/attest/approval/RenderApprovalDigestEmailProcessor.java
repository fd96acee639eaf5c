package attest.approval;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * Sets the digest email for one approver (the split's body): how many more held calls wait for a decision,
 * and the link to the list of pending calls, from the template {@code approval-digest.html}. It names no call, requester or prompt. Every other header is
 * dropped first.
 */
public class RenderApprovalDigestEmailProcessor implements Processor {
    private final String from;
    private final String publicUrl;
    private final ApprovalTemplates templates;

    public RenderApprovalDigestEmailProcessor(String from, String publicUrl, ApprovalTemplates templates) {
        this.from = from;
        this.publicUrl = publicUrl;
        this.templates = templates;
    }

    @Override
    public void process(Exchange exchange) {
        ApprovalNotifications.Digest d = exchange.getMessage().getBody(ApprovalNotifications.Digest.class);
        String link = publicUrl + "/approvals";
        Message m = exchange.getMessage();
        m.removeHeaders("*");
        m.setHeader("To", d.email());
        m.setHeader("From", from);
        m.setHeader("Subject", "Approvals waiting: " + d.calls() + " more " + (d.calls() == 1 ? "call" : "calls"));
        m.setHeader(Exchange.CONTENT_TYPE, "text/html; charset=UTF-8");
        java.util.Map<String, Object> v = new java.util.HashMap<>();
        v.put("approver", d.username());
        v.put("calls", d.calls());
        v.put("link", link);
        m.setBody(templates.render(ApprovalTemplates.DIGEST, v));
    }
}
