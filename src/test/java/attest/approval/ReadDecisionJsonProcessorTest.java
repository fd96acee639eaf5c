package attest.approval;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** An approver's decision body is read strictly: one JSON object, each field once, nothing after it. */
class ReadDecisionJsonProcessorTest {
    private static Exchange exchange(String body) {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.INBOUND, new InboundRequest("POST", "/approvals/x/decision", List.of(),
                body.getBytes(StandardCharsets.UTF_8), "127.0.0.1"));
        return e;
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"decision\":\"deny\"} {\"decision\":\"approve\"}",
            "{\"decision\":\"deny\"}{\"decision\":\"approve\"}",
            "{\"decision\":\"deny\",\"decision\":\"approve\"}",
            "{\"decision\":\"approve\"} x",
            "[{\"decision\":\"approve\"}]",
            "{\"decision\":true}",
            "{\"decision\":\"approve\",\"comment\":{}}",
            "{\"decision\":\"approve\",\"approvals_required\":0}",
            "{\"decision\":\"approve\",\"approver\":\"bob\",\"comment\":\"x\"}",
            "{\"decision\":\"approve\",\"Comment\":\"x\"}",
            ""})
    void should_refuse_anything_but_one_object_with_each_field_once_and_no_other(String body) {
        assertThatThrownBy(() -> new ReadDecisionJsonProcessor().process(exchange(body)))
                .isInstanceOf(GatewayException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"decision\":\"approve\"}", " {\"decision\":\"approve\",\"comment\":\"ok\"} \n"})
    void should_read_one_decision(String body) {
        Exchange e = exchange(body);
        new ReadDecisionJsonProcessor().process(e);
        assertThat(e.getProperty(Exchanges.APPROVAL_DECISION, DecisionInput.class)).isNotNull();
    }
}
