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
 * @param actors         who else stands behind the token: its RFC 8693 {@code act} chain (the current actor first,
 *                       then the actor it acted for, and so on) and then Keycloak's {@code impersonator}, if any;
 *                       empty for a token that carries neither
 */
public record Identity(String subject, String username, String principalType, String clientId,
                       List<String> roles, List<String> groups, String tokenId, String issuer,
                       java.time.Instant authTime, String verifiedEmail, List<Actor> actors) {
    public static final String USER = "user";
    public static final String SERVICE_ACCOUNT = "service_account";

    @JsonCreator(mode = JsonCreator.Mode.PROPERTIES)
    public Identity {
        verifiedEmail = normalizeEmail(verifiedEmail);
        actors = actors == null ? List.of() : List.copyOf(actors);
    }

    /** An identity without actors (a token without {@code act} or {@code impersonator}). */
    public Identity(String subject, String username, String principalType, String clientId, List<String> roles,
                    List<String> groups, String tokenId, String issuer, java.time.Instant authTime,
                    String verifiedEmail) {
        this(subject, username, principalType, clientId, roles, groups, tokenId, issuer, authTime, verifiedEmail,
                List.of());
    }

    /**
     * One party behind a token besides its subject: an RFC 8693 actor ({@code via} {@code act}) or the Keycloak
     * administrator who impersonates the subject ({@code via} {@code impersonator}).
     *
     * @param subject       the actor's {@code sub} (for an impersonator: its {@code id})
     * @param username      its {@code preferred_username} or {@code username}
     * @param verifiedEmail its {@code email} where the same object says {@code email_verified} true (normalized
     *                      like a subject's); null otherwise
     * @param clientId      its {@code client_id}: names a client, not a person, so it identifies no one here
     * @param issuer        its {@code iss} when it names one (its subject belongs to that issuer); null: the token's
     * @param via           {@code act} or {@code impersonator}
     */
    public record Actor(String subject, String username, String verifiedEmail, String clientId, String issuer,
                        String via) {
        @JsonCreator(mode = JsonCreator.Mode.PROPERTIES)
        public Actor {
            subject = subject == null || subject.isBlank() ? null : subject;
            username = username == null || username.isBlank() ? null : username;
            verifiedEmail = normalizeEmail(verifiedEmail);
        }

        /** Whether it names a person at all (a subject, a username or a verified email); a bare client does not. */
        public boolean identified() {
            return subject != null || username != null || verifiedEmail != null;
        }
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
