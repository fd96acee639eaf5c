package attest.http;

import org.apache.camel.Exchange;
import org.apache.camel.component.netty.http.NettyHttpHeaderFilterStrategy;

/**
 * Header filter for the data and control planes: request headers come in as usual, but only
 * allow-listed headers ({@link ResponseHeaders}) go out. Defence in depth behind
 * FilterResponseHeadersProcessor: even a route that forgets to clean up cannot echo a caller's
 * Authorization header.
 */
public class ResponseHeaderFilterStrategy extends NettyHttpHeaderFilterStrategy {
    private final java.util.function.Predicate<String> allowed;

    public ResponseHeaderFilterStrategy() {
        this(ResponseHeaders::allowed);
    }

    public ResponseHeaderFilterStrategy(java.util.function.Predicate<String> allowed) {
        this.allowed = allowed;
    }

    @Override
    public boolean applyFilterToCamelHeaders(String headerName, Object headerValue, Exchange exchange) {
        return !allowed.test(headerName) || super.applyFilterToCamelHeaders(headerName, headerValue, exchange);
    }
}
