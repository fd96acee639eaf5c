package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Sets the approval page for a signed-in approver: the masked call (escaped, inert: the page's policy allows
 * no scripts and no remote images) and, while the call is pending and the viewer may decide it, a form that
 * posts the decision with the session's CSRF token. Rendering never changes state.
 */
public class RenderApprovalPageProcessor implements Processor {
    private final Clock clock;

    public RenderApprovalPageProcessor(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        ApprovalSessions.Session s = exchange.getProperty(ReadApprovalSessionProcessor.SESSION,
                ApprovalSessions.Session.class);
        String decided = exchange.getProperty(Exchanges.APPROVAL_DECIDED, String.class);
        Instant now = clock.instant();
        String state = decided != null ? decided
                : Approval.PENDING.equals(a.state()) && !now.isBefore(a.expiresAt()) ? Approval.EXPIRED : a.state();
        StringBuilder html = new StringBuilder(2048);
        html.append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Attest approval</title></head><body>")
                .append("<h1>Held call</h1><table>")
                .append(row("Requester", a.requesterUsername()))
                .append(row("Rule", a.ruleId()))
                .append(row("Reason", a.reason()))
                .append(row("Path", a.upstream() + " " + a.targetPath()))
                .append(row("Waiting", Duration.between(a.createdAt(), now).toSeconds() + " s"))
                .append(row("Expires", a.expiresAt().toString()))
                .append(row("Approvals", a.approvals() + " of " + a.approvalsRequired()))
                .append(shape(CallShape.of(a.upstream(), a.requestBody())))
                .append("<tr><th>State</th><td id=\"state\">").append(Html.escape(state)).append("</td></tr>")
                .append("</table><h2>Prompt (masked)</h2><pre id=\"preview\">").append(Html.escape(a.preview()))
                .append("</pre>");
        if (decided != null) {
            html.append("<p id=\"result\">Your decision was recorded.</p>");
        } else if (Approval.PENDING.equals(state) && ApprovalAccess.mayDecide(a, who) && s != null
                && a.votes().stream().noneMatch(v -> v.approverSubject().equals(who.subject()))) {
            html.append("<form method=\"post\" action=\"/approvals/").append(a.id()).append("/review\">")
                    .append("<input type=\"hidden\" name=\"csrf\" value=\"").append(Html.escape(s.csrf())).append("\">")
                    .append("<p><label>Comment <textarea name=\"comment\" id=\"comment\"></textarea></label></p>")
                    .append("<button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Approve</button> ")
                    .append("<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>")
                    .append("</form>");
        } else if (a.requesterSubject().equals(who.subject())) {
            html.append("<p id=\"result\">This is your own call: you cannot decide it.</p>");
        }
        html.append("<p>Signed in as ").append(Html.escape(who.username())).append("</p></body></html>");
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, Approval.EXPIRED.equals(state) && decided == null ? 410 : 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "text/html; charset=UTF-8");
        ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
        ResponseHeaders.of(exchange).set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
                + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
        ResponseHeaders.of(exchange).set("X-Frame-Options", "DENY");
        ResponseHeaders.of(exchange).set("X-Content-Type-Options", "nosniff");
        ResponseHeaders.of(exchange).set("Referrer-Policy", "same-origin");
        m.setBody(html.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static String shape(CallShape c) {
        StringBuilder b = new StringBuilder();
        for (String[] r : c.rows()) {
            b.append("<tr><th>").append(Html.escape(r[0])).append("</th><td class=\"call\" id=\"call-")
                    .append(r[0].toLowerCase(java.util.Locale.ROOT).replace(' ', '-')).append("\">")
                    .append(Html.escape(r[1])).append("</td></tr>");
        }
        return b.toString();
    }

    private static String row(String name, String value) {
        return "<tr><th>" + Html.escape(name) + "</th><td>" + Html.escape(value) + "</td></tr>";
    }
}
