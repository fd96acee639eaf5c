package attest.response;

import attest.Exchanges;
import attest.evidence.EvidenceUnavailableException;
import attest.http.ErrorBodies;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.http.ResponseHeaders;
import attest.upstream.UpstreamResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;

/**
 * Turns the exception that ended a call into the one JSON error shape, and sets {@code attestError}.
 * Anything that is not a {@link GatewayException} is an internal error: its type is logged, never its
 * message or stack trace, and the caller gets a generic 500.
 */
public class RenderErrorProcessor implements Processor {
    private static final Logger LOG = LoggerFactory.getLogger(RenderErrorProcessor.class);

    @Override
    public void process(Exchange exchange) {
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        GatewayException error;
        if (cause instanceof GatewayException ge) {
            error = ge;
        } else if (cause instanceof EvidenceUnavailableException) {
            error = GatewayException.evidenceUnavailable();
        } else if (cause instanceof java.util.concurrent.RejectedExecutionException) {
            // a bounded pool the call was to be handed to is full (a route's threads step): nothing was forwarded
            error = GatewayException.busy("the gateway is busy; retry later");
        } else {
            LOG.error("internal error in request {}: {}", exchange.getProperty(Exchanges.REQUEST_ID),
                    cause == null ? "unknown" : cause.getClass().getName());
            error = new GatewayException(500, "internal_error", "internal error", Outcome.UPSTREAM_ERROR);
        }
        UpstreamResponse up = exchange.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class);
        if (up != null && up.streaming()) {
            up.stream().abort(error.outcome());
        }
        exchange.setProperty(Exchanges.ERROR, error);
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, error.status());
        // an error replaces whatever a stage had decided (relayed upstream headers included)
        ResponseHeaders headers = ResponseHeaders.of(exchange).clear();
        headers.set(ResponseHeaders.CONTENT_TYPE, "application/json");
        for (Map.Entry<String, String> h : error.headers().entrySet()) {
            headers.set(h.getKey(), h.getValue());
        }
        m.setBody(ErrorBodies.json(error.code(), error.getMessage(), exchange.getProperty(Exchanges.REQUEST_ID,
                String.class), null, error.fields()));
    }
}
