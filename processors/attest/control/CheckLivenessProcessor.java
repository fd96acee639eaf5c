package attest.control;

import attest.http.ResponseHeaders;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets the liveness answer ({@code /health/live}): 200 whenever the process can answer at all. It depends on
 * nothing outside the process (a database or Kafka outage must not get every replica restarted), and stays
 * 200 while the instance drains.
 */
public class CheckLivenessProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        exchange.getMessage().setBody("{\"status\":\"UP\"}");
    }
}
