package attest.control;

import attest.Exchanges;
import attest.evidence.Outcome;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.http.RefusedRequest;
import attest.identity.InvalidTokenException;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Which control-plane errors are refusals recorded as the door's (the rest are not, or are recorded elsewhere). */
class RecordRefusalProcessorTest {

    /** status | code | recorded. */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "401,invalid_token,true", "401,sign_in_failed,true", "403,forbidden,true", "405,method_not_allowed,true",
            // the approval store records a refused decision itself
            "403,self_approval,false", "403,not_an_approver,false", "403,service_account,false",
            "404,not_found,false", "409,already_decided,false", "400,bad_request,false", "503,read_path_changed,false",
            "500,internal_error,false"})
    void should_record_only_the_refusals_of_the_caller(int status, String code, boolean recorded) throws Exception {
        List<RefusedRequest> got = new ArrayList<>();
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.INBOUND, new InboundRequest("GET", "/keys?x=1", List.of(Map.entry("Content-Length",
                "0")), new byte[0], "192.0.2.7"));
        e.setProperty(Exchanges.ERROR, status == 401 && code.equals("invalid_token")
                ? new InvalidTokenException("token expired")
                : new GatewayException(status, code, "why", Outcome.DENIED));
        new RecordRefusalProcessor(got::add).process(e);
        assertThat(got).hasSize(recorded ? 1 : 0);
        if (recorded) {
            RefusedRequest r = got.get(0);
            assertThat(r.status()).isEqualTo(status);
            assertThat(r.code()).isEqualTo(code);
            assertThat(r.method()).isEqualTo("GET");
            assertThat(r.target()).isEqualTo("/keys?x=1");
            assertThat(r.source()).isEqualTo("192.0.2.7");
            assertThat(r.declaredSize()).isZero();
            assertThat(r.requestId()).isNotBlank();
            assertThat(attest.http.ResponseHeaders.of(e).get("X-Request-Id")).isEqualTo(r.requestId());
            if (code.equals("invalid_token")) {
                assertThat(r.authError()).isEqualTo("token expired");
            }
        }
    }
}
