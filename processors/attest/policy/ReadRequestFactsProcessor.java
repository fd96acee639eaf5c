package attest.policy;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.evidence.Outcome;
import attest.ingress.UpstreamTarget;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestFacts}: model, token limit and stream, read from any body that parses as JSON, whatever
 * its Content-Type says (a JSON body sent as {@code text/plain} is still read by the upstream). Refused:
 * a body labelled JSON that does not parse, or that repeats a key (upstreams disagree on which copy wins),
 * with 400; a limit that is not a whole number from 0 to 2^31-1, with 400; a body that is neither JSON nor
 * of a Content-Type accepted for its upstream ({@link BodyFormats}), with 415.
 */
public class ReadRequestFactsProcessor implements Processor {
    private final BodyFormats formats;

    public ReadRequestFactsProcessor() {
        this(BodyFormats.jsonOnly());
    }

    public ReadRequestFactsProcessor(BodyFormats formats) {
        this.formats = formats;
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        byte[] body = in.body() == null ? new byte[0] : in.body();
        if (body.length == 0) {
            exchange.setProperty(Exchanges.FACTS, new RequestFacts(null, null, false, 0, false));
            return;
        }
        RequestBodyJson.Parsed parsed = RequestBodyJson.parse(exchange, body);
        if (parsed.duplicateKey()) {
            throw GatewayException.badRequest("request body repeats a JSON key");
        }
        if (parsed.root() == null) {
            UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
            if (in.isJson()) {
                throw GatewayException.badRequest("request body is not valid JSON");
            }
            if (target == null || !formats.acceptsNonJson(target.upstream().name(), in.header("Content-Type"))) {
                throw new GatewayException(415, "unsupported_media_type", "request body is not JSON, and its "
                        + "Content-Type is not accepted for this upstream", Outcome.DENIED);
            }
            exchange.setProperty(Exchanges.FACTS, new RequestFacts(null, null, false, body.length, false));
            return;
        }
        exchange.setProperty(Exchanges.FACTS, RequestBodyJson.facts(parsed.root(), body.length));
    }
}
