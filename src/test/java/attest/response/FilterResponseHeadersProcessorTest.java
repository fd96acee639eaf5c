package attest.response;

import attest.Exchanges;
import attest.evidence.EvidenceRecord;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Attest-Evidence-Id comes from the gateway's own evidence record, never from an upstream's or a caller's header. */
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
            new FilterResponseHeadersProcessor().process(exchange);
            assertThat(exchange.getMessage().getHeaders()).containsEntry("Attest-Evidence-Id", id.toString());
            assertThat(exchange.getMessage().getHeaders().values()).doesNotContain("forged",
                    "00000000-0000-0000-0000-000000000000");
        }
    }

    @Test
    void should_set_no_evidence_id_without_a_record() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Exchange exchange = new DefaultExchange(context);
            exchange.getMessage().setHeader("Attest-Evidence-Id", "forged");
            new FilterResponseHeadersProcessor().process(exchange);
            assertThat(exchange.getMessage().getHeaders().values()).doesNotContain("forged");
        }
    }
}
