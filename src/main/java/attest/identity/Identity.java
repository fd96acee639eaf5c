package attest.identity;

import java.util.List;

/**
 * Who made a call, as proven by a validated access token.
 *
 * @param subject        the token's {@code sub}
 * @param username       {@code preferred_username}
 * @param principalType  {@code user} for a person, {@code service_account} for a client-credentials token
 * @param clientId       the client the token was issued to ({@code azp})
 * @param roles          realm roles
 * @param groups         group paths
 * @param tokenId        {@code jti}
 * @param issuer         {@code iss}
 * @param authTime       {@code auth_time}: when the person signed in (null when the token has none)
 */
public record Identity(String subject, String username, String principalType, String clientId,
                       List<String> roles, List<String> groups, String tokenId, String issuer,
                       java.time.Instant authTime) {
    public static final String USER = "user";
    public static final String SERVICE_ACCOUNT = "service_account";

    public boolean hasRole(String role) {
        return roles.contains(role);
    }
}
