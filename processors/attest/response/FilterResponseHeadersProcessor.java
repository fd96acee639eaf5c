package attest.response;

import attest.Exchanges;
import attest.http.ResponseHeaders;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Leaves on the message only the headers a caller may see (and the status), and sets X-Request-Id.
 * The request's own headers, above all Authorization, never come back.
 */
public class FilterResponseHeadersProcessor implements Processor {
    private final java.util.function.Predicate<String> allowed;

    public FilterResponseHeadersProcessor() {
        this(ResponseHeaders::allowed);
    }

    public FilterResponseHeadersProcessor(java.util.function.Predicate<String> allowed) {
        this.allowed = allowed;
    }

    @Override
    public void process(Exchange exchange) {
        Message m = exchange.getMessage();
        Map<String, Object> keep = new LinkedHashMap<>();
        m.getHeaders().forEach((k, v) -> {
            if (allowed.test(k) && !k.equalsIgnoreCase(ResponseHeaders.REQUEST_ID)) {
                keep.put(k, v);
            }
        });
        Object status = m.getHeader(Exchange.HTTP_RESPONSE_CODE);
        m.removeHeaders("*");
        m.getHeaders().putAll(keep);
        if (status != null) {
            m.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        }
        String requestId = exchange.getProperty(Exchanges.REQUEST_ID, String.class);
        if (requestId != null) {
            m.setHeader(ResponseHeaders.REQUEST_ID, requestId);
        }
    }
}
