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
 * document says ({@link ServedMethods}); sets nothing otherwise. A path the document does not name is left to its
 * route (404).
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
        // the normalised path, or the raw one when it does not normalise (the route then refuses it, 400 or 404)
        String path = PathNormalizer.pathOrEmpty(in.uri());
        if (path.isEmpty()) {
            path = rawPath(in.uri());
        }
        var allow = served.allow(path);
        if (allow.isPresent() && !served.serves(path, in.method())) {
            throw new GatewayException(405, "method_not_allowed", "this path serves " + allow.get() + " only",
                    Outcome.DENIED, Map.of("Allow", allow.get()));
        }
    }

    private static String rawPath(String target) {
        int end = target.length();
        for (char c : new char[]{'?', '#'}) {
            int i = target.indexOf(c);
            if (i >= 0 && i < end) {
                end = i;
            }
        }
        return target.substring(0, end);
    }
}
