package attest.keys;

import jakarta.ws.rs.NotFoundException;
import org.keycloak.OAuth2Constants;
import org.keycloak.admin.client.Keycloak;
import org.keycloak.admin.client.KeycloakBuilder;
import org.keycloak.admin.client.resource.UserResource;
import org.keycloak.representations.idm.GroupRepresentation;
import org.keycloak.representations.idm.RoleRepresentation;
import org.keycloak.representations.idm.UserRepresentation;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Key owners as Keycloak knows them now, read with the Admin Client under the gateway's own service account
 * (realm-management {@code view-users}): the enabled flag, effective realm roles (composites included, as in a
 * token) and group paths. Works for people and service accounts alike (a service account is a user).
 */
public final class KeycloakOwnerDirectory implements OwnerDirectory, AutoCloseable {
    private static final int MAX_GROUPS = 500;
    private final Keycloak keycloak;
    private final String realm;

    public KeycloakOwnerDirectory(String serverUrl, String realm, String clientId, String clientSecret) {
        this.realm = realm;
        this.keycloak = KeycloakBuilder.builder().serverUrl(serverUrl).realm(realm).clientId(clientId)
                .clientSecret(clientSecret).grantType(OAuth2Constants.CLIENT_CREDENTIALS).build();
    }

    @Override
    public Optional<Owner> lookup(String subject) {
        UserResource user = keycloak.realm(realm).users().get(subject);
        UserRepresentation rep;
        try {
            rep = user.toRepresentation();
        } catch (NotFoundException e) {
            return Optional.empty();
        }
        List<String> roles = user.roles().realmLevel().listEffective().stream().map(RoleRepresentation::getName)
                .sorted().toList();
        List<String> groups = user.groups(0, MAX_GROUPS).stream().map(GroupRepresentation::getPath).sorted().toList();
        return Optional.of(new Owner(subject, rep.getUsername(), Boolean.TRUE.equals(rep.isEnabled()), roles, groups,
                Instant.now()));
    }

    /** An account found by name: the owner now, and its client id when it is a client's service account. */
    public record Account(Owner owner, String serviceAccountClientId) {
    }

    /** The user or service account whose username is exactly this one; empty when there is none. */
    public Optional<Account> byUsername(String username) {
        List<UserRepresentation> found = keycloak.realm(realm).users().searchByUsername(username, true);
        for (UserRepresentation u : found) {
            if (username.equalsIgnoreCase(u.getUsername())) {
                return lookup(u.getId()).map(o -> new Account(o, u.getServiceAccountClientId()));
            }
        }
        return Optional.empty();
    }

    @Override
    public void close() {
        keycloak.close();
    }
}
