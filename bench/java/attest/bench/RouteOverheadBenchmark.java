package attest.bench;

import attest.ops.RouteTimers;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.micrometer.routepolicy.MicrometerRoutePolicyConfiguration;
import org.apache.camel.component.micrometer.routepolicy.MicrometerRoutePolicyFactory;
import org.apache.camel.impl.DefaultCamelContext;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

import java.util.concurrent.TimeUnit;

/**
 * Camel's own cost per call of a data path shaped like the gateway's: {@value #ROUTES} routes chained by
 * {@code direct:} (ingress, identity, decide, policy, upstream, request mask, response mask, evidence) with
 * {@value #STEPS} steps that do nothing, under each route-metrics policy: none, camel-micrometer's
 * {@code MicrometerRoutePolicyFactory} (as configured before 2026-12-02: no additional counters) and
 * {@link RouteTimers}. One exchange per operation, one thread, so the figure is CPU per call.
 * Run: {@code java -cp <test classpath> org.openjdk.jmh.Main RouteOverheadBenchmark -f 1 -wi 3 -w 2s -i 5 -r 2s}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
public class RouteOverheadBenchmark {
    static final int ROUTES = 8;
    static final int STEPS = 30;

    @Param({"none", "micrometer", "routeTimers"})
    public String policy;

    private CamelContext context;
    private ProducerTemplate template;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        context = new DefaultCamelContext();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        switch (policy) {
            case "micrometer" -> {
                MicrometerRoutePolicyFactory f = new MicrometerRoutePolicyFactory();
                f.setMeterRegistry(registry);
                MicrometerRoutePolicyConfiguration c = new MicrometerRoutePolicyConfiguration();
                c.setAdditionalCounters(false);
                f.setPolicyConfiguration(c);
                context.addRoutePolicyFactory(f);
            }
            case "routeTimers" -> context.addRoutePolicyFactory(new RouteTimers(registry));
            default -> { }
        }
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                int perRoute = STEPS / ROUTES;
                for (int r = 0; r < ROUTES; r++) {
                    var route = from("direct:r" + r).routeId("r" + r);
                    for (int s = 0; s < perRoute; s++) {
                        route.process(e -> { });
                    }
                    if (r + 1 < ROUTES) {
                        route.to("direct:r" + (r + 1));
                    }
                }
            }
        });
        context.start();
        template = context.createProducerTemplate();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        context.close();
    }

    @Benchmark
    public Object call() {
        return template.requestBody("direct:r0", "x");
    }
}
