package attest.control;

import attest.http.ResponseHeaders;
import attest.ops.Readiness;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.util.Map;

/**
 * Sets the readiness answer ({@code /health/ready}): 200 when every check passes, 503 otherwise, with each
 * check's state (UP or DOWN) and no detail beyond it.
 */
public class CheckReadinessProcessor implements Processor {
    private final Readiness readiness;

    public CheckReadinessProcessor(Readiness readiness) {
        this.readiness = readiness;
    }

    @Override
    public void process(Exchange exchange) {
        Map<String, Boolean> checks = readiness.checks();
        boolean ready = readiness.ready(checks);
        StringBuilder body = new StringBuilder("{\"status\":\"").append(ready ? "UP" : "DOWN").append("\",\"checks\":{");
        checks.forEach((name, ok) -> body.append(body.charAt(body.length() - 1) == '{' ? "" : ",")
                .append('"').append(name).append("\":\"").append(ok ? "UP" : "DOWN").append('"'));
        body.append("}}");
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, ready ? 200 : 503);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        m.setBody(body.toString());
    }
}
