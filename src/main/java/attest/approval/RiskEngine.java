package attest.approval;

import attest.identity.Identity;
import attest.policy.RequestFacts;
import attest.rules.Matching;
import com.google.re2j.Pattern;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

/** Finds the first risk rule that holds a call for approval, if any. */
public final class RiskEngine {
    private volatile List<RiskRule> rules;
    private final Clock clock;

    public RiskEngine(List<RiskRule> rules, Clock clock) {
        this.rules = List.copyOf(rules);
        this.clock = clock;
    }

    public List<RiskRule> rules() {
        return rules;
    }

    /** Puts new rules in force (a reload). */
    public void replace(List<RiskRule> next) {
        this.rules = List.copyOf(next);
    }

    public Optional<RiskRule> assess(Identity who, String upstream, RequestFacts facts, String prompt) {
        for (RiskRule r : rules) {
            if (matches(r, who, upstream, facts, prompt)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    private boolean matches(RiskRule r, Identity who, String upstream, RequestFacts facts, String prompt) {
        if (!Matching.who(who, r.roles(), r.groups(), r.clients())) {
            return false;
        }
        if (!r.upstreams().isEmpty() && !r.upstreams().contains(upstream)) {
            return false;
        }
        // a call with a body but no model gets the upstream's default model, which may be any: a rule about
        // models holds it (fail closed); a call without a body (GET /v1/models) has no model to judge
        if (!r.models().isEmpty() && !(facts.model() == null ? facts.bodySize() > 0
                : Matching.anyGlob(r.models(), facts.model()))) {
            return false;
        }
        if (r.minBodyBytes() != null && facts.bodySize() < r.minBodyBytes()) {
            return false;
        }
        // no limit in a call with a body means no limit at all (the policy injects its ceiling first, so this is
        // a call whose policy rule has none): it is larger than any threshold
        if (r.maxTokensAbove() != null && (facts.maxTokens() == null ? facts.bodySize() == 0
                : facts.maxTokens() <= r.maxTokensAbove())) {
            return false;
        }
        if (!r.windows().isEmpty() && r.windows().stream().noneMatch(w -> w.contains(clock.instant()))) {
            return false;
        }
        if (!r.prompt().isEmpty()) {
            if (prompt == null || prompt.isEmpty()) {
                return false;
            }
            boolean any = false;
            for (Pattern p : r.prompt()) {
                if (p.matcher(prompt).find()) {
                    any = true;
                    break;
                }
            }
            return any;
        }
        return true;
    }
}
