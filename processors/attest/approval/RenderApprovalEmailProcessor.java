package attest.approval;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.time.format.DateTimeFormatter;

/**
 * Sets the approval email for one approver (the split's body): requester, rule, reason, what the call asks of
 * the model (upstream, model, max_tokens, stream, tools, logprobs; the names masked), masked preview and the link to the approval
 * page, from the template {@code approval-email.html}. The prompt is escaped and nothing remote is referenced. Every other
 * header is dropped first, so nothing of the caller's request (above all its Authorization) reaches mail.
 */
public class RenderApprovalEmailProcessor implements Processor {
    private final String from;
    private final String publicUrl;
    private final ApprovalTemplates templates;
    private final ApprovalPreview preview;

    public RenderApprovalEmailProcessor(String from, String publicUrl, ApprovalTemplates templates,
                                        ApprovalPreview preview) {
        this.from = from;
        this.publicUrl = publicUrl;
        this.templates = templates;
        this.preview = preview;
    }

    @Override
    public void process(Exchange exchange) {
        ApproverDirectory.Approver to = exchange.getMessage().getBody(ApproverDirectory.Approver.class);
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        String link = publicUrl + "/approvals/" + a.id() + "/review";
        Message m = exchange.getMessage();
        m.removeHeaders("*");
        m.setHeader("To", to.email());
        m.setHeader("From", from);
        m.setHeader("Subject", "Approval needed: " + a.ruleId() + " (" + a.requesterUsername() + ")");
        m.setHeader(Exchange.CONTENT_TYPE, "text/html; charset=UTF-8");
        java.util.Map<String, Object> v = new java.util.HashMap<>();
        v.put("approver", to.username());
        v.put("approval", a);
        v.put("shape", ApprovalTemplates.shape(preview.shape(a)));
        v.put("expires", DateTimeFormatter.ISO_INSTANT.format(a.expiresAt()));
        v.put("link", link);
        m.setBody(templates.render(ApprovalTemplates.EMAIL, v));
    }
}
