package attest.policy;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.ErrorBodies;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * Sets the response for a refused call: 403 (or the decision's 413/429, with Retry-After), naming the
 * rule and the reason. With no decision at all (the router's otherwise), it denies too.
 */
public class RenderDenialProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        Decision d = exchange.getProperty(Exchanges.DECISION, Decision.class);
        if (d == null || d.verdict() == Verdict.ALLOW || d.status() == 0) {
            // reached through the router's otherwise: whatever the decision was, it is not a known one
            d = Decision.deny(d == null ? Decision.DEFAULT_DENY : d.ruleId(), "no usable policy decision");
            exchange.setProperty(Exchanges.DECISION, d);
        }
        Message m = exchange.getMessage();
        String code = switch (d.status()) {
            case 429 -> "rate_limited";
            case 413 -> "payload_too_large";
            default -> "forbidden";
        };
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, d.status());
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        if (d.retryAfterSeconds() > 0) {
            ResponseHeaders.of(exchange).set("Retry-After", String.valueOf(d.retryAfterSeconds()));
        }
        m.setBody(ErrorBodies.json(code, d.reason(), exchange.getProperty(Exchanges.REQUEST_ID, String.class), d.ruleId()));
    }
}
