package attest.approval;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.evidence.Outcome;
import attest.http.WebOrigin;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;

/**
 * Checks a decision posted from the approval page and sets {@code attestApprovalDecision}: it needs a signed-in
 * session, the session's CSRF token in the form, and a same-origin request (Origin, or else Referer, must be
 * the control plane's public URL's origin, compared as RFC 6454 says: scheme and host in any case, a default port
 * written or not; {@link WebOrigin}). Anything else is refused with 403 and changes nothing; a form the page never
 * sends (a field given twice, so that which decision counts would be a guess; a broken percent escape) with 400.
 */
public class CheckApprovalFormProcessor implements Processor {
    private final WebOrigin publicOrigin;

    /** @throws IllegalArgumentException when {@code publicUrl} is not an http or https URL with a host */
    public CheckApprovalFormProcessor(String publicUrl) {
        this.publicOrigin = WebOrigin.ofUrl(publicUrl);
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        ApprovalSessions.Session s = exchange.getProperty(ReadApprovalSessionProcessor.SESSION,
                ApprovalSessions.Session.class);
        if (s == null) {
            throw forbidden("sign in first: open the approval link again");
        }
        if (!sameOrigin(in)) {
            throw forbidden("cross-origin decision refused");
        }
        Map<String, String> form;
        try {
            form = CompleteApprovalLoginProcessor.query("?" + new String(
                    in.body() == null ? new byte[0] : in.body(), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw GatewayException.badRequest("the form is not one the approval page sends: " + e.getMessage());
        }
        String csrf = form.get("csrf");
        if (csrf == null || !MessageDigest.isEqual(csrf.getBytes(StandardCharsets.UTF_8),
                s.csrf().getBytes(StandardCharsets.UTF_8))) {
            throw forbidden("missing or wrong CSRF token");
        }
        try {
            String comment = form.get("comment");
            exchange.setProperty(Exchanges.APPROVAL_DECISION, new DecisionInput(form.get("decision"),
                    comment == null || comment.isBlank() ? null : comment, "page"));
        } catch (IllegalArgumentException e) {
            throw GatewayException.badRequest(e.getMessage());
        }
    }

    /**
     * Whether the request comes from a page of ours: its Origin names our origin, or, when it sends none, its Referer
     * is one of our pages. A header given twice (no browser sends that; which one would count?) is not.
     */
    private boolean sameOrigin(InboundRequest in) {
        List<String> origins = in.headerValues("Origin");
        if (!origins.isEmpty()) {
            return origins.size() == 1 && WebOrigin.ofHeader(origins.get(0)).filter(publicOrigin::equals).isPresent();
        }
        List<String> referers = in.headerValues("Referer");
        return referers.size() == 1 && WebOrigin.ofReferer(referers.get(0)).filter(publicOrigin::equals).isPresent();
    }

    private static GatewayException forbidden(String message) {
        return new GatewayException(403, "forbidden", message, Outcome.DENIED);
    }
}
