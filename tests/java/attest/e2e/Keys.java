package attest.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.keycloak.admin.client.Keycloak;
import org.keycloak.admin.client.KeycloakBuilder;
import org.keycloak.admin.client.resource.RealmResource;
import org.keycloak.representations.idm.ClientRepresentation;
import org.keycloak.representations.idm.CredentialRepresentation;
import org.keycloak.representations.idm.UserRepresentation;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.stack;

/**
 * Helpers for the virtual-key tests: the control plane's /keys, calls with a key, and the shared Keycloak's admin
 * API (as the realm's master admin) for users and clients of a test's own, removed afterwards, so that no other
 * test's users or token lifespans change.
 */
final class Keys {
    private static Keycloak admin;

    private Keys() {
    }

    static synchronized RealmResource realm() {
        if (admin == null) {
            admin = KeycloakBuilder.builder().serverUrl(stack().keycloakUrl).realm("master").clientId("admin-cli")
                    .username("admin").password("admin").build();
        }
        return admin.realm("attest");
    }

    static String control() {
        return "http://127.0.0.1:" + stack().controlPort;
    }

    /** A user of the test's own, with these realm roles (password = username). Returns the user id. */
    static String createUser(String username, String... roles) {
        UserRepresentation u = new UserRepresentation();
        u.setUsername(username);
        u.setEnabled(true);
        u.setEmail(username + "@example.test");
        u.setEmailVerified(true);
        u.setFirstName("Key");
        u.setLastName("Tester");
        CredentialRepresentation pw = new CredentialRepresentation();
        pw.setType(CredentialRepresentation.PASSWORD);
        pw.setValue(username);
        pw.setTemporary(false);
        u.setCredentials(List.of(pw));
        try (var r = realm().users().create(u)) {
            if (r.getStatus() != 201) {
                throw new IllegalStateException("user not created: " + r.getStatus());
            }
        }
        String id = realm().users().searchByUsername(username, true).get(0).getId();
        realm().users().get(id).roles().realmLevel().add(List.of(roles).stream()
                .map(role -> realm().roles().get(role).toRepresentation()).toList());
        return id;
    }

    static void setEnabled(String userId, boolean enabled) {
        UserRepresentation u = realm().users().get(userId).toRepresentation();
        u.setEnabled(enabled);
        realm().users().get(userId).update(u);
    }

    static void deleteUser(String userId) {
        try (var ignored = realm().users().delete(userId)) {
            // removed
        }
    }

    /** A copy of attest-cli whose access tokens live {@code seconds} (the realm's own lifespan is left alone). */
    static String createShortClient(String clientId, int seconds) {
        ClientRepresentation cli = realm().clients().findByClientId("attest-cli").get(0);
        ClientRepresentation c = new ClientRepresentation();
        c.setClientId(clientId);
        c.setEnabled(true);
        c.setPublicClient(true);
        c.setDirectAccessGrantsEnabled(true);
        c.setStandardFlowEnabled(false);
        c.setProtocol("openid-connect");
        c.setProtocolMappers(realm().clients().get(cli.getId()).getProtocolMappers().getMappers().stream()
                .peek(m -> m.setId(null)).toList());
        c.setAttributes(Map.of("access.token.lifespan", String.valueOf(seconds)));
        try (var r = realm().clients().create(c)) {
            if (r.getStatus() != 201) {
                throw new IllegalStateException("client not created: " + r.getStatus());
            }
        }
        return realm().clients().findByClientId(clientId).get(0).getId();
    }

    static void deleteClient(String id) {
        realm().clients().get(id).remove();
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** POST /keys with a bearer credential (token or key) and a JSON body. */
    static HttpResponse<String> create(String bearer, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(control() + "/keys")).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + bearer).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Creates a key (201 expected) and returns its JSON; the secret is added to the log hygiene checks. */
    static JsonNode createKey(String token, String body) throws Exception {
        HttpResponse<String> r = create(token, body);
        if (r.statusCode() != 201) {
            throw new AssertionError("key not created: " + r.statusCode() + " " + r.body());
        }
        JsonNode k = JSON.readTree(r.body());
        stack().secrets.add(k.path("key").asText());
        return k;
    }

    static HttpResponse<String> list(String bearer) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(control() + "/keys")).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + bearer).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> revoke(String bearer, String id) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(control() + "/keys/" + id)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + bearer).DELETE().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A call to {@code base + path} with the credential in the named header (Authorization gets "Bearer "). */
    static HttpResponse<String> call(String base, String path, String header, String credential, String body)
            throws Exception {
        return call(base, path, header, credential, body, E2E.newRequestId());
    }

    static HttpResponse<String> call(String base, String path, String header, String credential, String body,
                                     String requestId) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").header("X-Request-Id", requestId)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (credential != null) {
            b.header(header, header.equalsIgnoreCase("Authorization") ? "Bearer " + credential : credential);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> chat(String key, String model) throws Exception {
        return call(stack().gatewayUrl(), "/llm/v1/chat/completions", "Authorization", key,
                "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
    }

    /** A password-grant token from a given client. */
    static String token(String client, String username) throws Exception {
        String form = "grant_type=password&client_id=" + client + "&username=" + URLEncoder.encode(username,
                StandardCharsets.UTF_8) + "&password=" + URLEncoder.encode(username, StandardCharsets.UTF_8);
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(stack().issuer
                        + "/protocol/openid-connect/token")).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("token: " + r.statusCode() + " " + r.body());
        }
        String t = JSON.readTree(r.body()).path("access_token").asText();
        stack().secrets.add(t);
        return t;
    }

    static long count(String sql, Object... args) throws Exception {
        try (var c = stack().db(); var ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
