package attest.ops;

import attest.upstream.StreamingHttpResponse;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.Exchange;
import org.apache.camel.component.netty.http.NettyHttpEndpoint;
import org.apache.camel.support.EventNotifierSupport;

import java.util.concurrent.TimeUnit;

/**
 * {@code http_server_requests_seconds} by method, route (the Camel route that served the request), status and
 * outcome (SUCCESS, CLIENT_ERROR, SERVER_ERROR...), the conventional server metric, for both planes. A stream is
 * timed to its end for the caller.
 */
public final class HttpServerMetrics extends EventNotifierSupport {
    private static final java.util.Set<String> METHODS = java.util.Set.of("GET", "POST", "PUT", "DELETE", "PATCH",
            "HEAD", "OPTIONS");
    private final MeterRegistry registry;
    private final java.util.concurrent.ConcurrentHashMap<Labels, Timer> timers = new java.util.concurrent.ConcurrentHashMap<>();

    public HttpServerMetrics(MeterRegistry registry) {
        this.registry = registry;
        setIgnoreCamelContextEvents(true);
        setIgnoreRouteEvents(true);
        setIgnoreServiceEvents(true);
        setIgnoreExchangeCreatedEvent(true);
        setIgnoreExchangeSendingEvents(true);
        setIgnoreExchangeSentEvents(true);
        setIgnoreExchangeRedeliveryEvents(true);
        setIgnoreStepEvents(true);
        setIgnoreExchangeAsyncProcessingStartedEvents(true);
    }

    @Override
    public boolean isEnabled(CamelEvent event) {
        return event instanceof CamelEvent.ExchangeCompletedEvent || event instanceof CamelEvent.ExchangeFailedEvent;
    }

    @Override
    public void notify(CamelEvent event) {
        Exchange exchange = ((CamelEvent.ExchangeEvent) event).getExchange();
        if (!(exchange.getFromEndpoint() instanceof NettyHttpEndpoint)) {
            return;
        }
        long started = exchange.getClock().getCreated();
        String method = String.valueOf(exchange.getMessage().getHeader(Exchange.HTTP_METHOD));
        String route = exchange.getFromRouteId() == null ? "none" : exchange.getFromRouteId();
        Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        int code = status == null ? (exchange.getException() != null ? 500 : 200) : status;
        if (exchange.getMessage().getBody() instanceof StreamingHttpResponse s) {
            s.relay().settled().whenComplete((v, e) -> record(method, route, code, started));
        } else {
            record(method, route, code, started);
        }
    }

    private void record(String method, String route, int status, long startedMillis) {
        String m = METHODS.contains(method) ? method : "other";
        // the timer of these labels, looked up once (building the id sorts its tags and hashes them: per call,
        // that was a measurable share of the gateway's CPU); the labels are bounded: methods, routes, statuses
        timers.computeIfAbsent(new Labels(m, route, status), k -> Timer.builder("http.server.requests")
                        .description("HTTP requests served, by route, status and outcome")
                        .tags("method", k.method(), "route", k.route(), "status", Integer.toString(k.status()),
                                "outcome", outcome(k.status()))
                        .publishPercentileHistogram().register(registry))
                .record(Math.max(0, System.currentTimeMillis() - startedMillis), TimeUnit.MILLISECONDS);
    }

    private record Labels(String method, String route, int status) {
    }

    static String outcome(int status) {
        if (status < 200) {
            return "INFORMATIONAL";
        }
        if (status < 300) {
            return "SUCCESS";
        }
        if (status < 400) {
            return "REDIRECTION";
        }
        if (status < 500) {
            return "CLIENT_ERROR";
        }
        return status < 600 ? "SERVER_ERROR" : "UNKNOWN";
    }
}
