package attest.approval;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * Sets the digest email for one approver (the split's body): how many more held calls wait for a decision,
 * and the link to the list of pending calls. It names no call, requester or prompt. Every other header is
 * dropped first.
 */
public class RenderApprovalDigestEmailProcessor implements Processor {
    private final String from;
    private final String publicUrl;

    public RenderApprovalDigestEmailProcessor(String from, String publicUrl) {
        this.from = from;
        this.publicUrl = publicUrl;
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
        m.setBody("""
                <!DOCTYPE html><html><body>
                <p>Hello %s,</p>
                <p id="digest"><b>%d more %s</b> waiting for approval were held since your last approval emails.
                They were not mailed one by one, to keep your inbox usable.</p>
                <p>See them with <code>GET %s</code> (newest first: <code>?order=newest</code>).</p>
                </body></html>
                """.formatted(Html.escape(d.username()), d.calls(), d.calls() == 1 ? "call" : "calls",
                Html.escape(link)));
    }
}
