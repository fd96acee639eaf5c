package attest.approval;

import jakarta.ws.rs.NotFoundException;
import org.keycloak.OAuth2Constants;
import org.keycloak.admin.client.Keycloak;
import org.keycloak.admin.client.KeycloakBuilder;
import org.keycloak.admin.client.resource.RealmResource;
import org.keycloak.representations.idm.GroupRepresentation;
import org.keycloak.representations.idm.UserRepresentation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Approvers from Keycloak, through the Admin Client, as the gateway's own service account (client
 * credentials; the account needs realm-management's view-users, query-users, query-groups and view-realm,
 * which reading a role's members requires).
 */
public final class KeycloakApproverDirectory implements ApproverDirectory, AutoCloseable {
    private static final int MAX = 500;
    private final Keycloak keycloak;
    private final String realm;

    public KeycloakApproverDirectory(String serverUrl, String realm, String clientId, String clientSecret) {
        this.realm = realm;
        this.keycloak = KeycloakBuilder.builder().serverUrl(serverUrl).realm(realm).clientId(clientId)
                .clientSecret(clientSecret).grantType(OAuth2Constants.CLIENT_CREDENTIALS).build();
    }

    /** The server URL and realm of an issuer such as {@code http://host:8180/realms/attest}. */
    public static String[] serverAndRealm(String issuer) {
        int i = issuer.indexOf("/realms/");
        if (i < 0) {
            throw new IllegalArgumentException("issuer is not a Keycloak realm URL: " + issuer);
        }
        return new String[]{issuer.substring(0, i), issuer.substring(i + "/realms/".length())};
    }

    @Override
    public List<Approver> find(String role, String group) {
        RealmResource r = keycloak.realm(realm);
        Map<String, Approver> found = new LinkedHashMap<>();
        if (role != null) {
            try {
                add(found, r.roles().get(role).getUserMembers(0, MAX));
            } catch (NotFoundException e) {
                // no such role: nobody to notify by role
            }
        }
        if (group != null) {
            try {
                GroupRepresentation g = r.getGroupByPath(group.startsWith("/") ? group.substring(1) : group);
                add(found, r.groups().group(g.getId()).members(0, MAX));
            } catch (NotFoundException e) {
                // no such group
            }
        }
        return new ArrayList<>(found.values());
    }

    private static void add(Map<String, Approver> found, List<UserRepresentation> users) {
        for (UserRepresentation u : users) {
            if (Boolean.TRUE.equals(u.isEnabled()) && u.getEmail() != null && !u.getEmail().isBlank()) {
                found.putIfAbsent(u.getId(), new Approver(u.getId(), u.getUsername(), u.getEmail()));
            }
        }
    }

    @Override
    public void close() {
        keycloak.close();
    }
}
