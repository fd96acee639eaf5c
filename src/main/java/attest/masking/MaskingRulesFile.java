package attest.masking;

import attest.policy.PolicyRule;
import attest.rules.RuleFileException;
import attest.rules.YamlTree;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads every {@code *.yaml} in masking-rules/ into rule sets, validating as it goes: a bad file stops the
 * start with the file, the line and the rule. See masking-rules/README.md for the format.
 */
public final class MaskingRulesFile {
    private static final Set<String> TOP = Set.of("rule-sets");
    private static final Set<String> SET = Set.of("id", "scope", "exempt-roles", "detectors", "custom-detectors",
            "actions");
    private static final Set<String> SCOPE = Set.of("upstreams", "paths", "direction");
    private static final Set<String> CUSTOM = Set.of("name", "entity-type", "pattern", "validator", "score",
            "context", "threshold");

    private MaskingRulesFile() {
    }

    public static List<MaskingRuleSet> loadDirectory(Path dir, byte[] hmacKey) {
        List<MaskingRuleSet> all = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                for (MaskingRuleSet rs : parse(YamlTree.read(f), hmacKey)) {
                    if (!ids.add(rs.id())) {
                        throw new RuleFileException(f.toString(), 0, "duplicate rule set id '" + rs.id() + "'");
                    }
                    all.add(rs);
                }
            }
        } catch (IOException e) {
            throw new RuleFileException(dir.toString(), 0, "cannot read masking rules: " + e.getMessage());
        }
        return List.copyOf(all);
    }

    public static List<MaskingRuleSet> parse(YamlTree root, byte[] hmacKey) {
        YamlTree sets = root.map(TOP).get("rule-sets");
        if (sets == null) {
            throw root.error("missing 'rule-sets'");
        }
        List<MaskingRuleSet> out = new ArrayList<>();
        for (YamlTree s : sets.list()) {
            Map<String, YamlTree> m = s.map(SET);
            if (!m.containsKey("id")) {
                throw s.error("rule set without 'id'");
            }
            String id = m.get("id").scalar().trim();
            Map<String, YamlTree> scope = m.containsKey("scope") ? m.get("scope").map(SCOPE) : Map.of();
            List<String> upstreams = scope.containsKey("upstreams") ? scope.get("upstreams").strings() : List.of();
            if (upstreams.contains("*")) {
                upstreams = List.of();
            }
            List<java.util.regex.Pattern> paths = scope.containsKey("paths")
                    ? scope.get("paths").strings().stream().map(PolicyRule::glob).toList() : List.of();
            String direction = scope.containsKey("direction") ? scope.get("direction").scalar().trim() : "response";
            if (!Set.of("response", "request", "both").contains(direction)) {
                throw scope.get("direction").error("rule set '" + id + "': direction must be response, request or both");
            }
            List<Detector> detectors = detectors(m.get("detectors"), id);
            if (m.containsKey("custom-detectors")) {
                for (YamlTree c : m.get("custom-detectors").list()) {
                    detectors.add(custom(c, id));
                }
            }
            Map<String, Action> actions = new HashMap<>();
            Action fallback = Action.REDACT;
            if (m.containsKey("actions")) {
                for (Map.Entry<String, YamlTree> a : m.get("actions").map().entrySet()) {
                    Action action;
                    try {
                        action = Action.valueOf(a.getValue().scalar().trim().toUpperCase(Locale.ROOT));
                    } catch (IllegalArgumentException e) {
                        throw a.getValue().error("rule set '" + id + "': action must be redact, hash, partial or block");
                    }
                    if (a.getKey().equals("default")) {
                        fallback = action;
                    } else {
                        actions.put(a.getKey(), action);
                    }
                }
            }
            boolean hashes = fallback == Action.HASH || actions.containsValue(Action.HASH);
            if (hashes && (hmacKey == null || hmacKey.length < 16)) {
                throw s.error("rule set '" + id + "' uses 'hash' but no HMAC key of 16 bytes or more is configured "
                        + "(attest.masking.hmac-key-env or attest.masking.hmac-key-file)");
            }
            out.add(new MaskingRuleSet(id, upstreams, paths, !direction.equals("response"),
                    !direction.equals("request"),
                    m.containsKey("exempt-roles") ? m.get("exempt-roles").strings() : List.of(),
                    new Masker(new MaskingEngine(detectors), actions, fallback,
                            hmacKey == null ? new byte[0] : hmacKey)));
        }
        return out;
    }

    private static List<Detector> detectors(YamlTree node, String id) {
        List<Detector> builtIn = BuiltInDetectors.all();
        if (node == null) {
            return new ArrayList<>(builtIn);
        }
        List<String> names = node.strings();
        if (names.equals(List.of("all"))) {
            return new ArrayList<>(builtIn);
        }
        List<Detector> out = new ArrayList<>();
        for (String name : names) {
            Detector d = builtIn.stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow(() ->
                    node.error("rule set '" + id + "': unknown detector '" + name + "' (built in: "
                            + String.join(", ", builtIn.stream().map(Detector::name).toList()) + ")"));
            out.add(d);
        }
        return out;
    }

    private static Detector custom(YamlTree c, String id) {
        Map<String, YamlTree> m = c.map(CUSTOM);
        for (String required : List.of("name", "entity-type", "pattern")) {
            if (!m.containsKey(required)) {
                throw c.error("rule set '" + id + "': custom detector without '" + required + "'");
            }
        }
        String name = m.get("name").scalar().trim();
        Pattern pattern;
        try {
            pattern = Pattern.compile(m.get("pattern").scalar());
        } catch (PatternSyntaxException e) {
            throw m.get("pattern").error("rule set '" + id + "', detector '" + name + "': invalid RE2 pattern: "
                    + e.getDescription());
        }
        java.util.function.Predicate<String> validator;
        try {
            validator = Validators.byName(m.containsKey("validator") ? m.get("validator").scalar().trim() : "none");
        } catch (IllegalArgumentException e) {
            throw m.get("validator").error("rule set '" + id + "', detector '" + name + "': " + e.getMessage());
        }
        return new Detector(name, m.get("entity-type").scalar().trim(), pattern, validator,
                number(m, "score", 0.9), Detector.lower(m.containsKey("context") ? m.get("context").strings()
                : List.of()), number(m, "threshold", 0.5), Trigger.ALL, 0, 0, 0, 0, Integer.MAX_VALUE);
    }

    private static double number(Map<String, YamlTree> m, String key, double fallback) {
        if (!m.containsKey(key)) {
            return fallback;
        }
        try {
            double v = Double.parseDouble(m.get(key).scalar().trim());
            if (v < 0 || v > 1) {
                throw m.get(key).error(key + " must be between 0 and 1");
            }
            return v;
        } catch (NumberFormatException e) {
            throw m.get(key).error(key + " must be a number between 0 and 1");
        }
    }

    /** For messages outside a YAML node. */
    static RuleFileException error(String file, String problem) {
        return new RuleFileException(file, 0, problem);
    }
}
