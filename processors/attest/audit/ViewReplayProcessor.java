package attest.audit;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.util.UUID;

/** Sets the body to a recorded call's replay timeline ({@code GET /audit/records/{id}/replay}); the view is evidence. */
public class ViewReplayProcessor implements Processor {
    private final Replays replays;

    public ViewReplayProcessor(Replays replays) {
        this.replays = replays;
    }

    @Override
    public void process(Exchange exchange) {
        UUID id = exchange.getMessage().getHeader(ReadAuditRecordPathProcessor.RECORD_ID, UUID.class);
        var timeline = replays.view(id, exchange.getProperty(Exchanges.IDENTITY, Identity.class))
                .orElseThrow(() -> new GatewayException(404, "not_found", "no such record", Outcome.DENIED));
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
        m.setBody(timeline.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
