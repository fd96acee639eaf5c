package attest.keys;

import attest.Exchanges;
import attest.http.ResponseHeaders;
import attest.identity.Identity;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.nio.charset.StandardCharsets;
import java.time.Clock;

/** {@code GET /keys}: sets the body to the caller's keys (an auditor's: every key), never with a secret. */
public class ListKeysProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final KeyStore store;
    private final String auditorRole;
    private final Clock clock;

    public ListKeysProcessor(KeyStore store, String auditorRole, Clock clock) {
        this.store = store;
        this.auditorRole = auditorRole;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        boolean all = who.hasRole(auditorRole);
        ObjectNode body = JSON.createObjectNode();
        body.put("scope", all ? "all" : "own");
        ArrayNode keys = body.putArray("keys");
        for (VirtualKey k : store.list(all ? null : who.subject())) {
            keys.add(KeyJson.view(k, clock.instant()));
        }
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        exchange.getMessage().setBody(body.toString().getBytes(StandardCharsets.UTF_8));
    }
}
