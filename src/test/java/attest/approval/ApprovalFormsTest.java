package attest.approval;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * What reaches the approval page's form and the sign-in callback without a token, and a decision's comment: a form
 * the page never sends (a field twice, so that which decision counts would be a guess), a broken percent escape, a
 * NUL the store refuses. Each is a 400 that decides nothing, never a 500 (with an error logged for an anonymous
 * request) nor a 503 (which tells a client the store is down and to retry).
 */
class ApprovalFormsTest {
    static final String ORIGIN = "https://attest.example";
    static final ApprovalSessions.Session SESSION = new ApprovalSessions.Session("sub-bob",
            new Identity("sub-bob", "bob", Identity.USER, "attest-approval-page", List.of("approver"), List.of(), "j",
                    "i", null), "the-csrf-token");

    static Exchange form(String body) {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.INBOUND, new InboundRequest("POST", "/approvals/x/review", List.of(
                Map.entry("Origin", ORIGIN), Map.entry("Content-Type", "application/x-www-form-urlencoded")),
                body.getBytes(StandardCharsets.UTF_8), "127.0.0.1"));
        e.setProperty(ReadApprovalSessionProcessor.SESSION, SESSION);
        return e;
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "csrf=the-csrf-token&decision=deny&decision=approve",
            "csrf=the-csrf-token&decision=approve&decision=deny",
            "csrf=the-csrf-token&csrf=the-csrf-token&decision=approve",
            "csrf=the-csrf-token&decision=approve&comment=a&comment=b",
            "csrf=the-csrf-token&decision=approve&comment=%zz",
            "csrf=the-csrf-token&decision=approve&comment=100%",
            "csrf=the-csrf-token&decision=deny&comment=a%00b"})
    void should_refuse_a_form_the_page_never_sends_with_400(String body) {
        Exchange e = form(body);
        GatewayException g = catchThrowableOfType(GatewayException.class,
                () -> new CheckApprovalFormProcessor(ORIGIN).process(e));
        assertThat(g).as(body).isNotNull();
        assertThat(g.status()).as(body).isEqualTo(400);
        assertThat(e.getProperty(Exchanges.APPROVAL_DECISION)).isNull();
    }

    @Test
    void should_read_the_form_the_page_sends() {
        Exchange e = form("csrf=the-csrf-token&comment=looks+fine%21&decision=approve");
        new CheckApprovalFormProcessor(ORIGIN).process(e);
        DecisionInput d = e.getProperty(Exchanges.APPROVAL_DECISION, DecisionInput.class);
        assertThat(d.decision()).isEqualTo("approve");
        assertThat(d.comment()).isEqualTo("looks fine!");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/auth/callback?code=%zz&state=%zz", "/auth/callback?state=x%&code=y",
            "/auth/callback?code=x&state=a%2"})
    void should_answer_a_callback_with_a_broken_escape_with_400_before_anything_is_looked_up(String uri) {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.INBOUND, new InboundRequest("GET", uri, List.of(), new byte[0], "127.0.0.1"));
        // no store and no token endpoint: nothing may be reached before the query is read
        GatewayException g = catchThrowableOfType(GatewayException.class, () -> new CompleteApprovalLoginProcessor(
                null, null, "http://127.0.0.1:9/token", "page", ORIGIN, Duration.ofMinutes(5), Clock.systemUTC())
                .process(e));
        assertThat(g).as(uri).isNotNull();
        assertThat(g.status()).as(uri).isEqualTo(400);
    }

    @Test
    void should_refuse_a_decision_comment_with_a_nul() {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.INBOUND, new InboundRequest("POST", "/approvals/x/decision", List.of(),
                "{\"decision\":\"deny\",\"comment\":\"a\\u0000b\"}".getBytes(StandardCharsets.UTF_8), "127.0.0.1"));
        GatewayException g = catchThrowableOfType(GatewayException.class,
                () -> new ReadDecisionJsonProcessor().process(e));
        assertThat(g).isNotNull();
        assertThat(g.status()).isEqualTo(400);
    }
}
