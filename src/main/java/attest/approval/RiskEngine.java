package attest.approval;

import attest.identity.Identity;
import attest.policy.RequestFacts;
import com.google.re2j.Pattern;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

/** Finds the first risk rule that holds a call for approval, if any. */
public final class RiskEngine {
    private final List<RiskRule> rules;
    private final Clock clock;

    public RiskEngine(List<RiskRule> rules, Clock clock) {
        this.rules = List.copyOf(rules);
        this.clock = clock;
    }

    public List<RiskRule> rules() {
        return rules;
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
        if (!r.roles().isEmpty() && r.roles().stream().noneMatch(who.roles()::contains)) {
            return false;
        }
        if (!r.groups().isEmpty() && r.groups().stream().noneMatch(who.groups()::contains)) {
            return false;
        }
        if (!r.clients().isEmpty() && !r.clients().contains(who.clientId())) {
            return false;
        }
        if (!r.upstreams().isEmpty() && !r.upstreams().contains(upstream)) {
            return false;
        }
        if (!r.models().isEmpty() && (facts.model() == null
                || r.models().stream().noneMatch(p -> p.matcher(facts.model()).matches()))) {
            return false;
        }
        if (r.minBodyBytes() != null && facts.bodySize() < r.minBodyBytes()) {
            return false;
        }
        if (r.maxTokensAbove() != null && (facts.maxTokens() == null || facts.maxTokens() <= r.maxTokensAbove())) {
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
