package attest.http;

import org.apache.camel.Exchange;
import org.apache.camel.component.netty.http.NettyHttpHeaderFilterStrategy;

import java.util.function.Predicate;

/**
 * Header filter for the data and control planes. Inbound, the request's headers come in as usual (Camel's own
 * names filtered). Outbound, no message header ever becomes a response header: {@link GatewayHttpBinding}
 * writes the response head from {@link ResponseHeaders} only, and writes there only the names this plane
 * allows ({@link #allows(String)}).
 */
public class ResponseHeaderFilterStrategy extends NettyHttpHeaderFilterStrategy {
    private final Predicate<String> allowed;

    public ResponseHeaderFilterStrategy() {
        this(ResponseHeaders::allowed);
    }

    public ResponseHeaderFilterStrategy(Predicate<String> allowed) {
        this.allowed = allowed;
    }

    /** Whether this plane may send a header of that name. */
    public boolean allows(String name) {
        return allowed.test(name);
    }

    @Override
    public boolean applyFilterToCamelHeaders(String headerName, Object headerValue, Exchange exchange) {
        return true;
    }
}
