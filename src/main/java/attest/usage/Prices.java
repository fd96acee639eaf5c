package attest.usage;

import attest.policy.PolicyRule;
import attest.rules.YamlTree;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Prices per million tokens by model (usage/prices.yaml): the first entry whose glob matches the model prices
 * its tokens; a model that no entry matches costs nothing in the reports and counts as {@code unpriced}. Cost is
 * kept in micro-units of the file's currency (whole numbers, so sums are exact), rounded up per call.
 */
public final class Prices {
    /** One price line. */
    public record Price(String glob, Pattern pattern, BigDecimal input, BigDecimal output, BigDecimal cachedInput) {
    }

    private final String currency;
    private final List<Price> prices;

    public Prices(String currency, List<Price> prices) {
        this.currency = currency;
        this.prices = List.copyOf(prices);
    }

    public static Prices none() {
        return new Prices("USD", List.of());
    }

    public static Prices load(Path file) {
        if (!Files.exists(file)) {
            throw new IllegalStateException("price file " + file + " not found (attest.usage.prices-file)");
        }
        YamlTree root = YamlTree.read(file);
        var top = root.map(Set.of("currency", "models"));
        String currency = top.containsKey("currency") ? top.get("currency").scalar().trim() : "USD";
        if (!currency.matches("[A-Z]{3}")) {
            throw top.get("currency").error("currency is a three-letter code, got '" + currency + "'");
        }
        List<Price> out = new ArrayList<>();
        if (top.containsKey("models")) {
            for (YamlTree item : top.get("models").list()) {
                var m = item.map(Set.of("model", "input", "output", "cached-input"));
                if (!m.containsKey("model") || !m.containsKey("input") || !m.containsKey("output")) {
                    throw item.error("a price needs model, input and output (per million tokens)");
                }
                String glob = m.get("model").scalar().trim();
                BigDecimal in = amount(m.get("input"));
                BigDecimal outp = amount(m.get("output"));
                BigDecimal cached = m.containsKey("cached-input") ? amount(m.get("cached-input")) : in;
                out.add(new Price(glob, PolicyRule.glob(glob), in, outp, cached));
            }
        }
        return new Prices(currency, out);
    }

    private static BigDecimal amount(YamlTree t) {
        try {
            BigDecimal v = new BigDecimal(t.scalar().trim());
            if (v.signum() < 0 || v.scale() > 6) {
                throw t.error("a price is >= 0 with at most 6 decimals");
            }
            return v;
        } catch (NumberFormatException e) {
            throw t.error("not a number: '" + t.scalar() + "'");
        }
    }

    public String currency() {
        return currency;
    }

    public Price priceOf(String model) {
        if (model == null) {
            return null;
        }
        for (Price p : prices) {
            if (p.pattern().matcher(model).matches()) {
                return p;
            }
        }
        return null;
    }

    /**
     * The cost in micro-units: cached prompt tokens at the cached price, the rest of the prompt at the input
     * price, completion tokens at the output price. Null when the model has no price.
     */
    public Long costMicros(String model, long prompt, long completion, long cached) {
        Price p = priceOf(model);
        if (p == null) {
            return null;
        }
        long cachedPart = Math.min(Math.max(cached, 0), prompt);
        // price per million tokens x tokens = micro-units
        BigDecimal micros = p.input().multiply(BigDecimal.valueOf(prompt - cachedPart))
                .add(p.cachedInput().multiply(BigDecimal.valueOf(cachedPart)))
                .add(p.output().multiply(BigDecimal.valueOf(completion)));
        return micros.setScale(0, RoundingMode.CEILING).longValueExact();
    }

    /** The cost of a call as metered (reported usage, or the estimate counted as input). */
    public long costMicros(String model, UsageMeter meter) {
        TokenUsage u = meter.reported();
        Long c = u == null ? costMicros(model, meter.billable(), 0, 0)
                : costMicros(model, u.prompt() == null ? 0 : u.prompt(), u.completion() == null
                        ? (u.prompt() == null ? u.billable() : 0) : u.completion(), u.cached() == null ? 0 : u.cached());
        return c == null ? 0 : c;
    }

    /** Micro-units as a decimal amount (6 places). */
    public static String amount(long micros) {
        return BigDecimal.valueOf(micros, 6).toPlainString();
    }
}
