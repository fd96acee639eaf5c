package attest.policy;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.identity.Identity;
import attest.ingress.UpstreamTarget;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestDecision}: ALLOW, DENY or REVIEW, with rule id and reason, and {@code attestRulesVersion}: the
 * version (digest of the rule files) of the rules that decided. Routing is the route's job.
 */
public class DecidePolicyProcessor implements Processor {
    private final PolicyEngine engine;

    public DecidePolicyProcessor(PolicyEngine engine) {
        this.engine = engine;
    }

    /**
     * Whether deciding this call may block (a rule's requests-per-minute counted in the store): the step is then
     * bound to run off the event loop ({@code AttestConfiguration.blocking}).
     */
    public boolean blocks(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        if (in == null || target == null || who == null) {
            return false;
        }
        return engine.countsInStore(engine.current(), who, target.upstream().name(), in.method(), target.path(),
                exchange.getProperty(Exchanges.FACTS, RequestFacts.class));
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        PolicyEngine.Rules rules = engine.current();
        exchange.setProperty(Exchanges.RULES_VERSION, rules.version());
        exchange.setProperty(Exchanges.DECISION, engine.decide(rules, exchange.getProperty(Exchanges.IDENTITY, Identity.class),
                target.upstream().name(), in.method(), target.path(),
                exchange.getProperty(Exchanges.FACTS, RequestFacts.class)));
    }
}
