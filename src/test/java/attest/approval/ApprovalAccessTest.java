package attest.approval;

import attest.identity.Identity;
import attest.identity.Identity.Actor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who counts as the requester of a held call (ApprovalAccess): every hostile spelling of the requester's subject,
 * username or verified email, and every way of standing behind the other's token (RFC 8693 act chains, Keycloak's
 * impersonator), in both directions; and, as much, the distinct people who must not be taken for one another.
 */
class ApprovalAccessTest {
    static final String ISS = "https://keycloak.test/realms/attest";

    /** A party: subject, username, verified email (null: none, or not verified), and the actors behind its token. */
    record P(String sub, String user, String email, List<Actor> actors) {
        @Override
        public String toString() {
            return sub + "/" + user + "/" + email + (actors.isEmpty() ? "" : " " + actors);
        }
    }

    static P p(String sub, String user, String email, Actor... actors) {
        return new P(sub, user, email, List.of(actors));
    }

    static Actor act(String sub, String user, String email) {
        return new Actor(sub, user, email, null, null, "act");
    }

    static Actor actIn(String iss, String sub, String user) {
        return new Actor(sub, user, null, null, iss, "act");
    }

    static Actor client(String clientId) {
        return new Actor(null, null, null, clientId, null, "act");
    }

    static Actor impersonator(String id, String username) {
        return new Actor(id, username, null, null, null, "impersonator");
    }

    static final P ALICE = p("alice-sub", "alice", "alice@example.test");

    static Approval heldBy(P r) {
        return new Approval(UUID.randomUUID(), UUID.randomUUID(), "r", Approval.PENDING, r.sub(), r.user(), "{}",
                "llm", "/v1", "POST", "/llm/v1", "[]", new byte[0], "d", "{}", "rule", "why", "approver", null, 1, "p",
                Instant.now(), Instant.now().plusSeconds(60), null, null, null, null, List.of(),
                Identity.normalizeEmail(r.email()), r.actors());
    }

