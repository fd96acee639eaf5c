package attest.approval;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.identity.Identity;
import attest.ingress.UpstreamTarget;
import attest.policy.Decision;
import attest.policy.RequestFacts;
import attest.policy.Verdict;
import attest.text.PromptExtractor;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Turns an ALLOW into REVIEW when a risk rule (approval-flow/) matches the call, so the router holds it for
 * a human. A DENY or REVIEW from policy stands as it is. The prompt is the body's normalised text, read by
 * {@link PromptExtractor} whatever the Content-Type says.
 */
public class AssessRiskProcessor implements Processor {
    private final RiskEngine engine;

    public AssessRiskProcessor(RiskEngine engine) {
        this.engine = engine;
    }

    @Override
    public void process(Exchange exchange) {
        Decision d = exchange.getProperty(Exchanges.DECISION, Decision.class);
        if (d == null || d.verdict() != Verdict.ALLOW) {
            return;
        }
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        engine.assess(exchange.getProperty(Exchanges.IDENTITY, Identity.class),
                exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class).upstream().name(),
                exchange.getProperty(Exchanges.FACTS, RequestFacts.class), prompt(exchange, in))
                .ifPresent(rule -> exchange.setProperty(Exchanges.DECISION, Decision.review(rule.id(), rule.reason())));
    }

    /** The prompt text, from the body's parse that the facts step kept (the body is parsed once). */
    private static String prompt(Exchange exchange, attest.http.InboundRequest in) {
        byte[] body = in.body();
        if (body == null || body.length == 0) {
            return "";
        }
        attest.policy.RequestBodyJson.Cached c = exchange.getProperty(Exchanges.REQUEST_JSON,
                attest.policy.RequestBodyJson.Cached.class);
        if (c != null && c.body() == body && c.parsed().root() != null) {
            return PromptExtractor.extract(c.parsed().root());
        }
        return PromptExtractor.extract(body);
    }
}
