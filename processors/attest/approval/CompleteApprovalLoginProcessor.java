package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.http.Outcomes;
import attest.identity.Identity;
import attest.identity.InvalidTokenException;
import attest.identity.TokenValidator;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Ends the approval page's sign-in: takes the single-use state (only from the browser that started the sign-in:
 * its login cookie must match, so a callback planted in another browser is refused), redeems the code with its PKCE verifier at
 * the token endpoint, validates the access token exactly like a bearer token, starts a session (cookie:
 * HttpOnly, SameSite=Lax, path /approvals) that ends when the access token would have, and redirects back to
 * the page. The session keeps the proven identity, never the token.
 */
public class CompleteApprovalLoginProcessor implements Processor {
    private final ApprovalSessions sessions;
    private final TokenValidator validator;
    private final String tokenEndpoint;
    private final String clientId;
    private final String publicUrl;
    private final Duration sessionTtl;
    private final Clock clock;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    public CompleteApprovalLoginProcessor(ApprovalSessions sessions, TokenValidator validator, String tokenEndpoint,
                                          String clientId, String publicUrl, Duration sessionTtl, Clock clock) {
        this.sessions = sessions;
        this.validator = validator;
        this.tokenEndpoint = tokenEndpoint;
        this.clientId = clientId;
        this.publicUrl = publicUrl;
        this.sessionTtl = sessionTtl;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) throws IOException, InterruptedException {
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
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(tokenEndpoint))
                .timeout(Duration.ofSeconds(5)).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new GatewayException(401, "sign_in_failed", "the sign-in could not be completed",
                    Outcomes.UNAUTHENTICATED);
        }
        JsonNode tokens = ApprovalJson.JSON.readTree(r.body());
        String access = tokens.path("access_token").asText(null);
        Identity who;
        try {
            who = validator.validate(access);
        } catch (InvalidTokenException e) {
            throw new GatewayException(401, "sign_in_failed", "the sign-in could not be completed",
                    Outcomes.UNAUTHENTICATED);
        }
        Duration lifetime = sessionTtl;
        long expiresIn = tokens.path("expires_in").asLong(0);
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
