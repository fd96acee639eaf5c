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
 * (403) keeps at most {@code attest.evidence.denied-body-bytes} of the body as received, as evidence of what was
 * asked, and says when it cut it.
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
            assembler.settle(r, exchange, "{\"error\":{}}".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(r.getRequestBody() != null).isEqualTo(kept);
        assertThat(r.getRequestSize()).isEqualTo(body.length);
        assertThat(r.getRequestSha256()).isNotNull();
    }

    /**
     * A signed-in user with no role (or denied by a rule) sends a megabyte: the record keeps the whole body's size
     * and digest, a prefix of at most the configured bytes, and says plainly that it was cut (row and chain entry),
     * with the prefix's own size and digest so that the stored payload can still be verified.
     */
    @ParameterizedTest(name = "{0} bytes sent, {1} kept at most")
    @CsvSource({"1048576, 4096", "1048576, 0", "4096, 4096", "100, 4096"})
    void should_keep_a_bounded_prefix_of_a_denied_body_and_say_it_was_cut(int size, int limit) throws Exception {
        byte[] body = new byte[size];
        new java.util.Random(size).nextBytes(body);
        EvidenceAssembler assembler = new EvidenceAssembler("test", limit);
        EvidenceRecord r = assembler.begin("rid", Instant.now(), new InboundRequest("POST", "/llm/v1/chat/completions",
                List.of(), body, "127.0.0.1"));
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Exchange exchange = new DefaultExchange(context);
            exchange.setProperty(Exchanges.DECISION, new Decision(Verdict.DENY, "no-role", "no role", 403, 0));
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 403);
            assembler.settle(r, exchange, "{\"error\":{}}".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(r.getRequestSize()).as("the whole body's size").isEqualTo(size);
        assertThat(r.getRequestSha256()).as("the whole body's digest").isEqualTo(EvidenceAssembler.sha256(body));
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> request = (java.util.Map<String, Object>)
                attest.evidence.chain.ChainRecords.call(r, Instant.now()).body().get("request");
        if (size <= limit) {
            assertThat(r.getRequestBody()).isEqualTo(body);
            assertThat(r.getRequestTruncated()).isNull();
            assertThat(request).doesNotContainKeys("truncated", "stored_size", "stored_sha256");
        } else {
            int kept = r.getRequestBody().length;
            assertThat(kept).as("at most the limit, cut before a UTF-8 continuation byte").isBetween(
                    Math.max(0, limit - 3), limit);
            assertThat(kept == 0 || (body[kept] & 0xC0) != 0x80 || kept == limit - 3).isTrue();
            byte[] prefix = java.util.Arrays.copyOf(body, kept);
            assertThat(r.getRequestBody()).isEqualTo(prefix);
            assertThat(r.getRequestTruncated()).isTrue();
            assertThat(r.getRequestStoredSize()).isEqualTo(kept);
            assertThat(r.getRequestStoredSha256()).isEqualTo(EvidenceAssembler.sha256(prefix));
            assertThat(request).containsEntry("truncated", true).containsEntry("stored_size", (long) kept)
                    .containsEntry("stored_sha256", EvidenceAssembler.sha256(prefix))
                    .containsEntry("size", (long) size).containsEntry("sha256", EvidenceAssembler.sha256(body));
        }
    }

    /** A text body is cut at a character boundary, so that its prefix is still text for the auditor. */
    @org.junit.jupiter.api.Test
    void should_cut_a_text_body_between_characters() throws Exception {
        byte[] body = ("{\"pad\":\"" + "é€😀".repeat(5000) + "\"}").getBytes(StandardCharsets.UTF_8);
        for (int limit = 100; limit < 112; limit++) {
            EvidenceAssembler assembler = new EvidenceAssembler("test", limit);
            EvidenceRecord r = assembler.begin("rid", Instant.now(), new InboundRequest("POST",
                    "/llm/v1/chat/completions", List.of(), body, "127.0.0.1"));
            try (DefaultCamelContext context = new DefaultCamelContext()) {
                Exchange exchange = new DefaultExchange(context);
                exchange.setProperty(Exchanges.DECISION, new Decision(Verdict.DENY, "no-role", "no role", 403, 0));
                exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 403);
                assembler.settle(r, exchange, new byte[0]);
            }
            byte[] kept = r.getRequestBody();
            assertThat(kept.length).isBetween(limit - 3, limit);
            String text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(kept)).toString();
            assertThat(new String(body, StandardCharsets.UTF_8)).startsWith(text);
        }
    }

    /**
     * Filling and ending are two steps: {@code settle} fills a denied call's record and says how it ended, the record
     * stays open until {@code EvidenceEvents.terminate} ends it, and the event is of the record as it then is.
     */
    @org.junit.jupiter.api.Test
    void should_fill_a_denied_call_without_ending_it_until_it_is_terminated() throws Exception {
        EvidenceAssembler assembler = new EvidenceAssembler("test");
        Instant received = Instant.parse("2026-11-29T10:15:30Z");
        EvidenceRecord r = assembler.begin("rid", received, new InboundRequest("POST", "/llm/v1/chat/completions",
                List.of(), new byte[0], "127.0.0.1"));
        Outcome outcome;
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Exchange exchange = new DefaultExchange(context);
            exchange.setProperty(Exchanges.DECISION, new Decision(Verdict.DENY, "no-role", "no role", 403, 0));
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 403);
            outcome = assembler.settle(r, exchange, new byte[0]);
        }
        assertThat(outcome).isEqualTo(Outcome.DENIED);
        assertThat(r.getState()).isEqualTo(EvidenceRecord.OPEN);
        assertThat(r.getOutcome()).isNull();
        assertThat(r.getCompletedAt()).isNull();
        OutboxEvent e = EvidenceEvents.terminate(r, outcome, received.plusMillis(42), "t", received.plusSeconds(1));
        assertThat(r.getState()).isEqualTo(EvidenceRecord.TERMINAL);
        assertThat(r.getDurationMs()).isEqualTo(42L);
        assertThat(e.getPayload()).contains("\"event_type\":\"call.denied\"", "\"outcome\":\"denied\"",
                "\"duration_ms\":42");
    }
}
