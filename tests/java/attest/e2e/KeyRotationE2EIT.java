package attest.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static attest.e2e.E2E.CHAT;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.post;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Keycloak rotates its signing key; the running gateway accepts tokens signed with the new key. */
class KeyRotationE2EIT {
    @Test
    void should_accept_tokens_signed_by_a_rotated_key_without_restart() throws Exception {
        String before = stack().userToken("alice");
        assertThat(post("/llm/v1/chat/completions", before, newRequestId(), CHAT).statusCode()).isEqualTo(200);
        String oldKid = SignedJWT.parse(before).getHeader().getKeyID();

        String admin = adminToken();
        JsonNode realm = E2E.JSON.readTree(send(HttpRequest.newBuilder(URI.create(stack().issuer.replace("/realms/",
                "/admin/realms/"))).header("Authorization", "Bearer " + admin).GET().build()).body());
        String component = """
                {"name":"rotated-%d","providerId":"rsa-generated","providerType":"org.keycloak.keys.KeyProvider",
                 "parentId":"%s","config":{"priority":["%d"],"enabled":["true"],"active":["true"],"algorithm":["RS256"]}}
                """.formatted(System.nanoTime(), realm.path("id").asText(), 100_000 + (System.nanoTime() % 1000));
        HttpResponse<String> created = send(HttpRequest.newBuilder(URI.create(stack().issuer.replace("/realms/",
                        "/admin/realms/") + "/components")).header("Authorization", "Bearer " + admin)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(component)).build());
        assertThat(created.statusCode()).isEqualTo(201);

        String after = stack().userToken("alice");
        assertThat(SignedJWT.parse(after).getHeader().getKeyID()).isNotEqualTo(oldKid);
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofSeconds(1)).until(() ->
                post("/llm/v1/chat/completions", after, newRequestId(), CHAT).statusCode() == 200);
        // the old key is still published, so tokens it signed stay valid until they expire
        assertThat(post("/llm/v1/chat/completions", before, newRequestId(), CHAT).statusCode()).isEqualTo(200);
    }

    static String adminToken() throws Exception {
        String base = stack().issuer.substring(0, stack().issuer.indexOf("/realms/"));
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(base
                        + "/realms/master/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=password&client_id=admin-cli&username=admin"
                        + "&password=admin")).build());
        assertThat(r.statusCode()).as("Keycloak admin login (the harness starts Keycloak with admin/admin)")
                .isEqualTo(200);
        String token = E2E.JSON.readTree(r.body()).path("access_token").asText();
        stack().secrets.add(token);
        return token;
    }

    static HttpResponse<String> send(HttpRequest request) throws Exception {
        return E2E.HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
