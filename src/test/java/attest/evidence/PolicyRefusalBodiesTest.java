package attest.evidence;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.policy.Decision;
import attest.policy.Verdict;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/security.md (Floods): a refused request (400, 401, 408, 413, 414, 429, 431, 503) is evidence of its
 * metadata, size and digest, never of its body. A policy rule refuses with such a status too (its
 * max-body-bytes: 413, its requests-per-minute: 429), with a Decision rather than an error; a plain denial
 * (403) keeps the body as received, as evidence of what was asked.
 */
class PolicyRefusalBodiesTest {
    @ParameterizedTest(name = "policy {0} with status {1}: body kept {2}")
    @CsvSource({"DENY, 413, false", "DENY, 429, false", "DENY, 403, true", "REVIEW, 429, true"})
    void should_keep_the_body_of_a_policy_refusal_only_when_its_status_is_no_refusal_of_the_request(
            Verdict verdict, int status, boolean kept) throws Exception {
        byte[] body = ("{\"model\":\"demo-model\",\"pad\":\"" + "x".repeat(10_000) + "\"}").getBytes(StandardCharsets.UTF_8);
        EvidenceAssembler assembler = new EvidenceAssembler("test");
        EvidenceRecord r = assembler.begin("rid", Instant.now(), new InboundRequest("POST", "/llm/v1/chat/completions",
                List.of(), body, "127.0.0.1"));
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Exchange exchange = new DefaultExchange(context);
            exchange.setProperty(Exchanges.DECISION, new Decision(verdict, "rule", "refused", status, 0));
            if (verdict == Verdict.REVIEW) {
                r.setApprovalId(java.util.UUID.randomUUID()); // a held call keeps its request
            }
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status);
            assembler.finish(r, exchange, "{\"error\":{}}".getBytes(StandardCharsets.UTF_8), Instant.now());
        }
        assertThat(r.getRequestBody() != null).isEqualTo(kept);
        assertThat(r.getRequestSize()).isEqualTo(body.length);
        assertThat(r.getRequestSha256()).isNotNull();
    }
}
