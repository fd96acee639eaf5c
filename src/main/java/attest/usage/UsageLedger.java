package attest.usage;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Settles a finished call's usage: adds its tokens and cost to the budgets and limits it was admitted under
 * (PostgreSQL, shared by every replica) and counts its tokens in Prometheus ({@code attest_tokens_total} by
 * upstream, model, outcome and type; {@code attest_usage_unknown_total} for answers that reported none). The model
 * label takes at most {@code maxModels} distinct values (then {@code other}), since a caller names the model.
 */
public final class UsageLedger {
    private static final Logger LOG = LoggerFactory.getLogger(UsageLedger.class);
    private final UsageCounters counters;
    private final Prices prices;
    private final MeterRegistry registry;
    private final int maxModels;
    private final Set<String> models = ConcurrentHashMap.newKeySet();
    /**
     * The counters of these labels, each built and registered once (building a meter's id sorts and hashes its tags:
     * per call, for up to five counters, that was work the registry then threw away). Bounded as the labels are.
     */
    private final ConcurrentHashMap<Labels, Counter> meters = new ConcurrentHashMap<>();

    /** A counter's labels; {@code type} null for {@code attest.usage.unknown}. */
    private record Labels(String upstream, String model, String outcome, String type) {
    }

    public UsageLedger(UsageCounters counters, Prices prices, MeterRegistry registry, int maxModels) {
        this.counters = counters;
        this.prices = prices;
        this.registry = registry;
        this.maxModels = maxModels;
    }

    public Prices prices() {
        return prices;
    }

    public void settle(List<Limit> limits, UsageMeter meter, String upstream, String model, String outcome) {
        if (limits != null && !limits.isEmpty()) {
            try {
                counters.charge(limits, meter.billable(), prices.costMicros(model, meter));
            } catch (RuntimeException e) {
                LOG.warn("usage of a call on {} could not be charged to its budgets: {}", upstream,
                        e.getClass().getSimpleName());
            }
        }
        if (registry == null) {
            return;
        }
        String m = label(model);
        String u = upstream == null ? "none" : upstream;
        String o = outcome == null ? "unknown" : outcome;
        TokenUsage t = meter.reported();
        if (t == null) {
            meters.computeIfAbsent(new Labels(u, m, o, null), k -> Counter.builder("attest.usage.unknown")
                    .description("answers whose upstream reported no usage")
                    .tags("upstream", k.upstream(), "model", k.model(), "outcome", k.outcome()).register(registry))
                    .increment();
            count(u, m, o, "estimated", meter.estimate());
            return;
        }
        count(u, m, o, "prompt", t.prompt());
        count(u, m, o, "completion", t.completion());
        count(u, m, o, "total", t.total());
        count(u, m, o, "cached", t.cached());
        count(u, m, o, "reasoning", t.reasoning());
    }

    private void count(String upstream, String model, String outcome, String type, Long n) {
        if (n == null || n <= 0) {
            return;
        }
        meters.computeIfAbsent(new Labels(upstream, model, outcome, type), k -> Counter.builder("attest.tokens")
                .description("tokens used, as reported by upstreams (type estimated: the gateway's estimate for "
                        + "answers without usage)")
                .tags("upstream", k.upstream(), "model", k.model(), "outcome", k.outcome(), "type", k.type())
                .register(registry)).increment(n);
    }

    private String label(String model) {
        if (model == null || model.isEmpty() || model.length() > 100) {
            return model == null || model.isEmpty() ? "none" : "other";
        }
        if (models.contains(model)) {
            return model;
        }
        if (models.size() >= maxModels) {
            return "other";
        }
        models.add(model);
        return model;
    }
}
