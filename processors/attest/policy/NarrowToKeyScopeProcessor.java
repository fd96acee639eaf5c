package attest.policy;

import attest.Exchanges;
import attest.ingress.UpstreamTarget;
import attest.keys.VirtualKey;
import attest.rules.Matching;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.List;

/**
 * Narrows {@code attestDecision} to the virtual key's scope: a call the owner's policy allows (or holds for review)
 * is refused (403, rule {@code key-scope}) when the key is limited to other upstreams or models. A key limited to
 * models cannot make a call that names none (the upstream's default could be any model). Calls without a key,
 * and calls already refused, are left alone: a key only ever takes power away.
 */
public class NarrowToKeyScopeProcessor implements Processor {
    public static final String RULE = "key-scope";

    @Override
    public void process(Exchange exchange) {
        VirtualKey key = exchange.getProperty(Exchanges.KEY, VirtualKey.class);
        Decision d = exchange.getProperty(Exchanges.DECISION, Decision.class);
        if (key == null || d == null || d.verdict() == Verdict.DENY) {
            return;
        }
        String upstream = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class).upstream().name();
        if (!key.upstreams().isEmpty() && !key.upstreams().contains(upstream)) {
            exchange.setProperty(Exchanges.DECISION, Decision.deny(RULE, "this key may not call upstream " + upstream));
            return;
        }
        if (key.models().isEmpty()) {
            return;
        }
        RequestFacts facts = exchange.getProperty(Exchanges.FACTS, RequestFacts.class);
        String model = facts == null ? null : facts.model();
        List<java.util.regex.Pattern> globs = key.models().stream().map(PolicyRule::glob).toList();
        if (model == null) {
            exchange.setProperty(Exchanges.DECISION, Decision.deny(RULE, "this key is limited to models "
                    + key.models() + ", and the call names none"));
        } else if (!Matching.anyGlob(globs, model)) {
            exchange.setProperty(Exchanges.DECISION, Decision.deny(RULE, "this key may not call this model"));
        }
    }
}
