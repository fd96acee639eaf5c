package attest.usage;

import attest.Exchanges;
import attest.identity.Identity;
import attest.keys.VirtualKey;
import attest.policy.Decision;
import attest.policy.RequestFacts;
import attest.policy.Verdict;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.ArrayList;
import java.util.List;

/**
 * Admits an allowed call against every budget and limit that applies to it (the key's own, and the owner's user
 * and group entries of usage/limits.yaml), counted in PostgreSQL and shared by every replica. Sets
 * {@code attestLimits} (the token and cost budgets to charge when the answer's usage is known); when one is
 * exhausted, turns {@code attestDecision} into a 429 that names it and when it resets (with Retry-After). A cost
 * budget cannot be kept on a model without a price: such a call is refused (403).
 */
public class AdmitUsageProcessor implements Processor {
    private final UsageCounters counters;
    private final LimitsFile limits;
    private final Prices prices;

    public AdmitUsageProcessor(UsageCounters counters, LimitsFile limits, Prices prices) {
        this.counters = counters;
        this.limits = limits;
        this.prices = prices;
    }

    /** Whether admitting this call reads the store: a budget or limit applies to it (else the step does nothing). */
    public static boolean countsInStore(Exchange exchange, LimitsFile limits) {
        Identity who = admissible(exchange);
        return who != null && (exchange.getProperty(Exchanges.KEY, VirtualKey.class) != null
                || !limits.limitsFor(who).isEmpty());
    }

    /** The caller of a call that is to be admitted (decided, not denied, with an identity), else null. */
    private static Identity admissible(Exchange exchange) {
        Decision d = exchange.getProperty(Exchanges.DECISION, Decision.class);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        return d == null || d.verdict() == Verdict.DENY ? null : who;
    }

    @Override
    public void process(Exchange exchange) {
        Identity who = admissible(exchange);
        if (who == null) {
            return;
        }
        List<Limit> all = new ArrayList<>();
        VirtualKey key = exchange.getProperty(Exchanges.KEY, VirtualKey.class);
        if (key != null) {
            all.addAll(key.budget().limits("key " + key.name() + " (" + key.id() + ")", "key-budget", "key:" + key.id()));
        }
        all.addAll(limits.limitsFor(who));
        if (all.isEmpty()) {
            return;
        }
        RequestFacts facts = exchange.getProperty(Exchanges.FACTS, RequestFacts.class);
        String model = facts == null ? null : facts.model();
        for (Limit l : all) {
            if (Limit.COST.equals(l.metric()) && prices.priceOf(model) == null) {
                exchange.setProperty(Exchanges.DECISION, Decision.deny(l.ruleId(), l.name() + " is kept in cost, and "
                        + "this model has no price (usage/prices.yaml)"));
                return;
            }
        }
        var refusal = counters.admit(all);
        if (refusal.isPresent()) {
            Limit l = refusal.get().limit();
            exchange.setProperty(Exchanges.DECISION, new Decision(Verdict.DENY, l.ruleId(), l.name() + " ("
                    + l.describe() + ") is exhausted; it resets at " + refusal.get().resetsAt(), 429,
                    refusal.get().retryAfterSeconds()));
            return;
        }
        exchange.setProperty(Exchanges.LIMITS, all.stream().filter(l -> !l.countsRequests()).toList());
    }
}
