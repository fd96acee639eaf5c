package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Starts the approval page's sign-in with Keycloak: the authorization code flow with PKCE (S256). Stores
 * the state and verifier (single use, expiring, capped globally and per source: past a cap 429), binds them to
 * this browser with a login cookie (HttpOnly, SameSite=Lax, path /auth/callback, Secure on https) and redirects
 * to the authorization endpoint.
 */
public class StartApprovalLoginProcessor implements Processor {
    private final ApprovalSessions sessions;
    private final String authorizationEndpoint;
    private final String clientId;
    private final String publicUrl;

    public StartApprovalLoginProcessor(ApprovalSessions sessions, String authorizationEndpoint, String clientId,
                                       String publicUrl) {
        this.sessions = sessions;
        this.authorizationEndpoint = authorizationEndpoint;
        this.clientId = clientId;
        this.publicUrl = publicUrl;
    }

    /** The cookie that binds a pending sign-in to the browser that started it. */
    public static final String COOKIE = "attest_approval_login";

    @Override
    public void process(Exchange exchange) {
        String state = ApprovalSessions.random();
        String verifier = ApprovalSessions.random();
        String browser = ApprovalSessions.random();
        String id = exchange.getMessage().getHeader(ApprovalTallyStrategy.APPROVAL_ID, String.class);
        attest.http.InboundRequest in = exchange.getProperty(Exchanges.INBOUND, attest.http.InboundRequest.class);
        try {
            sessions.saveLogin(state, verifier, "/approvals/" + id + "/review", browser,
                    in == null ? null : in.sourceAddress());
        } catch (ApprovalSessions.TooManyLoginsException e) {
            throw new attest.http.GatewayException(429, "too_many_sign_ins", "too many sign-ins are pending; try "
                    + "again later", attest.evidence.Outcome.DENIED, java.util.Map.of("Retry-After",
                    String.valueOf(Math.max(1, sessions.loginTtl().toSeconds()))));
        }
        String location = authorizationEndpoint + "?response_type=code&scope=openid"
                + "&client_id=" + enc(clientId) + "&redirect_uri=" + enc(publicUrl + "/auth/callback")
                + "&state=" + enc(state) + "&code_challenge=" + enc(ApprovalSessions.s256(verifier))
                + "&code_challenge_method=S256";
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 302);
        ResponseHeaders.of(exchange).set("Location", location);
        ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
        ResponseHeaders.of(exchange).set("Set-Cookie", COOKIE + "=" + browser + "; Path=/auth/callback; HttpOnly; SameSite=Lax; Max-Age="
                + sessions.loginTtl().toSeconds() + (publicUrl.regionMatches(true, 0, "https:", 0, 6) ? "; Secure" : ""));
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "text/plain; charset=UTF-8");
        m.setBody("sign in to review this call\n");
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
