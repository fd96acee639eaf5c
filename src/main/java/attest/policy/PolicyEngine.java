package attest.policy;

import attest.identity.Identity;
import attest.rules.Matching;

import java.util.List;

/**
 * Least-privilege decisions: the first rule whose match holds decides; no match means DENY.
 * A matched ALLOW or REVIEW rule's limits still apply, and turn the call into a refusal
 * (413 body, 403 max_tokens, 429 rate). A call that names no token limit is not unlimited: the rule's
 * {@link PolicyRule#injectedMaxTokens()} is written into its body afterwards (ApplyTokenCeilingProcessor), and a
 * body it cannot be written into is refused here.
 */
public final class PolicyEngine {
    /** The rules in force and the version (digest of the rule files) they belong to; swapped whole on reload. */
    public record Rules(List<PolicyRule> rules, String version) {
        public Rules {
            rules = List.copyOf(rules);
        }
    }

    private volatile Rules current;
    private final RateLimiter rateLimiter;

    public PolicyEngine(List<PolicyRule> rules, RateLimiter rateLimiter) {
        this.current = new Rules(rules, null);
        this.rateLimiter = rateLimiter;
    }

    public List<PolicyRule> rules() {
        return current.rules();
    }

    /** The rules in force now, with their version: decide with these to know which version decided. */
    public Rules current() {
        return current;
    }

    /** Puts new rules in force (a reload); rate-limit windows carry over. */
    public void replace(List<PolicyRule> rules, String version) {
        this.current = new Rules(rules, version);
    }

    /** The rule with this id, if any. */
    public java.util.Optional<PolicyRule> rule(String id) {
        return current.rules().stream().filter(r -> r.id().equals(id)).findFirst();
    }

    public Decision decide(Identity who, String upstream, String method, String path, RequestFacts facts) {
        return decide(current, who, upstream, method, path, facts);
    }

    public Decision decide(Rules in, Identity who, String upstream, String method, String path, RequestFacts facts) {
        for (PolicyRule rule : in.rules()) {
            if (matches(rule, who, upstream, method, path, facts)) {
                return applyLimits(rule, who, facts);
            }
        }
        return Decision.deny(Decision.DEFAULT_DENY, "no policy rule allows this call");
    }

    /**
     * Whether deciding this call may block its thread: the rule it matches counts its requests per minute in the
     * store (and this replica has none of them taken ahead). Matching is repeated, which reads nothing.
     */
    public boolean countsInStore(Rules in, Identity who, String upstream, String method, String path,
                                 RequestFacts facts) {
        for (PolicyRule rule : in.rules()) {
            if (matches(rule, who, upstream, method, path, facts)) {
                return rule.verdict() != Verdict.DENY && rule.requestsPerMinute() != null
                        && rateLimiter.blocks(rateKey(rule, who), rule.requestsPerMinute());
            }
        }
        return false;
    }

    private static String rateKey(PolicyRule rule, Identity who) {
        return rule.id() + "|" + who.subject();
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
        if (rule.maxTokens() != null && facts.maxTokens() == null && facts.bodySize() > 0 && !facts.jsonObject()) {
            // no limit named, and none can be written into this body: it would be unlimited
            return Decision.deny(rule.id(), "a token ceiling applies, and this body is not a JSON object it can be "
                    + "written into");
        }
        if (rule.requestsPerMinute() != null) {
            long retry = rateLimiter.acquire(rateKey(rule, who), rule.requestsPerMinute());
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
        if (r.models().isEmpty()) {
            return true;
        }
        if (facts.model() == null) {
            // a body without a model gets the upstream's default, which may be any model: a DENY or REVIEW rule
            // about models applies to it (fail closed), an ALLOW rule about models does not
            return facts.bodySize() > 0 && r.verdict() != Verdict.ALLOW;
        }
        return Matching.anyGlob(r.models(), facts.model());
    }
}
