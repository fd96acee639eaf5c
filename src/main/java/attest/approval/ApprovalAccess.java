package attest.approval;

import attest.identity.Identity;
import attest.identity.IdentityKeys;

import java.util.List;
import java.util.Objects;

/**
 * Who may decide a held call: a person (never a service account's token) who holds the rule's approver role or
 * group, and who is not the requester under any spelling of their identity, and who stands behind no token of the
 * requester's, nor the requester behind theirs.
 * <p>Two parties (the requester or an approver, or one of the actors behind their tokens) are the same person when
 * they share any of: the subject (within one issuer), the username (within one issuer, compared by
 * {@link IdentityKeys#username}), or a verified email (compared by {@link IdentityKeys#email}; only emails that the
 * identity provider marked verified are ever kept). An approver is the requester, and refused with the first reason
 * that applies, when:
 * <ol>
 *   <li>{@code subject}, {@code username}, {@code verified_email}: the approver is the requester by that key;</li>
 *   <li>{@code approver_actor}: an actor behind the approver's token (its RFC 8693 {@code act} chain or Keycloak's
 *       {@code impersonator}) is the requester: the requester acting as, or impersonating, the approver;</li>
 *   <li>{@code requester_actor}: an actor behind the requester's token is the approver: the approver made the call
 *       for the requester, or impersonated them;</li>
 *   <li>{@code shared_actor}: one actor stands behind both tokens;</li>
 *   <li>{@code unidentified_actor}: an actor behind either token names no one (no subject, username or verified
 *       email, such as a bare {@code client_id}): it cannot be told apart from the other party, so it is refused.</li>
 * </ol>
 * The same comparison tells whether an approver has decided already (as themselves, or through an earlier vote's
 * actor, or an earlier voter through theirs).
 * <p>A decision is made in person ({@link #inPerson}): a token that names any actor (an administrator impersonating
 * the approver, a client or service acting for them through token exchange) decides nothing, whoever the actor is,
 * and is refused with {@code impersonated_approver}. Four eyes are two people, each deciding with their own sign-in.
 */
public final class ApprovalAccess {
    public static final String SUBJECT = "subject";
    public static final String USERNAME = "username";
    public static final String VERIFIED_EMAIL = "verified_email";
    public static final String APPROVER_ACTOR = "approver_actor";
    public static final String REQUESTER_ACTOR = "requester_actor";
    public static final String SHARED_ACTOR = "shared_actor";
    public static final String UNIDENTIFIED_ACTOR = "unidentified_actor";
    /** Why a decision made with a token that names an actor is refused (see {@link #inPerson}). */
    public static final String IMPERSONATED_APPROVER = "impersonated_approver";

    private ApprovalAccess() {
    }

    /**
     * One party in the form in which parties are compared. {@code issuer} is null for the gateway's own issuer
     * (every validated token's), or an actor's other {@code iss}, within which its subject and username mean
     * something.
     */
    record Party(String subject, String issuer, String username, String email) {
        static Party of(String subject, String username, String verifiedEmail) {
            return new Party(blankToNull(subject), null, IdentityKeys.username(username), IdentityKeys.email(
                    verifiedEmail));
        }

        static Party of(Identity.Actor actor, String home) {
            String iss = actor.issuer() == null || actor.issuer().equals(home) ? null : actor.issuer();
            return new Party(actor.subject(), iss, IdentityKeys.username(actor.username()),
                    IdentityKeys.email(actor.verifiedEmail()));
        }

        /** The key by which the two are the same person ({@code subject}, {@code username}, {@code verified_email}). */
        String sameAs(Party o) {
            boolean oneIssuer = Objects.equals(issuer, o.issuer);
            if (oneIssuer && subject != null && subject.equals(o.subject)) {
                return SUBJECT;
            }
            if (oneIssuer && username != null && username.equals(o.username)) {
                return USERNAME;
            }
            if (email != null && email.equals(o.email)) {
                return VERIFIED_EMAIL;
            }
            return null;
        }
    }

    /** Whether {@code who} holds the call's approver role or group (what lets them see it; not that they may decide). */
    public static boolean isApprover(Approval a, Identity who) {
        if (who == null) {
            return false;
        }
        boolean byRole = a.approverRole() != null && who.hasRole(a.approverRole());
        boolean byGroup = a.approverGroup() != null && who.groups().contains(a.approverGroup());
        return byRole || byGroup;
    }

    /** Whether {@code who} is the call's requester, under any spelling or through any actor (see the class). */
    public static boolean isRequester(Approval a, Identity who) {
        return who != null && selfReason(a, who) != null;
    }

    /**
     * Why {@code who} counts as the call's requester: {@code subject}, {@code username}, {@code verified_email},
     * {@code approver_actor}, {@code requester_actor}, {@code shared_actor} or {@code unidentified_actor}; null when
     * they do not.
     */
    public static String selfReason(Approval a, Identity who) {
        return reason(Party.of(a.requesterSubject(), a.requesterUsername(), a.requesterEmail()), a.requesterActors(),
                who);
    }

    /** The same comparison, of {@code who} against one earlier decision's approver; null when they are others. */
    static String sameVoter(Approval.Vote v, Identity who) {
        return reason(Party.of(v.approverSubject(), v.approverUsername(), v.approverEmail()), v.approverActors(), who);
    }

    private static String reason(Party other, List<Identity.Actor> otherActors, Identity who) {
        String home = who.issuer();
        Party me = Party.of(who.subject(), who.username(), who.verifiedEmail());
        String key = me.sameAs(other);
        if (key != null) {
            return key;
        }
        List<Party> mine = who.actors().stream().map(x -> Party.of(x, home)).toList();
        List<Party> theirs = otherActors.stream().map(x -> Party.of(x, home)).toList();
        if (mine.stream().anyMatch(p -> p.sameAs(other) != null)) {
            return APPROVER_ACTOR;
        }
        if (theirs.stream().anyMatch(p -> p.sameAs(me) != null)) {
            return REQUESTER_ACTOR;
        }
        if (mine.stream().anyMatch(p -> theirs.stream().anyMatch(q -> p.sameAs(q) != null))) {
            return SHARED_ACTOR;
        }
        if (!who.actors().stream().allMatch(Identity.Actor::identified)
                || !otherActors.stream().allMatch(Identity.Actor::identified)) {
            return UNIDENTIFIED_ACTOR;
        }
        return null;
    }

    /**
     * Whether {@code who} already decided the call: as the same person as an earlier approver by any key, or through
     * an actor of either token (see the class).
     */
    public static boolean hasDecided(Approval a, Identity who) {
        return who != null && a.votes().stream().anyMatch(v -> sameVoter(v, who) != null);
    }

    /**
     * Whether {@code who} signed in as themselves: their token names no actor (no RFC 8693 {@code act}, no Keycloak
     * {@code impersonator}). Only such a token decides a held call.
     */
    public static boolean inPerson(Identity who) {
        return who != null && who.actors().isEmpty();
    }

    public static boolean mayDecide(Approval a, Identity who) {
        return who != null && !who.serviceAccount() && inPerson(who) && !isRequester(a, who) && isApprover(a, who);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
