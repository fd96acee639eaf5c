package attest.keys;

import java.util.Optional;

/** Where owners' roles, groups and enabled flags come from (Keycloak's Admin Client in production). */
public interface OwnerDirectory {
    /** The owner as the identity provider knows them now; empty when the user no longer exists. */
    Optional<Owner> lookup(String subject);
}
