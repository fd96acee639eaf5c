package attest.approval;

import attest.Exchanges;
import attest.evidence.EvidenceRecord;
import attest.evidence.EvidenceWriter;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.evidence.Outcome;
import attest.identity.Identity;
import attest.ingress.UpstreamRegistry;
import attest.ingress.UpstreamTarget;
import attest.policy.Decision;
import attest.policy.RequestFacts;
import attest.policy.Verdict;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.io.IOException;

/**
 * Puts an approved held call back on an exchange, as the data path's stages left it: the request as
 * received (without the caller's credentials), identity, upstream, facts, decision and the call's open
 * evidence record. The stored request must still match the digest the approval was bound to; if it does
 * not, the call is refused (and flagged by the error path).
 */
public class RestoreHeldCallProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();

    private final UpstreamRegistry upstreams;
    private final EvidenceWriter writer;

    public RestoreHeldCallProcessor(UpstreamRegistry upstreams, EvidenceWriter writer) {
        this.upstreams = upstreams;
        this.writer = writer;
    }

    @Override
    public void process(Exchange exchange) throws IOException {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        EvidenceRecord r = writer.find(a.evidenceId());
        exchange.setProperty(Exchanges.EVIDENCE, r);
        exchange.setProperty(Exchanges.EVIDENCE_WRITTEN, true);
        exchange.setProperty(Exchanges.REQUEST_ID, r.getRequestId());
        exchange.setProperty(Exchanges.RECEIVED_AT, r.getReceivedAt());
        exchange.setProperty(Exchanges.BUFFER_RESPONSE, true);
        exchange.setProperty(Exchanges.DECISION, new Decision(Verdict.REVIEW, a.ruleId(), a.reason(), 0, 0));
        if (!HeldRequest.intact(a)) {
            throw new GatewayException(409, "held_request_tampered", "the held request no longer matches the "
                    + "request that was approved; it was not executed", Outcome.DENIED);
        }
        UpstreamTarget target = upstreams.resolve(a.requestUri());
        if (!target.upstream().name().equals(a.upstream())) {
            throw new GatewayException(409, "held_request_tampered", "the held request's upstream changed; it was "
                    + "not executed", Outcome.DENIED);
        }
        exchange.setProperty(Exchanges.INBOUND, new InboundRequest(a.method(), a.requestUri(),
                HeldRequest.headers(a.requestHeaders()), a.requestBody(), r.getSourceAddress()));
        exchange.setProperty(Exchanges.IDENTITY, JSON.readValue(a.identityJson(), Identity.class));
        exchange.setProperty(Exchanges.FACTS, JSON.readValue(a.factsJson(), RequestFacts.class));
        exchange.setProperty(Exchanges.TARGET, target);
    }
}
