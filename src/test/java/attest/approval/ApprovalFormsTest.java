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
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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

    static Exchange formFrom(List<Map.Entry<String, String>> headers) {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        List<Map.Entry<String, String>> all = new java.util.ArrayList<>(headers);
        all.add(Map.entry("Content-Type", "application/x-www-form-urlencoded"));
        e.setProperty(Exchanges.INBOUND, new InboundRequest("POST", "/approvals/x/review", all,
                "csrf=the-csrf-token&decision=approve".getBytes(StandardCharsets.UTF_8), "127.0.0.1"));
        e.setProperty(ReadApprovalSessionProcessor.SESSION, SESSION);
        return e;
    }

    /**
     * The page's same-origin check compares origins as RFC 6454 says (scheme and host in any case, a default port
     * written or not), whatever form attest.control.public-url is written in; and it still refuses every foreign
     * origin: null, look-alike hosts, another port, http for https, user info, a path or list where a browser sends
     * none. Columns: public-url, Origin (empty: not sent), Referer (empty: not sent), accepted.
     */
    @ParameterizedTest(name = "[{index}] public-url {0}, Origin {1}, Referer {2}: {3}")
    @CsvSource(nullValues = "-", value = {
            // the same origin, however the public URL or the header is written
            "https://attest.example,       https://attest.example,        -, true",
            "https://attest.example:443,   https://attest.example,        -, true",
            "https://attest.example/,      https://attest.example,        -, true",
            "https://attest.example:443/,  https://attest.example,        -, true",
            "https://Attest.EXAMPLE,       https://attest.example,        -, true",
            "HTTPS://attest.example,       https://attest.example,        -, true",
            "https://attest.example,       HTTPS://ATTEST.EXAMPLE,        -, true",
            "https://attest.example,       https://attest.example:443,    -, true",
            "http://attest.example:80/,    http://attest.example,         -, true",
            "http://attest.example,        http://attest.example:80,      -, true",
            "https://attest.example:8443,  https://attest.example:8443,   -, true",
            "https://attest.example/gw/,   https://attest.example,        -, true",
            "http://127.0.0.1:8081,        http://127.0.0.1:8081,         -, true",
            "http://[::1]:8081,            http://[::1]:8081,             -, true",
            // no Origin: the Referer must be one of our pages
            "https://attest.example/,      -, https://attest.example/approvals/x/review,      true",
            "https://attest.example,       -, https://ATTEST.example:443/approvals/x/review,  true",
            "https://attest.example:443,   -, https://attest.example/approvals/x/review?a=b,  true",
            // foreign origins
            "https://attest.example,       null,                                -, false",
            "https://attest.example,       NULL,                                -, false",
            "https://attest.example,       '',                                  -, false",
            "https://attest.example,       https://attest.example.evil.test,    -, false",
            "https://attest.example,       https://evil-attest.example,         -, false",
            "https://attest.example,       https://attest.example.,             -, false",
            "https://attest.example,       https://xattest.example,             -, false",
            "https://attest.example,       https://attest.exampl,               -, false",
            "https://attest.example,       https://attest.example:8443,         -, false",
            "https://attest.example:8443,  https://attest.example,              -, false",
            "https://attest.example:8443,  https://attest.example:443,          -, false",
            "https://attest.example,       http://attest.example,               -, false",
            "https://attest.example,       http://attest.example:443,           -, false",
            "http://attest.example,        https://attest.example,              -, false",
            "http://attest.example,        https://attest.example:80,           -, false",
            "https://attest.example,       https://attest.example@evil.test,    -, false",
            "https://attest.example,       https://evil.test@attest.example,    -, false",
            "https://attest.example,       https://attest.example/,             -, false",
            "https://attest.example,       https://attest.example/approvals,    -, false",
            "https://attest.example,       https://attest.example:,             -, false",
            "https://attest.example,       https://attest.example:99999,        -, false",
            "https://attest.example,       https://attest.example:0,            -, false",
            "https://attest.example,       https://attest.example:443:443,      -, false",
            "https://attest.example,       'https://attest.example https://evil.test', -, false",
            "https://attest.example,       ws://attest.example,                 -, false",
            "https://attest.example,       attest.example,                      -, false",
            "https://attest.example,       //attest.example,                    -, false",
            "https://attest.example,       https://attest%2eexample,            -, false",
            // the Origin decides when sent, however good the Referer
            "https://attest.example,       null, https://attest.example/approvals/x/review,   false",
            "https://attest.example,       https://evil.test, https://attest.example/approvals/x/review, false",
            // foreign Referers
            "https://attest.example,       -, https://attest.example.evil.test/approvals,     false",
            "https://attest.example,       -, https://attest.example@evil.test/approvals,     false",
            "https://attest.example,       -, https://evil.test/https://attest.example/,      false",
            "https://attest.example,       -, http://attest.example/approvals/x/review,       false",
            "https://attest.example,       -, https://attest.example:8443/approvals/x/review, false",
            "https://attest.example,       -, //attest.example/approvals/x/review,            false",
            "https://attest.example,       -, /approvals/x/review,                            false",
            "https://attest.example,       -, https://attest.example,                         true",
            "https://attest.example,       -, '',                                             false",
            "https://attest.example,       -, -,                                              false"})
    void should_accept_our_origin_however_written_and_refuse_every_other(String publicUrl, String origin,
                                                                          String referer, boolean accepted) {
        List<Map.Entry<String, String>> headers = new java.util.ArrayList<>();
        if (origin != null) {
            headers.add(Map.entry("Origin", origin));
        }
        if (referer != null) {
            headers.add(Map.entry("Referer", referer));
        }
        Exchange e = formFrom(headers);
        GatewayException g = catchThrowableOfType(GatewayException.class,
                () -> new CheckApprovalFormProcessor(publicUrl).process(e));
        if (accepted) {
            assertThat(g).as("refused: %s", g == null ? "" : g.getMessage()).isNull();
            assertThat(e.getProperty(Exchanges.APPROVAL_DECISION, DecisionInput.class).decision()).isEqualTo("approve");
        } else {
            assertThat(g).isNotNull();
            assertThat(g.status()).isEqualTo(403);
            assertThat(g.getMessage()).isEqualTo("cross-origin decision refused");
            assertThat(e.getProperty(Exchanges.APPROVAL_DECISION)).isNull();
        }
    }

    @Test
    void should_refuse_a_decision_that_names_two_origins_or_two_referers() {
        String good = "https://attest.example";
        for (List<Map.Entry<String, String>> headers : List.of(
                List.of(Map.entry("Origin", good), Map.entry("Origin", "https://evil.test")),
                List.of(Map.entry("Origin", "https://evil.test"), Map.entry("Origin", good)),
                List.of(Map.entry("Origin", good), Map.entry("Origin", good)),
                List.of(Map.entry("Referer", good + "/approvals/x/review"), Map.entry("Referer", "https://evil.test/")),
                List.of(Map.entry("Referer", "https://evil.test/"), Map.entry("Referer", good + "/approvals/x/review")))) {
            Exchange e = formFrom(headers);
            GatewayException g = catchThrowableOfType(GatewayException.class,
                    () -> new CheckApprovalFormProcessor(good).process(e));
            assertThat(g).as(headers.toString()).isNotNull();
            assertThat(g.status()).isEqualTo(403);
            assertThat(e.getProperty(Exchanges.APPROVAL_DECISION)).isNull();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"attest.example", "ftp://attest.example", "https://", "https://user@attest.example",
            "https:attest.example", "/approvals", "https://attest.example:99999"})
    void should_refuse_to_start_with_a_public_url_that_no_origin_can_match(String publicUrl) {
        assertThatThrownBy(() -> new CheckApprovalFormProcessor(publicUrl))
                .isInstanceOf(IllegalArgumentException.class);
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
