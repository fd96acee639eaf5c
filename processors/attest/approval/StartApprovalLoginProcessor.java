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
 * the state and verifier (single use) and redirects to the authorization endpoint.
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

    @Override
    public void process(Exchange exchange) {
        String state = ApprovalSessions.random();
        String verifier = ApprovalSessions.random();
        String id = exchange.getMessage().getHeader(ApprovalTallyStrategy.APPROVAL_ID, String.class);
        sessions.saveLogin(state, verifier, "/approvals/" + id + "/review");
        String location = authorizationEndpoint + "?response_type=code&scope=openid"
                + "&client_id=" + enc(clientId) + "&redirect_uri=" + enc(publicUrl + "/auth/callback")
                + "&state=" + enc(state) + "&code_challenge=" + enc(ApprovalSessions.s256(verifier))
                + "&code_challenge_method=S256";
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 302);
        ResponseHeaders.of(exchange).set("Location", location);
        ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "text/plain; charset=UTF-8");
        m.setBody("sign in to review this call\n");
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
