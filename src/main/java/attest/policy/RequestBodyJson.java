package attest.policy;

import attest.http.GatewayException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.List;

/**
 * A request body read strictly as JSON: one value, no trailing content, no repeated key, bounded nesting, and
 * numbers kept exactly (so a body rewritten with a token limit keeps every other value as it was).
 */
public final class RequestBodyJson {
    /** The token-limit fields, in the order a limit is written when the body names none. */
    public static final List<String> LIMIT_FIELDS = List.of("max_completion_tokens", "max_output_tokens",
            "max_tokens");
    static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build()).build())
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .setNodeFactory(JsonNodeFactory.withExactBigDecimals(true));

    /** @param root the value, or null when the body is not JSON; @param duplicateKey whether a key repeats */
    public record Parsed(JsonNode root, boolean duplicateKey) {
    }

    private RequestBodyJson() {
    }

    /** A body and its parse, kept on the exchange ({@code attestRequestJson}): the request is parsed once. */
    public record Cached(byte[] body, Parsed parsed) {
    }

    /**
     * The parse of this body, from the exchange when this very body (the same array) was parsed before on it,
     * else parsed now and kept there. Readers must not change the tree: copy it first (as {@link #withLimit} does).
     * A body rewritten by a later step is a new array, so its parse is never taken for the old one's.
     */
    public static Parsed parse(org.apache.camel.Exchange exchange, byte[] body) {
        Cached c = exchange.getProperty(attest.Exchanges.REQUEST_JSON, Cached.class);
        if (c != null && c.body() == body) {
            return c.parsed();
        }
        Parsed p = parse(body);
        exchange.setProperty(attest.Exchanges.REQUEST_JSON, new Cached(body, p));
        return p;
    }

    public static Parsed parse(byte[] body) {
        try (JsonParser p = JSON.createParser(body)) {
            JsonNode root = JSON.readTree(p);
            if (root == null || p.nextToken() != null) {
                return new Parsed(null, false);
            }
            return new Parsed(root, false);
        } catch (IOException e) {
            String m = e.getMessage();
            return new Parsed(null, m != null && m.startsWith("Duplicate field"));
        }
    }

    /** The facts of a parsed body; refuses (400) a model that is not a string and a limit that is not valid. */
    public static RequestFacts facts(JsonNode root, long size) {
        if (!root.isObject()) {
            return new RequestFacts(null, null, false, size, false);
        }
        String model = null;
        JsonNode m = root.get("model");
        if (m != null && !m.isNull()) {
            if (!m.isTextual()) {
                throw GatewayException.badRequest("model must be a string");
            }
            model = m.asText();
        }
        Long limit = null;
        for (String field : LIMIT_FIELDS) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull()) {
                continue;
            }
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() > Integer.MAX_VALUE) {
                throw GatewayException.badRequest(field + " must be a whole number from 0 to " + Integer.MAX_VALUE);
            }
            // an upstream may read any of them: the largest one is the limit
            limit = limit == null ? v.asLong() : Math.max(limit, v.asLong());
        }
        return new RequestFacts(model, limit, root.path("stream").asBoolean(false), size, true);
    }

    /**
     * The body with a token limit written in: into every limit field it names as null, else
     * {@code max_output_tokens} for the Responses API, else {@code max_tokens}.
     */
    public static byte[] withLimit(ObjectNode root, boolean responsesApi, long limit) {
        return limited(root, responsesApi, limit).body();
    }

    /**
     * {@link #withLimit} with the new body's parse: the tree written, equal to what parsing the new body gives (an
     * int-sized limit is an int node, as the parser makes it), so that the steps after need not parse it again.
     */
    public static Cached limited(ObjectNode root, boolean responsesApi, long limit) {
        ObjectNode copy = root.deepCopy();
        boolean named = false;
        for (String f : LIMIT_FIELDS) {
            if (copy.has(f)) {
                putLimit(copy, f, limit);
                named = true;
            }
        }
        if (!named) {
            putLimit(copy, responsesApi ? "max_output_tokens" : "max_tokens", limit);
        }
        try {
            return new Cached(JSON.writeValueAsBytes(copy), new Parsed(copy, false));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the request body", e);
        }
    }

    private static void putLimit(ObjectNode node, String field, long limit) {
        if (limit == (int) limit) {
            node.put(field, (int) limit);
        } else {
            node.put(field, limit);
        }
    }
}
