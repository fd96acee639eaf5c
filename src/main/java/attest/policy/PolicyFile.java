package attest.policy;

import attest.rules.RuleFileException;
import attest.rules.YamlTree;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Reads and validates a least-privilege policy file. A bad file stops the start with file, line and problem. */
public final class PolicyFile {
    private static final Set<String> TOP = Set.of("rules");
    private static final Set<String> RULE = Set.of("id", "decision", "reason", "match", "limits");
    private static final Set<String> MATCH = Set.of("roles", "groups", "clients", "subjects", "upstreams", "methods",
            "paths", "models");
    private static final Set<String> LIMITS = Set.of("max-body-bytes", "max-tokens", "requests-per-minute",
            "default-max-tokens");
    /**
     * The methods a rule may list: those the door lets through (anything else is refused 405 before policy, so a rule
     * listing it could never match).
     */
    private static final List<String> METHODS = attest.http.ServedMethods.DOOR;
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9\\-_.]{0,99}");

    private PolicyFile() {
    }

    public static List<PolicyRule> load(Path path, Set<String> knownUpstreams) {
        return parse(YamlTree.read(path), knownUpstreams);
    }

    public static List<PolicyRule> parse(YamlTree root, Set<String> knownUpstreams) {
        Map<String, YamlTree> top = root.map(TOP);
        YamlTree rulesNode = top.get("rules");
        if (rulesNode == null) {
            throw root.error("missing 'rules'");
        }
        List<PolicyRule> rules = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (YamlTree r : rulesNode.list()) {
            Map<String, YamlTree> m = r.map(RULE);
            String id = required(r, m, "id").scalar().trim();
            if (!ID.matcher(id).matches()) {
                throw m.get("id").error("rule id must be lower-case letters, digits, '-', '_' or '.': " + id);
            }
            if (!ids.add(id)) {
                throw m.get("id").error("duplicate rule id '" + id + "'");
            }
            String decisionText = required(r, m, "decision").scalar().trim().toUpperCase(Locale.ROOT);
            Verdict verdict;
            try {
                verdict = Verdict.valueOf(decisionText);
            } catch (IllegalArgumentException e) {
                throw m.get("decision").error("decision must be ALLOW, DENY or REVIEW, got '" + decisionText + "'");
            }
            String reason = required(r, m, "reason").scalar().trim();
            if (reason.isEmpty()) {
                throw m.get("reason").error("reason must not be empty");
            }
            Map<String, YamlTree> match = m.containsKey("match") ? m.get("match").map(MATCH) : Map.of();
            if (match.isEmpty()) {
                throw r.error("rule '" + id + "' has no 'match': a rule that matches every call must say so "
                        + "with an explicit match, for example paths: ['**']");
            }
            List<String> upstreams = strings(match, "upstreams");
            for (String u : upstreams) {
                if (!knownUpstreams.contains(u)) {
                    throw match.get("upstreams").error("unknown upstream '" + u + "' (configured: "
                            + String.join(", ", knownUpstreams.stream().sorted().toList()) + ")");
                }
            }
            List<String> methods = strings(match, "methods").stream().map(s -> s.toUpperCase(Locale.ROOT)).toList();
            for (String method : methods) {
                if (!METHODS.contains(method)) {
                    String listed = strings(match, "methods").stream().filter(x -> x.toUpperCase(Locale.ROOT)
                            .equals(method)).findFirst().orElse(method);
                    throw match.get("methods").error("rule '" + id + "': unknown HTTP method '" + listed
                            + "': the gateway refuses it (405) before policy, so the rule could never match; "
                            + "methods are " + String.join(", ", METHODS));
                }
            }
            List<Pattern> paths = strings(match, "paths").stream().map(p -> {
                if (!p.startsWith("/") && !p.startsWith("*")) {
                    throw match.get("paths").error("path pattern must start with '/': " + p);
                }
                return PolicyRule.glob(p);
            }).toList();
            List<Pattern> models = strings(match, "models").stream().map(PolicyRule::glob).toList();
            Map<String, YamlTree> limits = m.containsKey("limits") ? m.get("limits").map(LIMITS) : Map.of();
            rules.add(new PolicyRule(id, verdict, reason, r.line(),
                    strings(match, "roles"), strings(match, "groups"), strings(match, "clients"),
                    strings(match, "subjects"), upstreams, methods, paths, models,
                    positive(limits, "max-body-bytes"), positive(limits, "max-tokens"),
                    positive(limits, "requests-per-minute"), positive(limits, "default-max-tokens")));
            PolicyRule added = rules.get(rules.size() - 1);
            if (added.defaultMaxTokens() != null && (added.maxTokens() == null
                    || added.defaultMaxTokens() > added.maxTokens())) {
                throw m.get("limits").error("rule '" + id + "': default-max-tokens needs a max-tokens ceiling at least "
                        + "as high");
            }
        }
        if (rules.isEmpty()) {
            throw rulesNode.error("no rules: every call would be denied");
        }
        return List.copyOf(rules);
    }

    private static YamlTree required(YamlTree owner, Map<String, YamlTree> m, String key) {
        YamlTree v = m.get(key);
        if (v == null) {
            throw owner.error("missing '" + key + "'");
        }
        return v;
    }

    private static List<String> strings(Map<String, YamlTree> m, String key) {
        YamlTree v = m.get(key);
        return v == null ? List.of() : v.strings();
    }

    private static Long positive(Map<String, YamlTree> m, String key) {
        YamlTree v = m.get(key);
        return v == null ? null : v.positiveLong();
    }

    /** For messages: a validation error outside YAML structure. */
    static RuleFileException error(String file, int line, String problem) {
        return new RuleFileException(file, line, problem);
    }
}