    static Identity approver(P a) {
        return new Identity(a.sub(), a.user(), Identity.USER, "attest-cli", List.of("approver"), List.of(), "j", ISS,
                null, a.email(), a.actors());
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                // ---- the requester's own subject, whatever else differs
                Arguments.of(ALICE, p("alice-sub", "someone-else", "other@example.test"), "subject"),
                // ---- the username, spelt otherwise: case, full width, compatibility forms, invisible characters
                Arguments.of(ALICE, p("alice2-sub", "ALICE", null), "username"),
                Arguments.of(ALICE, p("alice2-sub", "Alice", null), "username"),
                Arguments.of(ALICE, p("alice2-sub", "\uff41\uff4c\uff49\uff43\uff45", null), "username"),
                Arguments.of(ALICE, p("alice2-sub", "al\u200bice", null), "username"),
                Arguments.of(ALICE, p("alice2-sub", "\ufeffalice\u00ad", null), "username"),
                Arguments.of(ALICE, p("alice2-sub", "ali\u2060ce\u200d", null), "username"),
                Arguments.of(ALICE, p("alice2-sub", "a\u034flice\ufe0f", null), "username"),
                Arguments.of(ALICE, p("alice2-sub", " alice ", null), "username"),
                Arguments.of(p("s1", "strasse", null), p("s2", "STRAẞE", null), "username"),
                Arguments.of(p("s1", "straße", null), p("s2", "Strasse", null), "username"),
                Arguments.of(p("s1", "ﬁona", null), p("s2", "FIONA", null), "username"),
                Arguments.of(p("s1", "σοφος", null), p("s2", "ΣΟΦΟΣ", null), "username"),
                Arguments.of(p("s1", "σοφος", null), p("s2", "σοφοσ", null), "username"), // final sigma
                Arguments.of(p("s1", "jürgen", null), p("s2", "JU\u0308RGEN", null), "username"),
                // ---- the verified email, spelt otherwise
                Arguments.of(ALICE, p("alice2-sub", "alice2", "ALICE@EXAMPLE.TEST"), "verified_email"),
                Arguments.of(ALICE, p("alice2-sub", "alice2", " Alice@Example.Test "), "verified_email"),
                Arguments.of(ALICE, p("alice2-sub", "alice2", "alice+approver@example.test"), "verified_email"),
                Arguments.of(ALICE, p("alice2-sub", "alice2", "Alice+x+y@Example.Test."), "verified_email"),
                Arguments.of(ALICE, p("alice2-sub", "alice2", "\uff41lice@\uff45xample.test"), "verified_email"),
                Arguments.of(ALICE, p("alice2-sub", "alice2", "al\u200dice@exam\u200bple.test"), "verified_email"),
                Arguments.of(ALICE, p("alice2-sub", "alice2", "alice@example\u3002test"), "verified_email"),
                Arguments.of(ALICE, p("alice2-sub", "alice2", "alice@example\uff0etest"), "verified_email"),
                Arguments.of(ALICE, p("alice2-sub", "alice2", "\u2060alice\u00ad@example.test"), "verified_email"),
                Arguments.of(p("j1", "j1", "jürgen@münchen.example"), p("j2", "j2", "JÜRGEN@xn--mnchen-3ya.example"),
                        "verified_email"),
                Arguments.of(p("j1", "j1", "jurgen@xn--mnchen-3ya.example"), p("j2", "j2", "Jurgen+2@MÜNCHEN.example"),
                        "verified_email"),
                Arguments.of(p("j1", "j1", "jürgen@münchen.example"), p("j2", "j2", "ju\u0308rgen@mu\u0308nchen.example"),
                        "verified_email"),
                Arguments.of(p("s1", "s1", "strasse@example.test"), p("s2", "s2", "STRAẞE@example.test"),
                        "verified_email"),
                Arguments.of(p("s1", "s1", "straße@example.test"), p("s2", "s2", "Strasse+x@Example.test"),
                        "verified_email"),
                Arguments.of(p("g1", "g1", "alice.doe@gmail.com"), p("g2", "g2", "AliceDoe+x@googlemail.com"),
                        "verified_email"),
                // ---- the requester behind the approver's token: acting as them, or impersonating them
                Arguments.of(ALICE, p("bob-sub", "bob", "bob@example.test", act("alice-sub", null, null)),
                        "approver_actor"),
                Arguments.of(ALICE, p("bob-sub", "bob", "bob@example.test", act(null, "ALICE", null)),
                        "approver_actor"),
                Arguments.of(ALICE, p("bob-sub", "bob", "bob@example.test", act(null, null, "alice+x@example.test")),
                        "approver_actor"),
                Arguments.of(ALICE, p("bob-sub", "bob", "bob@example.test", impersonator("alice-sub", "alice")),
                        "approver_actor"),
                Arguments.of(ALICE, p("bob-sub", "bob", "bob@example.test", act("svc-sub", "svc", null),
                        act("carol-sub", "carol", null), act("alice-sub", null, null)), "approver_actor"),
                Arguments.of(ALICE, p("bob-sub", "bob", null, actIn(ISS, "alice-sub", null)), "approver_actor"),
                // ---- the approver behind the requester's token: they made the call for the requester
                Arguments.of(p("alice-sub", "alice", null, act("bob-sub", "bob", null)), p("bob-sub2", "BOB", null),
                        "requester_actor"),
                Arguments.of(p("alice-sub", "alice", null, act("bob-sub", null, null)), p("bob-sub", "bob", null),
                        "requester_actor"),
                Arguments.of(p("alice-sub", "alice", null, impersonator("bob-sub", "bob")), p("bob-sub", "bob", null),
                        "requester_actor"),
                Arguments.of(p("alice-sub", "alice", null, act(null, "Bob", null)), p("bob-sub", "bob", null),
                        "requester_actor"),
                Arguments.of(p("alice-sub", "alice", null, act(null, null, "BOB+hold@example.test")),
                        p("bob-sub", "bob", "bob@example.test"), "requester_actor"),
                Arguments.of(p("alice-sub", "alice", null, act("svc-sub", null, null), act("bob-sub", null, null)),
                        p("bob-sub", "bob", null), "requester_actor"),
                // ---- one actor behind both tokens
                Arguments.of(p("alice-sub", "alice", null, act("carol-sub", null, null)),
                        p("bob-sub", "bob", null, act("carol-sub", null, null)), "shared_actor"),
                Arguments.of(p("alice-sub", "alice", null, impersonator("carol-sub", "carol")),
                        p("bob-sub", "bob", null, act(null, "CAROL", null)), "shared_actor"),
                Arguments.of(p("alice-sub", "alice", null, act(null, null, "carol@example.test")),
                        p("bob-sub", "bob", null, act(null, null, "Carol+2@example.test")), "shared_actor"),
                // ---- an actor that names no one, on either side
                Arguments.of(ALICE, p("bob-sub", "bob", null, client("some-service")), "unidentified_actor"),
                Arguments.of(p("alice-sub", "alice", null, client("some-service")), p("bob-sub", "bob", null),
                        "unidentified_actor"),
                Arguments.of(p("alice-sub", "alice", null, act("svc-sub", null, null), client("x")),
                        p("bob-sub", "bob", null), "unidentified_actor"),
                Arguments.of(ALICE, p("bob-sub", "bob", null, act(" ", "", null)), "unidentified_actor"),

                // ==== distinct people: never taken for one another
                Arguments.of(ALICE, p("bob-sub", "bob", "bob@example.test"), null),
                Arguments.of(ALICE, p("bob-sub", "bob", null), null),
                Arguments.of(ALICE, p("bob-sub", "alice2", "alice@example.test.evil"), null),
                Arguments.of(ALICE, p("bob-sub", "alicia", "alicia@example.test"), null),
                Arguments.of(ALICE, p("bob-sub", "bob", "alice@sub.example.test"), null),
                Arguments.of(ALICE, p("bob-sub", "bob", "alice@examp1e.test"), null),
                Arguments.of(ALICE, p("bob-sub", "bob", "alice-x@example.test"), null),
                Arguments.of(ALICE, p("bob-sub", "bob", "+alice@example.test"), null),
                Arguments.of(ALICE, p("bob-sub", "bob", "a.lice@example.test"), null),
                Arguments.of(ALICE, p("bob-sub", "\u0430lice", "\u0430lice@example.test"), null), // Cyrillic а
                Arguments.of(ALICE, p("bob-sub", "al\u0131ce", null), null), // dotless ı
                Arguments.of(ALICE, p("bob-sub", "AL\u0130CE", null), null), // dotted İ: i with a dot above
                Arguments.of(ALICE, p("bob-sub", "alice2", null), null),
                Arguments.of(ALICE, p("ALICE-SUB", "bob", null), null), // subjects are ids, compared exactly
                Arguments.of(p("j1", "j1", "jurgen@munchen.example"), p("j2", "j2", "jurgen@münchen.example"), null),
                Arguments.of(p("g1", "g1", "alice.doe@example.com"), p("g2", "g2", "alicedoe@example.com"), null),
                Arguments.of(p("alice-sub", "alice", null), p("bob-sub", "bob", null), null), // no email: no match
                Arguments.of(p("alice-sub", null, null), p("bob-sub", null, null), null), // no username: no match
                // actors that are other people, or the same subject string in another issuer
                Arguments.of(p("alice-sub", "alice", null, act("carol-sub", "carol", null)),
                        p("bob-sub", "bob", null, act("dave-sub", "dave", null)), null),
                Arguments.of(ALICE, p("bob-sub", "bob", null, actIn("https://other.test", "alice-sub", null)), null),
                Arguments.of(ALICE, p("bob-sub", "bob", null, actIn("https://other.test", null, "alice")), null),
                Arguments.of(p("alice-sub", "alice", null, impersonator("admin-sub", "admin")),
                        p("bob-sub", "bob", null, act("svc-sub", "svc", null)), null));
    }

    @ParameterizedTest(name = "{0} vs {1}: {2}")
    @MethodSource("cases")
    void should_tell_the_requester_under_any_spelling_and_no_one_else(P requester, P who, String reason) {
        Approval a = heldBy(requester);
        Identity id = approver(who);
        assertThat(ApprovalAccess.selfReason(a, id)).isEqualTo(reason);
        assertThat(ApprovalAccess.isRequester(a, id)).isEqualTo(reason != null);
        // a token that names an actor decides nothing (in person only: the next table), whoever the actor is
        assertThat(ApprovalAccess.mayDecide(a, id)).isEqualTo(reason == null && who.actors().isEmpty());
    }

    /**
     * Four eyes are two people deciding in person: an approver's token that names any actor (Keycloak's impersonator,
     * an RFC 8693 act chain of any depth, a client acting for them, even one naming the approver) decides nothing,
     * for a call made by someone else entirely.
     */
    static Stream<Arguments> inPerson() {
        return Stream.of(
                Arguments.of(p("bob-sub", "bob", "bob@example.test"), true),
                Arguments.of(p("bob-sub", "bob", null), true),
                Arguments.of(p("bob-sub", "bob", null, impersonator("admin-sub", "admin")), false),
                Arguments.of(p("bob-sub", "bob", "bob@example.test", impersonator("admin-sub", null)), false),
                Arguments.of(p("bob-sub", "bob", null, act("ui-sub", "approval-ui", null)), false),
                Arguments.of(p("bob-sub", "bob", null, act("erin-sub", "erin", null), act("admin-sub", null, null)),
                        false),
                Arguments.of(p("bob-sub", "bob", null, actIn("https://other.test", "svc-sub", null)), false),
                Arguments.of(p("bob-sub", "bob", null, client("approval-ui")), false),
                Arguments.of(p("bob-sub", "bob", null, act("bob-sub", "bob", null)), false));
    }

    @ParameterizedTest(name = "{0}: in person {1}")
    @MethodSource("inPerson")
    void should_let_an_approver_decide_in_person_only(P who, boolean inPerson) {
        Approval a = heldBy(p("carol-sub", "carol", "carol@example.test"));
        Identity id = approver(who);
        assertThat(ApprovalAccess.selfReason(a, id)).as("not the requester").isIn(null, "unidentified_actor");
        assertThat(ApprovalAccess.isApprover(a, id)).isTrue();
        assertThat(ApprovalAccess.mayDecide(a, id)).isEqualTo(inPerson);
    }

    /**
     * An approver decides once: not again under another spelling, and not again through a token that had them (or
     * that they had) behind it. Bob voting while impersonating Erin, then as himself, is one vote; and Erin, whose
     * account voted through Bob's hands, does not vote again either.
     */
    @Test
    void should_count_one_person_once_whatever_token_they_voted_with() {
        Approval held = heldBy(ALICE);
        Approval.Vote asErinByBob = new Approval.Vote("erin-sub", "erin", "approve", null, "rest", null, Instant.now(),
                "erin@example.test", List.of(impersonator("bob-sub", "bob")));
        Approval voted = new Approval(held.id(), held.evidenceId(), "r", Approval.PENDING, "alice-sub", "alice", "{}",
                "llm", "/v1", "POST", "/llm/v1", "[]", new byte[0], "d", "{}", "rule", "why", "approver", null, 2, "p",
                Instant.now(), Instant.now().plusSeconds(60), null, null, null, null, List.of(asErinByBob),
                "alice@example.test", List.of());
        assertThat(ApprovalAccess.hasDecided(voted, approver(p("bob-sub", "bob", "bob@example.test")))).isTrue();
        assertThat(ApprovalAccess.hasDecided(voted, approver(p("erin-sub", "erin", null)))).isTrue();
        assertThat(ApprovalAccess.hasDecided(voted, approver(p("erin2-sub", "erin2", "Erin+2@example.test"))))
                .isTrue();
        assertThat(ApprovalAccess.hasDecided(voted, approver(p("frank-sub", "frank", null,
                act(null, "BOB", null))))).as("Bob again, acting through Frank").isTrue();
        assertThat(ApprovalAccess.hasDecided(voted, approver(p("frank-sub", "frank", "frank@example.test"))))
                .isFalse();
        assertThat(ApprovalAccess.hasDecided(heldBy(ALICE), approver(p("bob-sub", "bob", null)))).isFalse();
    }

    /** Nobody who could not decide the call as its requester is mailed about it. */
    @Test
    void should_mail_no_one_who_is_the_requester_under_any_spelling_or_behind_their_token() {
        Approval a = heldBy(p("alice-sub", "alice", "alice@example.test", act("bob-sub", null, null)));
        ApproverDirectory directory = (role, group) -> List.of(
                new ApproverDirectory.Approver("alice-sub", "alice", "alice@example.test"),
                new ApproverDirectory.Approver("alice2-sub", "ALICE", "other@example.test"),
                new ApproverDirectory.Approver("alice3-sub", "alice3", "Alice+ops@Example.test"),
                new ApproverDirectory.Approver("bob-sub", "bob", "bob@example.test"),
                new ApproverDirectory.Approver("erin-sub", "erin", "erin@example.test"));
        var exchange = new org.apache.camel.support.DefaultExchange(new org.apache.camel.impl.DefaultCamelContext());
        exchange.setProperty(attest.Exchanges.APPROVAL, a);
        new FindApproversProcessor(directory).process(exchange);
        assertThat(exchange.getProperty(FindApproversProcessor.APPROVERS, List.class)).extracting("username")
                .containsExactly("erin");
    }

    @Test
    void should_keep_service_accounts_and_non_approvers_out() {
        Approval a = heldBy(ALICE);
        Identity bot = new Identity("bot-sub", "service-account-bot", Identity.SERVICE_ACCOUNT, "bot",
                List.of("approver"), List.of(), "j", ISS, null, null, List.of());
        assertThat(ApprovalAccess.mayDecide(a, bot)).isFalse();
        Identity dave = new Identity("dave-sub", "dave", Identity.USER, "attest-cli", List.of("inference-user"),
                List.of(), "j", ISS, null, null, List.of());
        assertThat(ApprovalAccess.mayDecide(a, dave)).isFalse();
        assertThat(ApprovalAccess.mayDecide(a, null)).isFalse();
    }
}
