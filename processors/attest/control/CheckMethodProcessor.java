package attest.control;

import attest.Exchanges;
import attest.evidence.Outcome;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.http.ServedMethods;
import attest.ingress.PathNormalizer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.Map;

/**
 * Refuses (405, with the path's {@code Allow}) a method that the control-plane path does not serve, as its OpenAPI
 * document says ({@link ServedMethods}); sets nothing otherwise. A target that does not normalise
 * ({@link PathNormalizer}: an empty segment, a dot segment, an encoded separator...) is 400 {@code bad_request}. A
 * path the document does not name is left to its route (404).
 */
public class CheckMethodProcessor implements Processor {
    private final ServedMethods served;

    public CheckMethodProcessor(ServedMethods served) {
        this.served = served;
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        if (in == null) {
            throw new IllegalStateException("the inbound request was not read");
        }
        // a target that does not normalise is refused here (400), before any route acts on it: camel-netty-http
        // would still give some of them to a route (/rules/reload// to control-rules: its match drops one trailing
        // slash and its path matcher another) under a path this check could not name, the method unchecked
        String path = PathNormalizer.normalize(in.uri()).path();
        var allow = served.allow(path);
        if (allow.isPresent() && !served.serves(path, in.method())) {
            throw new GatewayException(405, "method_not_allowed", "this path serves " + allow.get() + " only",
                    Outcome.DENIED, Map.of("Allow", allow.get()));
        }
    }
}
