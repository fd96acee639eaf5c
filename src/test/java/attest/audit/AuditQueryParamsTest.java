package attest.audit;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * An auditor's report filters that no report can take: a broken percent escape (was a 500, "internal error"), a NUL
 * or another control character, or an instant past PostgreSQL's timestamps (were a 503 "evidence unavailable" with
 * Retry-After, from the report's failed query). Each must be a 400 before any query runs.
 */
class AuditQueryParamsTest {
    static GatewayException refusal(Processor p, String uri) {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.INBOUND, new InboundRequest("GET", uri, List.of(), new byte[0], "127.0.0.1"));
        return catchThrowableOfType(GatewayException.class, () -> p.process(e));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/audit/access?identity=%zz", "/audit/denials?upstream=%", "/audit/approvals?from=%G0",
            "/audit/denials?identity=%00", "/audit/access?upstream=a%00b", "/audit/access?outcome=x%0Ay",
            "/audit/denials?from=%2B1000000-01-01T00:00:00Z", "/audit/denials?to=-1000000-01-01T00:00:00Z",
            "/audit/denials?from=yesterday"})
    void should_refuse_a_report_filter_no_report_can_take_with_400(String uri) {
        GatewayException g = refusal(new ReadAuditQueryProcessor(), uri);
        assertThat(g).as(uri).isNotNull();
        assertThat(g.status()).as(uri).isEqualTo(400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/audit/usage?model=%zz", "/audit/usage?identity=%00", "/audit/usage?key=%1b",
            "/audit/usage?to=-1000000-01-01T00:00:00Z", "/audit/usage?from=%2B294277-01-01T00:00:00Z"})
    void should_refuse_a_usage_filter_no_report_can_take_with_400(String uri) {
        GatewayException g = refusal(new ReadUsageQueryProcessor(), uri);
        assertThat(g).as(uri).isNotNull();
        assertThat(g.status()).as(uri).isEqualTo(400);
    }
}
