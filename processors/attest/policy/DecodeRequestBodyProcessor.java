package attest.policy;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.List;
import java.util.Map;

/**
 * A request body with a {@code Content-Encoding} is decoded (bounded, {@link RequestBodyDecoder}) before the
 * policy reads it: {@code attestInbound} becomes the decoded request, without Content-Encoding (and its
 * stale Content-Length), so that facts, risk rules, request masking and a held call all see what the
 * upstream would read, and the decoded body is what is forwarded ({@code attestForwardBody}). The evidence
 * record keeps the body as received, and the forwarded body's digest. Refusals: 415 for a coding that is not
 * decoded, 413 past the body limit (decoded size), 400 for a body that does not decode.
 */
public class DecodeRequestBodyProcessor implements Processor {
    private final RequestBodyDecoder decoder;

    public DecodeRequestBodyProcessor(RequestBodyDecoder decoder) {
        this.decoder = decoder;
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        List<String> values = in.headerValues("Content-Encoding");
        if (values.isEmpty()) {
            return;
        }
        byte[] body = in.body() == null ? new byte[0] : in.body();
        byte[] decoded = decoder.decode(body, RequestBodyDecoder.codings(values));
        List<Map.Entry<String, String>> headers = in.headers().stream()
                .filter(h -> !h.getKey().equalsIgnoreCase("Content-Encoding")
                        && !h.getKey().equalsIgnoreCase("Content-Length"))
                .toList();
        exchange.setProperty(Exchanges.INBOUND, new InboundRequest(in.method(), in.uri(), headers, decoded,
                in.sourceAddress()));
        if (decoded != body) {
            exchange.setProperty(Exchanges.FORWARD_BODY, decoded);
        }
    }
}
