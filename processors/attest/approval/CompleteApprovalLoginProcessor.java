package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.evidence.Outcome;
import attest.identity.Identity;
import attest.identity.InvalidTokenException;
import attest.identity.TokenValidator;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Ends the approval page's sign-in: takes the single-use state (only from the browser that started the sign-in:
 * its login cookie must match, so a callback planted in another browser is refused), redeems the code with its PKCE verifier at
 * the token endpoint ({@link TokenEndpoint}: unreachable 503, a refused code 401, any other answer without an access
 * token 502, nothing of the answer shown or logged, no session started), validates the access token exactly like a
 * bearer token, starts a session (cookie:
 * HttpOnly, SameSite=Lax, path /approvals) that ends when the access token would have, and redirects back to
 * the page. The session keeps the proven identity, never the token.
 */
public class CompleteApprovalLoginProcessor implements Processor {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(
            CompleteApprovalLoginProcessor.class);
    private final ApprovalSessions sessions;
    private final TokenValidator validator;
    private final TokenEndpoint tokenEndpoint;
    private final String clientId;
    private final String publicUrl;
    private final Duration sessionTtl;
    private final Clock clock;

    public CompleteApprovalLoginProcessor(ApprovalSessions sessions, TokenValidator validator, String tokenEndpoint,
                                          String clientId, String publicUrl, Duration sessionTtl, Clock clock) {
        this.sessions = sessions;
        this.validator = validator;
        this.tokenEndpoint = new TokenEndpoint(tokenEndpoint, Duration.ofSeconds(5));
        this.clientId = clientId;
        this.publicUrl = publicUrl;
        this.sessionTtl = sessionTtl;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) throws InterruptedException {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        Map<String, String> q;
        try {
            q = query(in.uri());
        } catch (IllegalArgumentException e) {
            throw GatewayException.badRequest("sign-in was not completed: " + e.getMessage());
        }
        String code = q.get("code");
        String state = q.get("state");
        if (code == null || state == null) {
            throw GatewayException.badRequest("sign-in was not completed");
        }
        String browser = ReadApprovalSessionProcessor.cookie(in, StartApprovalLoginProcessor.COOKIE);
        ApprovalSessions.Login login = sessions.takeLogin(state, browser).orElseThrow(() ->
                GatewayException.badRequest("unknown or expired sign-in; open the approval link again"));
        String form = "grant_type=authorization_code&code=" + enc(code) + "&redirect_uri="
                + enc(publicUrl + "/auth/callback") + "&client_id=" + enc(clientId) + "&code_verifier="
                + enc(login.verifier());
        TokenEndpoint.Tokens tokens;
        try {
            tokens = tokenEndpoint.redeem(form);
        } catch (TokenEndpoint.Failure f) {
            // the failure's fixed text only: never the endpoint's answer, which may carry a token or its reasons
            LOG.warn("approval page sign-in not completed: {}", f.getMessage());
            throw switch (f.kind()) {
                case REFUSED -> new GatewayException(401, "sign_in_failed", "the sign-in could not be completed; "
                        + "open the approval link again", Outcome.UNAUTHENTICATED);
                case UNREACHABLE -> new GatewayException(503, "identity_provider_unavailable", "the sign-in service "
                        + "cannot be reached; open the approval link again later", Outcome.UNAUTHENTICATED,
                        Map.of("Retry-After", "5"));
                case BAD_ANSWER -> new GatewayException(502, "identity_provider_error", "the sign-in service gave "
                        + "no usable answer; open the approval link again later", Outcome.UNAUTHENTICATED);
            };
        }
        Identity who;
        try {
            who = validator.validate(tokens.accessToken());
        } catch (InvalidTokenException e) {
            throw new GatewayException(401, "sign_in_failed", "the sign-in could not be completed",
                    Outcome.UNAUTHENTICATED);
        }
        Duration lifetime = sessionTtl;
        long expiresIn = tokens.expiresIn();
        if (expiresIn > 0 && Duration.ofSeconds(expiresIn).compareTo(lifetime) < 0) {
            lifetime = Duration.ofSeconds(expiresIn);
        }
        String session = sessions.startSession(who, clock.instant().plus(lifetime));
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 302);
        ResponseHeaders.of(exchange).set("Location", login.returnTo());
        ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
        ResponseHeaders.of(exchange).set("Set-Cookie", ReadApprovalSessionProcessor.COOKIE + "=" + session + "; Path=/approvals; HttpOnly; "
                + "SameSite=Lax; Max-Age=" + lifetime.toSeconds() + (publicUrl.regionMatches(true, 0, "https:", 0, 6) ? "; Secure" : ""));
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "text/plain; charset=UTF-8");
        m.setBody("signed in\n");
    }

    /**
     * The decoded parameters of a query (or of a form, behind a {@code ?}). Strict, as neither Keycloak's redirect
     * nor the approval page's form sends anything else: a name given twice (which one would count?) or a broken
     * percent escape is an {@link IllegalArgumentException}, which callers answer with 400.
     */
    static Map<String, String> query(String uri) {
        Map<String, String> out = new HashMap<>();
        for (Map.Entry<String, String> p : attest.http.QueryParameters.of(uri)) {
            if (out.putIfAbsent(p.getKey(), p.getValue()) != null) {
                throw new IllegalArgumentException("a parameter is given twice");
            }
        }
        return out;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
