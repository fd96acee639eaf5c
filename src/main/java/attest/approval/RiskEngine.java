package attest.approval;

import attest.identity.Identity;
import attest.policy.RequestFacts;
import attest.rules.Matching;
import com.google.re2j.Pattern;
import com.google.re2j.RequiredLiterals;

import java.time.Clock;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Finds the first risk rule that holds a call for approval, if any. */
public final class RiskEngine {
    /**
     * The rules in force, and for each prompt pattern the literals every match of it contains (absent: none known,
     * the pattern always runs): a prompt that holds none of a pattern's literals is not searched by it.
     */
    private record InForce(List<RiskRule> rules, Map<Pattern, Set<String>> literals) {
        static InForce of(List<RiskRule> rules) {
            Map<Pattern, Set<String>> literals = new IdentityHashMap<>();
            for (RiskRule r : rules) {
                for (Pattern p : r.prompt()) {
                    Set<String> l = RequiredLiterals.of(p.pattern());
                    if (l != null) {
                        literals.put(p, l);
                    }
                }
            }
            return new InForce(List.copyOf(rules), literals);
        }
    }

    private volatile InForce inForce;
    private final Clock clock;

    public RiskEngine(List<RiskRule> rules, Clock clock) {
        this.inForce = InForce.of(rules);
        this.clock = clock;
    }

    public List<RiskRule> rules() {
        return inForce.rules();
    }

    /** Puts new rules in force (a reload). */
    public void replace(List<RiskRule> next) {
        this.inForce = InForce.of(next);
    }

    public Optional<RiskRule> assess(Identity who, String upstream, RequestFacts facts, String prompt) {
        InForce now = inForce;
        String[] folded = new String[1]; // the prompt folded for the literal checks, once, when first needed
        for (RiskRule r : now.rules()) {
            if (matches(r, who, upstream, facts, prompt, now.literals(), folded)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    private boolean matches(RiskRule r, Identity who, String upstream, RequestFacts facts, String prompt,
                            Map<Pattern, Set<String>> literals, String[] folded) {
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
                Set<String> required = literals.get(p);
                if (required != null) {
                    if (folded[0] == null) {
                        folded[0] = RequiredLiterals.fold(prompt);
                    }
                    if (!RequiredLiterals.anyIn(folded[0], required)) {
                        continue; // no match can avoid every one of these literals
                    }
                }
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
