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
 * no scripts and no remote images), from the template {@code approval-page.html}, and, while the call is pending and the viewer may decide it, a form that
 * posts the decision with the session's CSRF token. Rendering never changes state.
 */
public class RenderApprovalPageProcessor implements Processor {
    private final Clock clock;
    private final ApprovalTemplates templates;
    private final ApprovalPreview preview;

    public RenderApprovalPageProcessor(Clock clock, ApprovalTemplates templates, ApprovalPreview preview) {
        this.clock = clock;
        this.templates = templates;
        this.preview = preview;
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
        boolean mayDecide = decided == null && Approval.PENDING.equals(state) && ApprovalAccess.mayDecide(a, who)
                && s != null && !ApprovalAccess.hasDecided(a, who);
        java.util.Map<String, Object> v = new java.util.HashMap<>();
        v.put("approval", a);
        v.put("waitingSeconds", Duration.between(a.createdAt(), now).toSeconds());
        v.put("expires", a.expiresAt().toString());
        v.put("shape", ApprovalTemplates.shape(preview.shape(a)));
        v.put("state", state);
        v.put("decided", decided != null);
        v.put("mayDecide", mayDecide);
        v.put("csrf", mayDecide ? s.csrf() : "");
        v.put("ownCall", decided == null && !mayDecide && ApprovalAccess.isRequester(a, who));
        v.put("notInPerson", decided == null && !ApprovalAccess.inPerson(who) && !ApprovalAccess.isRequester(a, who));
        v.put("viewer", who.username());
        String html = templates.render(ApprovalTemplates.PAGE, v);
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, Approval.EXPIRED.equals(state) && decided == null ? 410 : 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "text/html; charset=UTF-8");
        ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
        ResponseHeaders.of(exchange).set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
                + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
        ResponseHeaders.of(exchange).set("X-Frame-Options", "DENY");
        ResponseHeaders.of(exchange).set("X-Content-Type-Options", "nosniff");
        ResponseHeaders.of(exchange).set("Referrer-Policy", "same-origin");
        m.setBody(html.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
