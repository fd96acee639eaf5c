package attest.policy;

import attest.identity.Identity;
import attest.rules.Matching;

import java.util.List;

/**
 * Least-privilege decisions: the first rule whose match holds decides; no match means DENY.
 * A matched ALLOW or REVIEW rule's limits still apply, and turn the call into a refusal
 * (413 body, 403 max_tokens, 429 rate).
 */
public final class PolicyEngine {
    private final List<PolicyRule> rules;
    private final RateLimiter rateLimiter;

    public PolicyEngine(List<PolicyRule> rules, RateLimiter rateLimiter) {
        this.rules = List.copyOf(rules);
        this.rateLimiter = rateLimiter;
    }

    public List<PolicyRule> rules() {
        return rules;
    }

    public Decision decide(Identity who, String upstream, String method, String path, RequestFacts facts) {
        for (PolicyRule rule : rules) {
            if (matches(rule, who, upstream, method, path, facts)) {
                return applyLimits(rule, who, facts);
            }
        }
        return Decision.deny(Decision.DEFAULT_DENY, "no policy rule allows this call");
    }

    private Decision applyLimits(PolicyRule rule, Identity who, RequestFacts facts) {
        if (rule.verdict() == Verdict.DENY) {
            return Decision.deny(rule.id(), rule.reason());
        }
        if (rule.maxBodyBytes() != null && facts.bodySize() > rule.maxBodyBytes()) {
            return new Decision(Verdict.DENY, rule.id(), "request body exceeds " + rule.maxBodyBytes() + " bytes",
                    413, 0);
        }
        if (rule.maxTokens() != null && facts.maxTokens() != null && facts.maxTokens() > rule.maxTokens()) {
            return Decision.deny(rule.id(), "max_tokens exceeds the ceiling of " + rule.maxTokens());
        }
        if (rule.requestsPerMinute() != null) {
            long retry = rateLimiter.acquire(rule.id() + "|" + who.subject(), rule.requestsPerMinute());
            if (retry > 0) {
                return new Decision(Verdict.DENY, rule.id(),
                        "rate limit of " + rule.requestsPerMinute() + " requests per minute exceeded", 429, retry);
            }
        }
        return rule.verdict() == Verdict.ALLOW ? Decision.allow(rule.id(), rule.reason())
                : Decision.review(rule.id(), rule.reason());
    }

    static boolean matches(PolicyRule r, Identity who, String upstream, String method, String path, RequestFacts facts) {
        if (!Matching.who(who, r.roles(), r.groups(), r.clients())) {
            return false;
        }
        if (!r.subjects().isEmpty() && !r.subjects().contains(who.subject())
                && (who.username() == null || !r.subjects().contains(who.username()))) {
            return false;
        }
        if (!r.upstreams().isEmpty() && !r.upstreams().contains(upstream)) {
            return false;
        }
        if (!r.methods().isEmpty() && !r.methods().contains(method)) {
            return false;
        }
        if (!r.paths().isEmpty() && !Matching.anyGlob(r.paths(), path)) {
            return false;
        }
        // a rule about models never matches a call whose model is unknown
        return r.models().isEmpty() || Matching.anyGlob(r.models(), facts.model());
    }
}
