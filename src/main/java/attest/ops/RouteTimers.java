package attest.ops;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.NamedNode;
import org.apache.camel.Route;
import org.apache.camel.spi.RoutePolicy;
import org.apache.camel.spi.RoutePolicyFactory;
import org.apache.camel.support.RoutePolicySupport;

import java.util.concurrent.TimeUnit;

/**
 * A timer per route, {@code camel.route.policy} with the tags of camel-micrometer's route policy ({@code camelContext},
 * {@code kind=CamelRoute}, {@code routeId}, {@code eventType=route}), and one for the exchanges that start in a route
 * ({@code eventType=context}, {@code routeId} empty): the same meters as camel-micrometer's
 * {@code MicrometerRoutePolicyFactory} without its additional counters, at a fraction of its cost per call. That
 * policy formats the name of an exchange property with {@code String.format} twice per route and call (on the data
 * path, eight routes a call) and walks the unit of work's route stack for the context timer: about 4% of the gateway's
 * CPU samples under saturation (docs/benchmarks.md, 2026-12-02). Here each route's timers are looked up once, and the
 * start is kept under a property name made once per route.
 */
public final class RouteTimers implements RoutePolicyFactory {
    private final MeterRegistry registry;

    public RouteTimers(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public RoutePolicy createRoutePolicy(CamelContext context, String routeId, NamedNode route) {
        return new Policy(registry, context.getName(), routeId);
    }

    static final class Policy extends RoutePolicySupport {
        private final String property;
        private final String routeId;
        private final Timer route;
        private final Timer exchanges;

        Policy(MeterRegistry registry, String contextName, String routeId) {
            this.routeId = routeId;
            this.property = "attest.route.started." + routeId;
            this.route = Timer.builder("camel.route.policy").description("Route performance metrics")
                    .tags(Tags.of("camelContext", contextName, "kind", "CamelRoute", "routeId", routeId,
                            "eventType", "route"))
                    .register(registry);
            this.exchanges = Timer.builder("camel.route.policy").description("CamelContext performance metrics")
                    .tags(Tags.of("camelContext", contextName, "kind", "CamelRoute", "routeId", "",
                            "eventType", "context"))
                    .register(registry);
        }

        @Override
        public void onExchangeBegin(Route r, Exchange exchange) {
            exchange.setProperty(property, System.nanoTime());
        }

        @Override
        public void onExchangeDone(Route r, Exchange exchange) {
            if (!(exchange.removeProperty(property) instanceof Long started)) {
                return;
            }
            long took = System.nanoTime() - started;
            route.record(took, TimeUnit.NANOSECONDS);
            if (routeId.equals(exchange.getFromRouteId())) { // the exchange began here: the context's timer too
                exchanges.record(took, TimeUnit.NANOSECONDS);
            }
        }
    }
}
