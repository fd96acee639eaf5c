package attest.approval;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Table tests for the approval pieces that need no store: paths, digests, the tally, escaping, input. */
class ApprovalPiecesTest {
    static final String ID = "0b5f5b8e-2f7e-4a52-9d7a-3c1c2d6e9f10";

    @ParameterizedTest
    @CsvSource({
            "GET,/approvals,list",
            "GET,/approvals/,list",
            "POST,/approvals,unknown",
            "GET,/approvals/" + ID + ",read",
            "DELETE,/approvals/" + ID + ",cancel",
            "POST,/approvals/" + ID + "/decision,decide",
            "GET,/approvals/" + ID + "/decision,unknown",
            "GET,/approvals/" + ID + "/review,page",
            "POST,/approvals/" + ID + "/review,page-decide",
            "GET,/approvals/" + ID + "/result,result",
            "GET,/approvals/" + ID + "/result?x=1,result",
            "GET,/approvals/not-a-uuid-not-a-uuid-not-a-uuid-xxxx/result,unknown",
            "GET,/approvals/" + ID + "/../x,unknown",
            "GET,/approvals/" + ID + "/other,unknown"})
    void should_read_what_an_approvals_request_asks_for(String method, String uri, String action) {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.INBOUND, new InboundRequest(method, uri, List.of(), new byte[0], "127.0.0.1"));
        new ReadApprovalPathProcessor().process(e);
        assertThat(e.getMessage().getHeader(ReadApprovalPathProcessor.ACTION)).isEqualTo(action);
    }

    @Test
    void should_bind_the_digest_to_method_uri_headers_and_body() {
        byte[] body = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
        String h = HeldRequest.headersJson(List.of(Map.entry("Content-Type", "application/json")));
        String d = HeldRequest.digest("POST", "/llm/v1/chat", h, body);
        assertThat(d).hasSize(64).isEqualTo(HeldRequest.digest("POST", "/llm/v1/chat", h, body.clone()));
        assertThat(HeldRequest.digest("PUT", "/llm/v1/chat", h, body)).isNotEqualTo(d);
        assertThat(HeldRequest.digest("POST", "/llm/v1/chatx", h, body)).isNotEqualTo(d);
        assertThat(HeldRequest.digest("POST", "/llm/v1/chat", "[]", body)).isNotEqualTo(d);
        assertThat(HeldRequest.digest("POST", "/llm/v1/chat", h, "{\"a\":2}".getBytes(StandardCharsets.UTF_8)))
                .isNotEqualTo(d);
        assertThat(HeldRequest.headers(h)).containsExactly(Map.entry("Content-Type", "application/json"));
    }

    @Test
    void should_tally_distinct_approvers_and_keep_the_latest_state() {
        var ctx = new DefaultCamelContext();
        ApprovalTallyStrategy s = new ApprovalTallyStrategy();
        Exchange first = signal(ctx, "pending", null);
        Exchange agg = s.aggregate(null, first);
        agg = s.aggregate(agg, signal(ctx, "pending", "bob"));
        agg = s.aggregate(agg, signal(ctx, "pending", "bob"));
        assertThat(agg.getMessage().getHeader(ApprovalTallyStrategy.APPROVERS)).isEqualTo("bob");
        assertThat(agg.getMessage().getHeader(ApprovalTallyStrategy.STATE)).isEqualTo("pending");
        agg = s.aggregate(agg, signal(ctx, "approved", "erin"));
        assertThat(agg.getMessage().getHeader(ApprovalTallyStrategy.APPROVERS)).isEqualTo("bob,erin");
        assertThat(agg.getMessage().getHeader(ApprovalTallyStrategy.STATE)).isEqualTo("approved");
        // a late pending signal never turns a decided call back
        agg = s.aggregate(agg, signal(ctx, "pending", null));
        assertThat(agg.getMessage().getHeader(ApprovalTallyStrategy.STATE)).isEqualTo("approved");
    }

    static Exchange signal(DefaultCamelContext ctx, String state, String approver) {
        Exchange e = new DefaultExchange(ctx);
        e.getMessage().setHeader(ApprovalTallyStrategy.STATE, state);
        e.getMessage().setHeader(ApprovalTallyStrategy.TTL_MS, 1000L);
        if (approver != null) {
            e.getMessage().setHeader(ApprovalTallyStrategy.APPROVER, approver);
        }
        return e;
    }

    @Test
    void should_accept_only_approve_or_deny_with_a_bounded_comment() {
        assertThat(new DecisionInput("approve", null, "rest").decision()).isEqualTo("approve");
        assertThatThrownBy(() -> new DecisionInput("yes", null, "rest")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DecisionInput(null, null, "rest")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DecisionInput("deny", "x".repeat(DecisionInput.MAX_COMMENT + 1), "rest"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void should_let_only_the_rules_approvers_decide_and_never_the_requester() {
        Approval a = new Approval(UUID.randomUUID(), UUID.randomUUID(), "r", Approval.PENDING, "alice-sub", "alice",
                "{}", "llm", "/v1", "POST", "/llm/v1", "[]", new byte[0], "d", "{}", "rule", "why", "approver",
                "/approvers", 1, "p", Instant.now(), Instant.now().plusSeconds(60), null, null, null, null, List.of());
        assertThat(ApprovalAccess.mayDecide(a, who("bob-sub", List.of("approver"), List.of()))).isTrue();
        assertThat(ApprovalAccess.mayDecide(a, who("erin-sub", List.of(), List.of("/approvers")))).isTrue();
        assertThat(ApprovalAccess.mayDecide(a, who("dave-sub", List.of("inference-user"), List.of()))).isFalse();
        assertThat(ApprovalAccess.mayDecide(a, who("alice-sub", List.of("approver"), List.of("/approvers"))))
                .isFalse();
    }

    /**
     * Approvals are decided by people, and never by the requester under another account: a service account's token
     * with the approver role may not decide, and neither may an account with the requester's verified email, however
     * it is spelt; an email that either side has not verified matches nothing.
     */
    @Test
    void should_let_neither_a_service_account_nor_the_requesters_other_account_decide() {
        Approval a = new Approval(UUID.randomUUID(), UUID.randomUUID(), "r", Approval.PENDING, "alice-sub", "alice",
                "{}", "llm", "/v1", "POST", "/llm/v1", "[]", new byte[0], "d", "{}", "rule", "why", "approver",
                "/approvers", 1, "p", Instant.now(), Instant.now().plusSeconds(60), null, null, null, null, List.of(),
                "alice@example.test", List.of());
        var bot = new attest.identity.Identity("bot-sub", "service-account-bot", attest.identity.Identity.SERVICE_ACCOUNT,
                "bot", List.of("approver"), List.of("/approvers"), "j", "i", null);
        assertThat(ApprovalAccess.isApprover(a, bot)).isTrue();
        assertThat(ApprovalAccess.mayDecide(a, bot)).isFalse();
        var unknownType = new attest.identity.Identity("x-sub", "x", null, "c", List.of("approver"), List.of(), "j",
                "i", null);
        assertThat(ApprovalAccess.mayDecide(a, unknownType)).as("not known to be a person").isFalse();
        for (String email : List.of("alice@example.test", "ALICE@example.test", " alice@Example.Test ",
                "\uff41lice@example.test")) {
            var second = withEmail("alice2-sub", email);
            assertThat(ApprovalAccess.isRequester(a, second)).as(email).isTrue();
            assertThat(ApprovalAccess.mayDecide(a, second)).as(email).isFalse();
        }
        assertThat(ApprovalAccess.mayDecide(a, withEmail("bob-sub", "bob@example.test"))).isTrue();
        assertThat(ApprovalAccess.mayDecide(a, withEmail("bob-sub", "alice@example.test.evil"))).isTrue();
        assertThat(ApprovalAccess.mayDecide(a, who("bob-sub", List.of("approver"), List.of()))).as("unverified")
                .isTrue();
        Approval unverified = new Approval(a.id(), a.evidenceId(), "r", Approval.PENDING, "alice-sub", "alice", "{}",
                "llm", "/v1", "POST", "/llm/v1", "[]", new byte[0], "d", "{}", "rule", "why", "approver", "/approvers",
                1, "p", Instant.now(), Instant.now().plusSeconds(60), null, null, null, null, List.of());
        assertThat(ApprovalAccess.mayDecide(unverified, withEmail("alice2-sub", "alice@example.test"))).isTrue();
        // one person's second account has decided already when their first did
        Approval voted = new Approval(a.id(), a.evidenceId(), "r", Approval.PENDING, "carol-sub", "carol", "{}",
                "llm", "/v1", "POST", "/llm/v1", "[]", new byte[0], "d", "{}", "rule", "why", "approver", "/approvers",
                2, "p", Instant.now(), Instant.now().plusSeconds(60), null, null, null, null, List.of(new Approval.Vote(
                "bob-sub", "bob", "approve", null, "rest", null, Instant.now(), "bob@example.test")), null,
                List.of());
        assertThat(ApprovalAccess.hasDecided(voted, withEmail("bob2-sub", "Bob@Example.test"))).isTrue();
        assertThat(ApprovalAccess.hasDecided(voted, withEmail("erin-sub", "erin@example.test"))).isFalse();
        assertThat(ApprovalAccess.hasDecided(voted, who("bob2-sub", List.of("approver"), List.of()))).isFalse();
    }

    static attest.identity.Identity withEmail(String sub, String verifiedEmail) {
        return new attest.identity.Identity(sub, sub, "user", "attest-cli", List.of("approver"), List.of(), "j", "i",
                null, verifiedEmail);
    }

    static attest.identity.Identity who(String sub, List<String> roles, List<String> groups) {
        return new attest.identity.Identity(sub, sub, "user", "attest-cli", roles, groups, "j", "i", null);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"respond-async|true", "RESPOND-ASYNC|true", "wait=10, respond-async|true",
            "return=minimal|false", "respond-asynchronously|false"})
    void should_read_prefer_respond_async(String prefer, boolean async) {
        var in = new InboundRequest("POST", "/", List.of(Map.entry("Prefer", prefer)), new byte[0], "x");
        assertThat(AwaitApprovalProcessor.respondAsync(in)).isEqualTo(async);
    }
}
