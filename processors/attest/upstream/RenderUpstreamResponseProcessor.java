package attest.upstream;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.ResponseHeaders;
import attest.ingress.UpstreamTarget;
import io.netty.channel.ChannelHandlerContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.netty.NettyConstants;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Sets the response from {@code attestUpstreamResponse}: status, the allowed upstream headers and the body,
 * or for a stream a chunked response fed by the relay. An upstream failure (5xx) or an upstream that
 * refuses the gateway's own credential (401/407) becomes 502: its body is not passed on.
 */
public class RenderUpstreamResponseProcessor implements Processor {
    private final ScheduledExecutorService scheduler;
    private final attest.ops.InFlightStreams streams;

    public RenderUpstreamResponseProcessor(ScheduledExecutorService scheduler) {
        this(scheduler, new attest.ops.InFlightStreams());
    }

    /** @param streams where each stream relayed is tracked until it settles (the drain waits for them) */
    public RenderUpstreamResponseProcessor(ScheduledExecutorService scheduler, attest.ops.InFlightStreams streams) {
        this.scheduler = scheduler;
        this.streams = streams;
    }

    @Override
    public void process(Exchange exchange) {
        UpstreamResponse up = exchange.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class);
        if (up.status() >= 500 || up.status() == 401 || up.status() == 407) {
            if (up.streaming()) {
                up.stream().abort(attest.evidence.Outcome.UPSTREAM_ERROR);
            }
            throw GatewayException.upstreamError("the upstream failed (status " + up.status() + ")");
        }
        Message m = exchange.getMessage();
        String requestId = exchange.getProperty(Exchanges.REQUEST_ID, String.class);
        // the upstream's headers that the gateway relays on purpose (already allow-listed by the client),
        // copied into the response's own headers; nothing is read back from message headers
        ResponseHeaders relayed = ResponseHeaders.of(exchange).clear();
        for (Map.Entry<String, String> h : up.headers()) {
            relayed.set(h.getKey(), h.getValue());
        }
        relayed.set(ResponseHeaders.REQUEST_ID, requestId);
        relayed.set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        relayed.remove(ResponseHeaders.EVIDENCE_ID); // never the upstream's: the gateway's own record id only
        attest.evidence.EvidenceRecord evidence = exchange.getProperty(Exchanges.EVIDENCE,
                attest.evidence.EvidenceRecord.class);
        if (evidence != null && evidence.getId() != null) {
            relayed.set(ResponseHeaders.EVIDENCE_ID, evidence.getId().toString());
        }
        if (up.streaming()) {
            Map<String, String> headers = new LinkedHashMap<>();
            relayed.entries().forEach(e -> headers.put(e.getKey(), e.getValue()));
            ChannelHandlerContext ctx = m.getHeader(NettyConstants.NETTY_CHANNEL_HANDLER_CONTEXT,
                    ChannelHandlerContext.class);
            UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
            if (ctx != null) {
                up.stream().bind(ctx.channel(), scheduler, target.upstream().idleTimeout());
            }
            streams.track(up.stream());
            m.setBody(new StreamingHttpResponse(up.status(), headers, up.stream()));
            m.setHeader(Exchange.HTTP_RESPONSE_CODE, up.status());
            return;
        }
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, up.status());
        m.setBody(up.body());
    }
}
