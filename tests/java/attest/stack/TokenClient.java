package attest.stack;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

/** Gets access tokens from the dev realm (password = username). */
public final class TokenClient {
    private final String issuer;

    public TokenClient(String issuer) {
        this.issuer = issuer;
    }

    public String password(String client, String user) throws Exception {
        String form = "grant_type=password&client_id=" + URLEncoder.encode(client, StandardCharsets.UTF_8)
                + "&username=" + user + "&password=" + user;
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(issuer
                        + "/protocol/openid-connect/token")).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("token request failed: " + r.statusCode());
        }
        return new ObjectMapper().readTree(r.body()).path("access_token").asText();
    }
}
