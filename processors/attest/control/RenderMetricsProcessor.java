package attest.control;

import attest.http.ResponseHeaders;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Sets the body to the Prometheus scrape of the gateway's metrics. */
public class RenderMetricsProcessor implements Processor {
    private final PrometheusMeterRegistry registry;

    public RenderMetricsProcessor(PrometheusMeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void process(Exchange exchange) {
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        exchange.getMessage().setBody(registry.scrape());
    }
}
