package attest;

import attest.http.InboundRequest;
import attest.identity.Credential;
import attest.policy.Decision;
import org.apache.camel.Exchange;
import org.apache.camel.Predicate;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The routers' conditions, by table: what each matches, and that an absent or foreign property never does. */
class RoutePredicatesTest {
    static final DefaultCamelContext CONTEXT = new DefaultCamelContext();

    static Stream<Arguments> table() {
        return Stream.of(
                // predicate, property, value, matches
                Arguments.of("approvalPath", Exchanges.INBOUND, in("/approvals/abc"), true),
                Arguments.of("approvalPath", Exchanges.INBOUND, in("/approvals"), false),
                Arguments.of("approvalPath", Exchanges.INBOUND, in("/llm/v1/chat/completions"), false),
                Arguments.of("approvalPath", Exchanges.INBOUND, null, false),
                Arguments.of("inferencePath", Exchanges.INBOUND, in("/llm/v1/chat/completions"), true),
                Arguments.of("inferencePath", Exchanges.INBOUND, in("/approvals"), true),
                Arguments.of("inferencePath", Exchanges.INBOUND, in("/approvals/abc"), false),
                Arguments.of("inferencePath", Exchanges.INBOUND, in("/llm/v1\n/x"), false),
                Arguments.of("inferencePath", Exchanges.INBOUND, in("/llm/v1\r"), false),
                Arguments.of("inferencePath", Exchanges.INBOUND, in(null), false),
                Arguments.of("inferencePath", Exchanges.INBOUND, null, false),
                Arguments.of("verdictAllow", Exchanges.DECISION, Decision.allow("r", "ok"), true),
                Arguments.of("verdictAllow", Exchanges.DECISION, Decision.review("r", "hold"), false),
                Arguments.of("verdictAllow", Exchanges.DECISION, Decision.deny("r", "no"), false),
                Arguments.of("verdictAllow", Exchanges.DECISION, null, false),
                Arguments.of("verdictAllow", Exchanges.DECISION, "ALLOW", false),
                Arguments.of("verdictReview", Exchanges.DECISION, Decision.review("r", "hold"), true),
                Arguments.of("verdictReview", Exchanges.DECISION, Decision.allow("r", "ok"), false),
                Arguments.of("verdictReview", Exchanges.DECISION, null, false),
                Arguments.of("credentialToken", Exchanges.CREDENTIAL, new Credential("token", "x"), true),
                Arguments.of("credentialToken", Exchanges.CREDENTIAL, new Credential("key", "x"), false),
                Arguments.of("credentialToken", Exchanges.CREDENTIAL, null, false),
                Arguments.of("credentialKey", Exchanges.CREDENTIAL, new Credential("key", "x"), true),
                Arguments.of("credentialKey", Exchanges.CREDENTIAL, new Credential("KEY", "x"), false),
                Arguments.of("credentialKey", Exchanges.CREDENTIAL, new Credential("token", "x"), false));
    }

    @ParameterizedTest(name = "{0} on {2}: {3}")
    @MethodSource("table")
    void matches(String name, String property, Object value, boolean expected) {
        org.apache.camel.support.DefaultRegistry registry = new org.apache.camel.support.DefaultRegistry();
        RoutePredicates.bindAll(registry);
        Predicate p = (Predicate) registry.lookupByName(name);
        Exchange e = new DefaultExchange(CONTEXT);
        if (value != null) {
            e.setProperty(property, value);
        }
        assertThat(p.matches(e)).isEqualTo(expected);
    }

    static InboundRequest in(String uri) {
        return new InboundRequest("POST", uri, List.of(), new byte[0], "127.0.0.1");
    }
}
