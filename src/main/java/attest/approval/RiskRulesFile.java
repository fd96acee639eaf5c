package attest.approval;

import attest.policy.PolicyRule;
import attest.rules.RuleFileException;
import attest.rules.YamlTree;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads every {@code *.yaml} in approval-flow/ into risk rules, validating as it goes; a bad file stops the
 * start with the file, the line and the rule. The format is documented in approval-flow/risk-rules.yaml.
 */
public final class RiskRulesFile {
    private static final Set<String> TOP = Set.of("rules");
    private static final Set<String> RULE = Set.of("id", "reason", "match", "approvers", "approvals-required", "ttl");
    private static final Set<String> MATCH = Set.of("roles", "groups", "clients", "upstreams", "models", "prompt",
            "min-body-bytes", "max-tokens-above", "time-windows");
    private static final Set<String> PROMPT = Set.of("patterns", "sets");
    private static final Set<String> APPROVERS = Set.of("role", "group");
    private static final Set<String> WINDOW = Set.of("days", "from", "to", "zone");

    private RiskRulesFile() {
    }

    public static List<RiskRule> loadDirectory(Path dir) {
        List<RiskRule> all = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                for (RiskRule r : parse(YamlTree.read(f))) {
                    if (!ids.add(r.id())) {
                        throw new RuleFileException(f.toString(), 0, "duplicate risk rule id '" + r.id() + "'");
                    }
                    all.add(r);
                }
            }
        } catch (IOException e) {
            throw new RuleFileException(dir.toString(), 0, "cannot read risk rules: " + e.getMessage());
        }
        return List.copyOf(all);
    }

    public static List<RiskRule> parse(YamlTree root) {
        YamlTree rules = root.map(TOP).get("rules");
        if (rules == null) {
            throw root.error("missing 'rules'");
        }
        List<RiskRule> out = new ArrayList<>();
        for (YamlTree r : rules.list()) {
            Map<String, YamlTree> m = r.map(RULE);
            for (String required : List.of("id", "reason", "match", "approvers")) {
                if (!m.containsKey(required)) {
                    throw r.error("risk rule without '" + required + "'");
                }
            }
            String id = m.get("id").scalar().trim();
            Map<String, YamlTree> match = m.get("match").map(MATCH);
            if (match.isEmpty()) {
                throw m.get("match").error("risk rule '" + id + "': 'match' is empty");
            }
            List<Pattern> prompt = new ArrayList<>();
            if (match.containsKey("prompt")) {
                Map<String, YamlTree> p = match.get("prompt").map(PROMPT);
                if (p.containsKey("sets")) {
                    for (String set : p.get("sets").strings()) {
                        List<String> patterns = PromptPatterns.DEFAULTS.get(set);
                        if (patterns == null) {
                            throw p.get("sets").error("risk rule '" + id + "': unknown pattern set '" + set
                                    + "' (known: " + String.join(", ", PromptPatterns.DEFAULTS.keySet().stream()
                                    .sorted().toList()) + ")");
                        }
                        patterns.forEach(x -> prompt.add(Pattern.compile(x, Pattern.CASE_INSENSITIVE)));
                    }
                }
                if (p.containsKey("patterns")) {
                    for (String x : p.get("patterns").strings()) {
                        try {
                            prompt.add(Pattern.compile(x, Pattern.CASE_INSENSITIVE));
                        } catch (PatternSyntaxException e) {
                            throw p.get("patterns").error("risk rule '" + id + "': invalid RE2 pattern: "
                                    + e.getDescription());
                        }
                    }
                }
            }
            List<RiskRule.TimeWindow> windows = new ArrayList<>();
            if (match.containsKey("time-windows")) {
                for (YamlTree w : match.get("time-windows").list()) {
                    windows.add(window(w, id));
                }
            }
            Map<String, YamlTree> approvers = m.get("approvers").map(APPROVERS);
            if (approvers.isEmpty()) {
                throw m.get("approvers").error("risk rule '" + id + "': name an approver role or group");
            }
            int required = m.containsKey("approvals-required") ? (int) m.get("approvals-required").positiveLong() : 1;
            Duration ttl = Duration.ofMinutes(15);
            if (m.containsKey("ttl")) {
                try {
                    ttl = Duration.parse(m.get("ttl").scalar().trim());
                } catch (DateTimeParseException e) {
                    throw m.get("ttl").error("risk rule '" + id + "': ttl must be an ISO-8601 duration such as PT15M");
                }
                if (ttl.isNegative() || ttl.isZero()) {
                    throw m.get("ttl").error("risk rule '" + id + "': ttl must be positive");
                }
            }
            out.add(new RiskRule(id, m.get("reason").scalar().trim(), strings(match, "roles"), strings(match, "groups"),
                    strings(match, "clients"), strings(match, "upstreams"),
                    strings(match, "models").stream().map(PolicyRule::glob).toList(), List.copyOf(prompt),
                    match.containsKey("min-body-bytes") ? match.get("min-body-bytes").positiveLong() : null,
                    match.containsKey("max-tokens-above") ? match.get("max-tokens-above").positiveLong() : null,
                    List.copyOf(windows),
                    approvers.containsKey("role") ? approvers.get("role").scalar().trim() : null,
                    approvers.containsKey("group") ? approvers.get("group").scalar().trim() : null, required, ttl));
        }
        return List.copyOf(out);
    }

    private static RiskRule.TimeWindow window(YamlTree w, String id) {
        Map<String, YamlTree> m = w.map(WINDOW);
        Set<DayOfWeek> days = new HashSet<>();
        if (m.containsKey("days")) {
            for (String d : m.get("days").strings()) {
                days.add(day(d, m.get("days"), id));
            }
        }
        try {
            return new RiskRule.TimeWindow(days,
                    m.containsKey("from") ? LocalTime.parse(m.get("from").scalar().trim()) : LocalTime.MIN,
                    m.containsKey("to") ? LocalTime.parse(m.get("to").scalar().trim()) : LocalTime.MIN,
                    m.containsKey("zone") ? ZoneId.of(m.get("zone").scalar().trim()) : ZoneId.of("UTC"));
        } catch (java.time.DateTimeException e) {
            throw w.error("risk rule '" + id + "': time window needs from/to as HH:MM and a valid zone");
        }
    }

    private static DayOfWeek day(String d, YamlTree at, String id) {
        String k = d.trim().toLowerCase(Locale.ROOT);
        for (DayOfWeek dow : DayOfWeek.values()) {
            if (dow.name().toLowerCase(Locale.ROOT).startsWith(k) && k.length() >= 3) {
                return dow;
            }
        }
        throw at.error("risk rule '" + id + "': unknown day '" + d + "'");
    }

    private static List<String> strings(Map<String, YamlTree> m, String key) {
        return m.containsKey(key) ? m.get(key).strings() : List.of();
    }
}
