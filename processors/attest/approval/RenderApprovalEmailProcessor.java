package attest.approval;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.time.format.DateTimeFormatter;

/**
 * Sets the approval email for one approver (the split's body): requester, rule, reason, what the call asks of
 * the model (upstream, model, max_tokens, stream, tools, logprobs), masked preview and the link to the approval
 * page. The prompt is escaped and nothing remote is referenced. Every other
 * header is dropped first, so nothing of the caller's request (above all its Authorization) reaches mail.
 */
public class RenderApprovalEmailProcessor implements Processor {
    private final String from;
    private final String publicUrl;

    public RenderApprovalEmailProcessor(String from, String publicUrl) {
        this.from = from;
        this.publicUrl = publicUrl;
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
        m.setBody("""
                <!DOCTYPE html><html><body>
                <p>Hello %s,</p>
                <p><b>%s</b> made a call that needs your approval.</p>
                <table>
                <tr><td>Rule</td><td>%s</td></tr>
                <tr><td>Reason</td><td>%s</td></tr>
                <tr><td>Path</td><td>%s %s</td></tr>
                %s
                <tr><td>Expires</td><td>%s</td></tr>
                </table>
                <p>The prompt, masked:</p>
                <pre>%s</pre>
                <p><a href="%s">Review and decide</a> (you will be asked to sign in). %s</p>
                </body></html>
                """.formatted(Html.escape(to.username()), Html.escape(a.requesterUsername()), Html.escape(a.ruleId()),
                Html.escape(a.reason()), Html.escape(a.upstream()), Html.escape(a.targetPath()),
                RenderApprovalPageProcessor.shape(CallShape.of(a.upstream(), a.requestBody())),
                DateTimeFormatter.ISO_INSTANT.format(a.expiresAt()), Html.escape(a.preview()), Html.escape(link),
                Html.escape(link)));
    }
}
