package attest.keys;

import java.time.Instant;
import java.util.List;

/** A key owner's power as Keycloak last reported it: enabled flag, realm roles and group paths. */
public record Owner(String subject, String username, boolean enabled, List<String> roles, List<String> groups,
                    Instant checkedAt) {
}
