package attest.audit;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.evidence.Outcome;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.util.UUID;

/**
 * Re-executes a recorded call under the auditor's own token ({@code POST /audit/records/{id}/replay}) and sets
 * the body to the outcome: the new call's request id and status, and whether the answer's digest matches.
 */
public class RunReplayProcessor implements Processor {
    private final Replays replays;

    public RunReplayProcessor(Replays replays) {
        this.replays = replays;
    }

    @Override
    public void process(Exchange exchange) {
        UUID id = exchange.getMessage().getHeader(ReadAuditRecordPathProcessor.RECORD_ID, UUID.class);
        String authorization = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class).header("Authorization");
        String token = authorization.substring(authorization.indexOf(' ') + 1).strip();
        var result = replays.reexecute(id, exchange.getProperty(Exchanges.IDENTITY, Identity.class), token)
                .orElseThrow(() -> new GatewayException(404, "not_found", "no such record", Outcome.DENIED));
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        m.setBody(result.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
