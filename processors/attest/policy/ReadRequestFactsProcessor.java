package attest.policy;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.core.JsonFactory;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.io.IOException;

/**
 * Sets {@code attestFacts}: model, max_tokens and stream from a JSON body. A JSON body that does not
 * parse (or repeats a key) is refused with 400, so that the policy never decides on a guess.
 */
public class ReadRequestFactsProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build()).build());

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        byte[] body = in.body();
        String model = null;
        Long maxTokens = null;
        boolean stream = false;
        if (body.length > 0 && in.isJson()) {
            JsonNode root;
            try (JsonParser p = JSON.createParser(body)) {
                root = JSON.readTree(p);
                if (p.nextToken() != null) {
                    throw GatewayException.badRequest("request body has trailing content after the JSON value");
                }
            } catch (IOException e) {
                throw GatewayException.badRequest("request body is not valid JSON");
            }
            if (root != null && root.isObject()) {
                JsonNode m = root.get("model");
                if (m != null && !m.isNull()) {
                    if (!m.isTextual()) {
                        throw GatewayException.badRequest("model must be a string");
                    }
                    model = m.asText();
                }
                JsonNode mt = root.has("max_completion_tokens") ? root.get("max_completion_tokens") : root.get("max_tokens");
                if (mt != null && !mt.isNull()) {
                    if (!mt.canConvertToLong() || !mt.isIntegralNumber()) {
                        throw GatewayException.badRequest("max_tokens must be a whole number");
                    }
                    maxTokens = mt.asLong();
                }
                stream = root.path("stream").asBoolean(false);
            }
        }
        exchange.setProperty(Exchanges.FACTS, new RequestFacts(model, maxTokens, stream, body.length));
    }
}
