package attest.response;

import attest.Exchanges;
import attest.evidence.EvidenceRecord;
import attest.http.ResponseHeaders;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Attest-Evidence-Id comes from the gateway's own evidence record, never from an upstream's or a caller's header:
 * not from a message header (which never reaches the caller) and not from a value an earlier stage relayed.
 */
class FilterResponseHeadersProcessorTest {
    @Test
    void should_set_the_evidence_id_from_the_record_and_drop_any_other_value() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Exchange exchange = new DefaultExchange(context);
            EvidenceRecord record = new EvidenceRecord();
            UUID id = UUID.randomUUID();
            record.setId(id);
            exchange.setProperty(Exchanges.EVIDENCE, record);
            exchange.getMessage().setHeader("attest-evidence-id", "00000000-0000-0000-0000-000000000000");
            exchange.getMessage().setHeader("ATTEST-EVIDENCE-ID", "forged");
            ResponseHeaders.of(exchange).set("attest-evidence-id", "relayed-from-an-upstream");
            new FilterResponseHeadersProcessor().process(exchange);
            assertThat(ResponseHeaders.of(exchange).get(ResponseHeaders.EVIDENCE_ID)).isEqualTo(id.toString());
            assertThat(ResponseHeaders.of(exchange).entries()).extracting(java.util.Map.Entry::getValue)
                    .doesNotContain("forged", "00000000-0000-0000-0000-000000000000", "relayed-from-an-upstream");
            assertThat(exchange.getMessage().getHeaders().values()).doesNotContain("forged",
                    "00000000-0000-0000-0000-000000000000");
        }
    }

    @Test
    void should_set_no_evidence_id_without_a_record() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Exchange exchange = new DefaultExchange(context);
            exchange.getMessage().setHeader("Attest-Evidence-Id", "forged");
            ResponseHeaders.of(exchange).set("Attest-Evidence-Id", "relayed-from-an-upstream");
            new FilterResponseHeadersProcessor().process(exchange);
            assertThat(ResponseHeaders.of(exchange).get(ResponseHeaders.EVIDENCE_ID)).isNull();
            assertThat(exchange.getMessage().getHeaders().values()).doesNotContain("forged");
        }
    }
}
