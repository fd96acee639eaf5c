package attest.ops;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Whether this instance should be sent calls. Ready means all of: the evidence store takes writes, the
 * checkpoint signing key is loaded, every route meant to run has started, the Kafka relay's lag is under its
 * bound (or the relay is off), and the instance is not draining. Draining is one-way: it is set first thing on
 * SIGTERM, before the data plane stops accepting calls, so that load balancers stop sending them.
 */
public final class Readiness {
    private final StoreGauges store;
    private final Supplier<String> signingKeyId;
    private final CamelContext context;
    private final boolean kafkaRelay;
    private final Duration maxRelayLag;
    private final AtomicBoolean draining = new AtomicBoolean();

    /** @param maxRelayLag zero: the lag is not checked */
    public Readiness(StoreGauges store, Supplier<String> signingKeyId, CamelContext context, boolean kafkaRelay,
                     Duration maxRelayLag) {
        this.store = store;
        this.signingKeyId = signingKeyId;
        this.context = context;
        this.kafkaRelay = kafkaRelay;
        this.maxRelayLag = maxRelayLag;
    }

    /** From now on the instance reports not ready. */
    public void startDraining() {
        draining.set(true);
    }

    public boolean draining() {
        return draining.get();
    }

    /** Each check by name, true when it passes (in a stable order). */
    public Map<String, Boolean> checks() {
        Map<String, Boolean> c = new LinkedHashMap<>();
        StoreGauges.Sample s = store.sample();
        c.put("evidence_store", s.writable());
        String key = signingKeyId.get();
        c.put("signing_key", key != null && !key.isBlank());
        c.put("routes", routesStarted());
        c.put("kafka_relay", !kafkaRelay || maxRelayLag.isZero() || (s.relayLagSeconds() >= 0
                ? s.relayLagSeconds() * 1000 <= maxRelayLag.toMillis() : s.outboxBacklog() == 0));
        c.put("not_draining", !draining.get());
        return c;
    }

    public boolean ready(Map<String, Boolean> checks) {
        return !checks.containsValue(false);
    }

    private boolean routesStarted() {
        if (context.getStatus() != ServiceStatus.Started) {
            return false;
        }
        for (Route r : context.getRoutes()) {
            if (r.isAutoStartup() && context.getRouteController().getRouteStatus(r.getRouteId()) != ServiceStatus.Started) {
                return false;
            }
        }
        return true;
    }
}
