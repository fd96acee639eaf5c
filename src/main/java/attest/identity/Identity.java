package attest.identity;

import com.fasterxml.jackson.annotation.JsonCreator;

import java.text.Normalizer;
import java.util.List;
import java.util.Locale;

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
 * @param verifiedEmail  the token's {@code email} when its {@code email_verified} is true, in the form
 *                       {@link #normalizeEmail} gives it (null otherwise): the one person behind several accounts
 */
public record Identity(String subject, String username, String principalType, String clientId,
                       List<String> roles, List<String> groups, String tokenId, String issuer,
                       java.time.Instant authTime, String verifiedEmail) {
    public static final String USER = "user";
    public static final String SERVICE_ACCOUNT = "service_account";

    @JsonCreator(mode = JsonCreator.Mode.PROPERTIES)
    public Identity {
        verifiedEmail = normalizeEmail(verifiedEmail);
    }

    /** An identity without a verified email (a key's owner, a token without one). */
    public Identity(String subject, String username, String principalType, String clientId, List<String> roles,
                    List<String> groups, String tokenId, String issuer, java.time.Instant authTime) {
        this(subject, username, principalType, clientId, roles, groups, tokenId, issuer, authTime, null);
    }

    public boolean hasRole(String role) {
        return roles.contains(role);
    }

    /** Whether this is a machine's token (client credentials), not a person's. */
    public boolean serviceAccount() {
        return !USER.equals(principalType);
    }

    /**
     * An email address in the form in which two spellings of one mailbox compare equal: compatibility-normalized
     * (NFKC, so full-width letters are their ASCII selves), lower case, without surrounding white space. Null for
     * null, blank, or anything without a local part and a domain.
     */
    public static String normalizeEmail(String email) {
        if (email == null) {
            return null;
        }
        String e = Normalizer.normalize(email, Normalizer.Form.NFKC).strip().toLowerCase(Locale.ROOT);
        int at = e.lastIndexOf('@');
        return at < 1 || at == e.length() - 1 ? null : e;
    }

    /** Whether both carry a verified email and it is the same (then they are one person, whatever their subjects). */
    public boolean sameVerifiedEmail(String otherVerifiedEmail) {
        String other = normalizeEmail(otherVerifiedEmail);
        return verifiedEmail != null && verifiedEmail.equals(other);
    }
}
