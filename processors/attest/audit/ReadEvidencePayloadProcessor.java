package attest.audit;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;

/**
 * Sets the body to a record's decrypted payloads for {@code GET /audit/records/{id}/payload} (auditors only; the
 * read is recorded as evidence first). Text payloads are given as text, others as base64. 404 for an unknown id.
 * The view is raw by design and says so: {@code "masking": "none: auditor raw view"} ({@code response} is the
 * answer as delivered, masked; {@code request} and {@code raw_response} are unmasked).
 */
public class ReadEvidencePayloadProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PayloadReads reads;

    public ReadEvidencePayloadProcessor(PayloadReads reads) {
        this.reads = reads;
    }

    @Override
    public void process(Exchange exchange) {
        UUID id = exchange.getMessage().getHeader(ReadAuditRecordPathProcessor.RECORD_ID, UUID.class);
        PayloadReads.Payload p = reads.read(id, exchange.getProperty(Exchanges.IDENTITY, Identity.class))
                .orElseThrow(() -> new GatewayException(404, "not_found", "no such record", Outcome.DENIED));
        ObjectNode body = JSON.createObjectNode();
        body.put("record_id", id.toString());
        // raw by design: the request and the upstream's answer as they were, decrypted for an auditor
        body.put("masking", "none: auditor raw view");
        body.put("purged", p.purged());
        put(body, "request", p.request());
        if (p.requestTruncated()) {
            // a refused call keeps only the first bytes of its body: the record's request_sha256 is the whole body's
            body.put("request_truncated", true);
        }
        put(body, "response", p.response());
        put(body, "raw_response", p.raw());
        Message out = exchange.getMessage();
        out.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
        out.setBody(body.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static void put(ObjectNode body, String name, byte[] data) {
        if (data == null) {
            body.putNull(name);
            return;
        }
        try {
            body.put(name, StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(data)).toString());
        } catch (CharacterCodingException e) {
            body.put(name + "_base64", Base64.getEncoder().encodeToString(data));
        }
    }
}
