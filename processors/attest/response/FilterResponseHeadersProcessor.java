package attest.response;

import attest.Exchanges;
import attest.http.ResponseHeaders;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.util.function.Predicate;

/**
 * Makes the response's headers exactly the gateway's own: drops every message header but the status (the
 * request's headers, and anything a caller could have put there, never come back), keeps in
 * {@code attestResponseHeaders} only the names this plane allows, and sets X-Request-Id and, unless a stage
 * decided otherwise, {@code Cache-Control: no-store}, and Attest-Evidence-Id (the call's evidence record id). The HTTP binding writes the head from that property only.
 */
public class FilterResponseHeadersProcessor implements Processor {
    private final Predicate<String> allowed;

    public FilterResponseHeadersProcessor() {
        this(ResponseHeaders::allowed);
    }

    public FilterResponseHeadersProcessor(Predicate<String> allowed) {
        this.allowed = allowed;
    }

    @Override
    public void process(Exchange exchange) {
        Message m = exchange.getMessage();
        Object status = m.getHeader(Exchange.HTTP_RESPONSE_CODE);
        m.removeHeaders("*");
        if (status != null) {
            m.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        }
        ResponseHeaders headers = ResponseHeaders.of(exchange);
        for (var h : headers.entries()) {
            if (!allowed.test(h.getKey())) {
                headers.remove(h.getKey());
            }
        }
        if (headers.get(ResponseHeaders.CACHE_CONTROL) == null) {
            headers.set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        }
        String requestId = exchange.getProperty(Exchanges.REQUEST_ID, String.class);
        if (requestId != null) {
            headers.set(ResponseHeaders.REQUEST_ID, requestId);
        }
        headers.remove(ResponseHeaders.EVIDENCE_ID); // only ever the gateway's own record id
        attest.evidence.EvidenceRecord evidence = exchange.getProperty(Exchanges.EVIDENCE,
                attest.evidence.EvidenceRecord.class);
        if (evidence != null && evidence.getId() != null) {
            headers.set(ResponseHeaders.EVIDENCE_ID, evidence.getId().toString());
        }
    }
}
