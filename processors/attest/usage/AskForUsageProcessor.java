package attest.usage;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.ingress.UpstreamTarget;
import attest.policy.RequestBodyJson;
import attest.policy.RequestFacts;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.io.IOException;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Prepares the call's usage accounting before it is forwarded: sets {@code attestUsage} (a fresh meter, so that
 * every forwarded call's record says what is known of its usage, {@code unknown} included) and, for a streamed
 * Chat Completions or Completions call whose caller did not ask for usage (no {@code stream_options}, or
 * {@code include_usage} absent, null or false), asks the upstream for it ({@code stream_options.include_usage:
 * true}) and sets {@code attestStripUsage}, so that the extra usage chunk is removed from what the caller sees.
 * The rewritten body is what the rest of the path masks and forwards ({@code attestInbound}'s body and
 * {@code attestForwardBody}); the evidence keeps the body as received and the forwarded digest. Upstreams
 * listed in {@code attest.usage.no-stream-usage} are not asked (for servers that refuse the field).
 */
public class AskForUsageProcessor implements Processor {
    private static final Pattern STREAMABLE = Pattern.compile("(?:/.*)?/(?:chat/)?completions/?");
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Set<String> notAsked;

    public AskForUsageProcessor(Set<String> notAsked) {
        this.notAsked = Set.copyOf(notAsked);
    }

    @Override
    public void process(Exchange exchange) {
        UsageMeter meter = new UsageMeter();
        exchange.setProperty(Exchanges.USAGE, meter);
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        meter.countBytes(in.body() == null ? 0 : in.body().length);
        RequestFacts facts = exchange.getProperty(Exchanges.FACTS, RequestFacts.class);
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        if (facts == null || !facts.stream() || !facts.jsonObject() || target == null
                || notAsked.contains(target.upstream().name()) || !STREAMABLE.matcher(target.path()).matches()) {
            return;
        }
        RequestBodyJson.Parsed parsed = RequestBodyJson.parse(exchange, in.body());
        if (!(parsed.root() instanceof ObjectNode root)) {
            return;
        }
        JsonNode options = root.get("stream_options");
        if (options != null && !options.isNull() && !options.isObject()) {
            throw GatewayException.badRequest("stream_options must be an object");
        }
        JsonNode include = options == null || options.isNull() ? null : options.get("include_usage");
        if (include != null && !include.isNull() && !include.isBoolean()) {
            throw GatewayException.badRequest("stream_options.include_usage must be true or false");
        }
        if (include != null && include.asBoolean(false)) {
            return; // the caller asked: the usage chunk is theirs
        }
        ObjectNode copy = root.deepCopy();
        ObjectNode o = options == null || options.isNull() ? copy.putObject("stream_options")
                : (ObjectNode) copy.get("stream_options");
        o.put("include_usage", true);
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(copy);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the request body", e);
        }
        exchange.setProperty(Exchanges.INBOUND, new InboundRequest(in.method(), in.uri(), in.headers(), body,
                in.sourceAddress()));
        exchange.setProperty(Exchanges.FORWARD_BODY, body);
        exchange.setProperty(Exchanges.STRIP_USAGE, true);
    }
}
