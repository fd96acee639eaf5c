package attest.ops;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The route timers: camel-micrometer's meters (name and tags), one record per route an exchange crossed. */
class RouteTimersTest {

    @Test
    void should_time_each_route_crossed_and_the_exchange_once_in_the_context_timer() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (CamelContext context = new DefaultCamelContext()) {
            context.getCamelContextExtension().setName("attest");
            context.addRoutePolicyFactory(new RouteTimers(registry));
            context.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("direct:outer").routeId("outer").to("direct:inner").to("direct:inner");
                    from("direct:inner").routeId("inner").setBody(constant("done"));
                }
            });
            context.start();
            for (int i = 0; i < 3; i++) {
                assertThat(context.createProducerTemplate().requestBody("direct:outer", "x")).isEqualTo("done");
            }
            Exchange direct = context.createProducerTemplate().request("direct:inner",
                    e -> e.getMessage().setBody("y"));
            assertThat(direct.getException()).isNull();

            assertThat(timer(registry, "outer", "route").count()).isEqualTo(3);
            assertThat(timer(registry, "inner", "route").count()).isEqualTo(7);
            assertThat(timer(registry, "", "context").count()).as("each exchange once, in the route it began in")
                    .isEqualTo(4);
            assertThat(timer(registry, "outer", "route").totalTime(TimeUnit.NANOSECONDS)).isPositive();
            assertThat(registry.find("camel.route.policy").tag("camelContext", "attest").tag("kind", "CamelRoute")
                    .timers()).hasSize(3);
        }
    }

    @Test
    void should_time_an_exchange_that_fails_in_a_route() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (CamelContext context = new DefaultCamelContext()) {
            context.addRoutePolicyFactory(new RouteTimers(registry));
            context.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("direct:fail").routeId("fail").throwException(new IllegalStateException("no"));
                }
            });
            context.start();
            Exchange e = context.createProducerTemplate().request("direct:fail", x -> { });
            assertThat(e.getException()).isInstanceOf(IllegalStateException.class);
            assertThat(timer(registry, "fail", "route").count()).isEqualTo(1);
            assertThat(e.getProperties()).as("no timing property left on the exchange")
                    .doesNotContainKey("attest.route.started.fail");
        }
    }

    private static Timer timer(SimpleMeterRegistry registry, String routeId, String eventType) {
        return registry.get("camel.route.policy").tag("routeId", routeId).tag("eventType", eventType).timer();
    }
}
