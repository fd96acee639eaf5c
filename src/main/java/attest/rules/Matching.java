package attest.rules;

import attest.identity.Identity;

import java.util.List;
import java.util.regex.Pattern;

/** The match semantics that policy and risk rules share: an empty list matches anything, else any item may. */
public final class Matching {
    private Matching() {
    }

    /** Whether the caller has one of the roles, one of the groups and one of the clients that are listed. */
    public static boolean who(Identity who, List<String> roles, List<String> groups, List<String> clients) {
        return (roles.isEmpty() || roles.stream().anyMatch(who.roles()::contains))
                && (groups.isEmpty() || groups.stream().anyMatch(who.groups()::contains))
                && (clients.isEmpty() || clients.contains(who.clientId()));
    }

    /** Whether any pattern matches the whole value; false for a null value. */
    public static boolean anyGlob(List<Pattern> patterns, String value) {
        if (value == null) {
            return false;
        }
        for (Pattern p : patterns) {
            if (p.matcher(value).matches()) {
                return true;
            }
        }
        return false;
    }
}
