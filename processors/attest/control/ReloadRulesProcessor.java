package attest.control;

import attest.http.ResponseHeaders;
import attest.rules.RuleReloader;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets the answer of {@code POST /rules/reload}: the rules are loaded and put in force (200, reloaded or
 * unchanged, with the version in force), or a file does not load and the old rules stay (422, with the
 * {@code file:line} error).
 */
public class ReloadRulesProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final RuleReloader reloader;

    public ReloadRulesProcessor(RuleReloader reloader) {
        this.reloader = reloader;
    }

    @Override
    public void process(Exchange exchange) {
        RuleReloader.Result r = reloader.reload("control plane");
        ObjectNode body = JSON.createObjectNode().put("status", r.status()).put("version", r.version());
        if (r.error() != null) {
            body.put("error", r.error());
        }
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, "failed".equals(r.status()) ? 422 : 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        exchange.getMessage().setBody(body.toString());
    }
}
