package attest.upstream;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.ingress.UpstreamTarget;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestUpstreamResponse}: calls the configured upstream (never a URL from the request) with
 * the brokered headers and the body as received. A streamed answer comes back as a live relay. The call's trace
 * context is passed on as {@code traceparent}.
 */
public class CallUpstreamProcessor implements Processor {
    private final UpstreamClient client;

    public CallUpstreamProcessor(UpstreamClient client) {
        this.client = client;
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        byte[] body = exchange.getProperty(Exchanges.FORWARD_BODY, in.body(), byte[].class);
        ForwardHeaders headers = exchange.getProperty(Exchanges.FORWARD_HEADERS, ForwardHeaders.class);
        // the trace goes on to the upstream: traceparent names the current (upstream) span; nothing when untraced
        attest.ops.Tracing.inject(io.opentelemetry.context.Context.current(), headers::set);
        exchange.setProperty(Exchanges.UPSTREAM_RESPONSE, client.call(exchange.getProperty(Exchanges.TARGET,
                UpstreamTarget.class), in.method(), headers, body, exchange.getProperty(Exchanges.BUFFER_RESPONSE,
                false, Boolean.class)));
    }
}
