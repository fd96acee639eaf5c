package attest.ops;

import attest.evidence.EvidenceRecord;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Per-call metrics, taken from each call's evidence record once it is committed (so they count exactly what
 * the evidence holds): calls by upstream, model and outcome; upstream latency (forwarded to answered) by upstream
 * and model; masking findings by entity type. The model comes from the request, so a caller could invent names
 * without end: a name gets a label of its own only once an upstream has answered a call for it with 2xx (real
 * upstreams refuse unknown models), and only the first {@link #MAX_MODELS} such names; the rest count as
 * {@code other}, so the scrape stays bounded. The scrape needs no token, and an upstream that ignores the model's name
 * answers whatever the caller wrote there: a name in which masking finds regulated data (an email, a card, a key) is
 * never a label either, and counts as {@code other}.
 */
public final class CallMetrics implements Consumer<EvidenceRecord> {
    public static final int MAX_MODELS = 100;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final MeterRegistry registry;
    /** Whether a model's name may be shown as a label: masking finds nothing in it. */
    private final java.util.function.Predicate<String> plain;
    private final Set<String> models = ConcurrentHashMap.newKeySet();
    private final ConcurrentHashMap<Labels, Counter> calls = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Labels, Timer> upstreamLatency = new ConcurrentHashMap<>();

    private record Labels(String upstream, String model, String outcome) {
    }

    private record Finding(String type, String action) {
    }

    private final ConcurrentHashMap<Finding, Counter> findings = new ConcurrentHashMap<>();

    /** Model names judged by the built-in detectors ({@link attest.masking.MaskingEngine#builtIn}). */
    public CallMetrics(MeterRegistry registry) {
        this(registry, builtInPlain());
    }

    /** @param plain whether a model's name may be a label (masking finds nothing in it); false or a throw: {@code other} */
    public CallMetrics(MeterRegistry registry, java.util.function.Predicate<String> plain) {
        this.registry = registry;
        this.plain = plain;
    }

    /** Whether the built-in detectors ({@link attest.masking.MaskingEngine#builtIn}) find nothing in a name. */
    public static java.util.function.Predicate<String> builtInPlain() {
        attest.masking.MaskingEngine engine = attest.masking.MaskingEngine.builtIn();
        return name -> engine.scan(name).isEmpty();
    }

    @Override
    public void accept(EvidenceRecord r) {
        String upstream = r.getUpstream() == null ? "none" : r.getUpstream();
        String model = model(r.getModel(), r.getUpstreamStatus() != null && r.getUpstreamStatus() / 100 == 2);
        String outcome = r.getOutcome() == null ? "unknown" : r.getOutcome();
        // the meters of these labels, looked up once (building an id sorts and hashes its tags: per call, that was a
        // measurable share of the gateway's CPU); the labels are bounded, the model by MAX_MODELS. A timer exists
        // only for labels a forwarded call had, as before.
        Labels labels = new Labels(upstream, model, outcome);
        calls.computeIfAbsent(labels, k -> Counter.builder("attest.calls")
                .description("calls with committed evidence, by upstream, model and outcome")
                .tags("upstream", k.upstream(), "model", k.model(), "outcome", k.outcome()).register(registry))
                .increment();
        if (r.getForwardedAt() != null && r.getCompletedAt() != null) {
            upstreamLatency.computeIfAbsent(labels, k -> Timer.builder("attest.upstream.request")
                            .description("upstream latency, forwarded to answered (streams: to their end)")
                            .tags("upstream", k.upstream(), "model", k.model(), "outcome", k.outcome())
                            .publishPercentileHistogram().register(registry))
                    .record(Duration.between(r.getForwardedAt(), r.getCompletedAt()));
        }
        String report = r.getMaskingReport();
        if (report != null && report.contains("entity_type")) {
            try {
                for (JsonNode e : JSON.readTree(report).path("entities")) {
                    // looked up once per type and action (the rule set's, bounded), as the calls' meters are
                    Finding f = new Finding(e.path("entity_type").asText("unknown"), e.path("action").asText(""));
                    findings.computeIfAbsent(f, k -> Counter.builder("attest.masking.findings")
                            .description("masked entities, by type and action")
                            .tags("type", k.type(), "action", k.action()).register(registry))
                            .increment(e.path("count").asInt());
                }
            } catch (java.io.IOException ignored) {
                // the report is the gateway's own JSON; a broken one is not counted
            }
        }
    }

    private boolean plain(String name) {
        try {
            return plain.test(name);
        } catch (RuntimeException e) {
            return false; // a detector that fails: not shown
        }
    }

    private String model(String m, boolean served) {
        if (m == null || m.isEmpty()) {
            return "none";
        }
        String v = m.length() > 64 ? m.substring(0, 64) : m;
        if (models.contains(v)) {
            return v;
        }
        if (served && models.size() < MAX_MODELS && plain(v)) {
            models.add(v);
            return v;
        }
        return "other";
    }
}
