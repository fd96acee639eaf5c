package attest.response;

import attest.Exchanges;
import attest.http.ResponseHeaders;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Leaves on the message only the headers a caller may see (and the status), and sets X-Request-Id and
 * Attest-Evidence-Id (the call's evidence record id; issue #11: until response headers move to their own exchange
 * property, they are set here and, for streams, in RenderUpstreamResponseProcessor).
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
            if (allowed.test(k) && !k.equalsIgnoreCase(ResponseHeaders.REQUEST_ID)
                    && !k.equalsIgnoreCase(ResponseHeaders.EVIDENCE_ID)) {
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
        attest.evidence.EvidenceRecord evidence = exchange.getProperty(Exchanges.EVIDENCE,
                attest.evidence.EvidenceRecord.class);
        if (evidence != null && evidence.getId() != null) {
            m.setHeader(ResponseHeaders.EVIDENCE_ID, evidence.getId().toString());
        }
    }
}
