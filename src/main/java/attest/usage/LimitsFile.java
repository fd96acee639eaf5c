package attest.usage;

import attest.identity.Identity;
import attest.rules.YamlTree;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Budgets and limits for users and groups (usage/limits.yaml). Every entry that names the caller applies, each
 * with its own counter: {@code users: ["*"]} gives every user their own, a listed group counts all its members
 * together. A key's own budget and limits come with the key; a policy rule's requests-per-minute with the rule.
 */
public final class LimitsFile {
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9\\-_.]{0,99}");

    /** One entry of the file. */
    public record Entry(String id, List<String> users, List<String> groups, Budget budget) {
    }

    private final List<Entry> entries;

    public LimitsFile(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    public List<Entry> entries() {
        return entries;
    }

    public static LimitsFile load(Path file) {
        if (!Files.exists(file)) {
            throw new IllegalStateException("limits file " + file + " not found (attest.usage.limits-file)");
        }
        YamlTree root = YamlTree.read(file);
        var top = root.map(Set.of("limits"));
        List<Entry> out = new ArrayList<>();
        Set<String> ids = new java.util.HashSet<>();
        if (top.containsKey("limits")) {
            for (YamlTree item : top.get("limits").list()) {
                var m = item.map(Set.of("id", "users", "groups", "requests-per-minute", "tokens-per-minute", "budget"));
                if (!m.containsKey("id") || !ID.matcher(m.get("id").scalar()).matches()) {
                    throw item.error("every entry needs an id (lower case, digits, - _ .)");
                }
                String id = m.get("id").scalar();
                if (!ids.add(id)) {
                    throw item.error("duplicate id " + id);
                }
                List<String> users = m.containsKey("users") ? m.get("users").strings() : List.of();
                List<String> groups = m.containsKey("groups") ? m.get("groups").strings() : List.of();
                if (users.isEmpty() == groups.isEmpty()) {
                    throw item.error("an entry names users or groups (one of them)");
                }
                Long rpm = m.containsKey("requests-per-minute") ? m.get("requests-per-minute").positiveLong() : null;
                Long tpm = m.containsKey("tokens-per-minute") ? m.get("tokens-per-minute").positiveLong() : null;
                Long tokens = null;
                Long cost = null;
                String period = null;
                if (m.containsKey("budget")) {
                    var b = m.get("budget").map(Set.of("tokens", "cost", "period"));
                    if (b.containsKey("tokens") == b.containsKey("cost") || !b.containsKey("period")) {
                        throw m.get("budget").error("a budget has tokens or cost (one of them) and a period (day, month)");
                    }
                    period = b.get("period").scalar().trim();
                    if (!period.equals("day") && !period.equals("month")) {
                        throw b.get("period").error("period is day or month");
                    }
                    tokens = b.containsKey("tokens") ? b.get("tokens").positiveLong() : null;
                    cost = b.containsKey("cost") ? micros(b.get("cost")) : null;
                }
                Budget budget = new Budget(rpm, tpm, tokens, cost, period);
                if (budget.isEmpty()) {
                    throw item.error("an entry sets at least one of requests-per-minute, tokens-per-minute, budget");
                }
                out.add(new Entry(id, users, groups, budget));
            }
        }
        return new LimitsFile(out);
    }

    /** A cost amount in the price file's currency, as micro-units. */
    static long micros(YamlTree t) {
        try {
            BigDecimal v = new BigDecimal(t.scalar().trim());
            if (v.signum() <= 0 || v.scale() > 6) {
                throw t.error("a cost is > 0 with at most 6 decimals");
            }
            return v.movePointRight(6).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw t.error("not an amount: '" + t.scalar() + "'");
        }
    }

    /** The limits that apply to this caller, each on its own counter. */
    public List<Limit> limitsFor(Identity who) {
        List<Limit> out = new ArrayList<>();
        for (Entry e : entries) {
            boolean user = e.users().contains("*") || e.users().contains(who.subject())
                    || (who.username() != null && e.users().contains(who.username()));
            if (user) {
                String label = "user " + (who.username() != null ? who.username() : who.subject()) + " (" + e.id() + ")";
                out.addAll(e.budget().limits(label, "limit:" + e.id(), "user:" + e.id() + ":" + who.subject()));
            }
            for (String g : e.groups()) {
                if (who.groups().contains(g)) {
                    out.addAll(e.budget().limits("group " + g + " (" + e.id() + ")", "limit:" + e.id(),
                            "group:" + e.id() + ":" + g));
                }
            }
        }
        return out;
    }
}
