package attest.masking;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.evidence.Outcome;
import attest.identity.Identity;
import attest.ingress.UpstreamTarget;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * For rule sets whose direction is {@code request} or {@code both}: sets {@code attestForwardBody} to the
 * request body with regulated data masked, so the upstream never sees it. The evidence keeps the body as
 * received.
 */
public class MaskRequestProcessor implements Processor {
    private final MaskingService service;

    public MaskRequestProcessor(MaskingService service) {
        this.service = service;
    }

    @Override
    public void process(Exchange exchange) {
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        var rules = service.ruleSetFor(target.upstream().name(), target.path()).filter(MaskingRuleSet::requests);
        if (rules.isEmpty()) {
            return;
        }
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        if (who != null && rules.get().exemptRoles().stream().anyMatch(who::hasRole)) {
            return;
        }
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        if (in.body().length == 0) {
            return;
        }
        try {
            exchange.setProperty(Exchanges.FORWARD_BODY, service.run(() -> JsonMasker.mask(in.body(),
                    rules.get().masker(), r -> { })));
        } catch (BlockedException e) {
            throw new GatewayException(403, "request_blocked", "the request was refused: it contains "
                    + e.entityType(), Outcome.BLOCKED);
        } catch (MaskingFailedException e) {
            throw new GatewayException(502, "masking_failed", "the request could not be masked and was not sent",
                    Outcome.MASKING_FAILED);
        }
    }
}
