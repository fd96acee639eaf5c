package attest.ingress;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.netty.NettyConstants;
import org.apache.camel.component.netty.http.NettyHttpMessage;

import java.net.SocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Sets {@code attestInbound}: the request exactly as received, and {@code attestReceivedAt}. */
public class ReadInboundRequestProcessor implements Processor {
    private final Clock clock;

    public ReadInboundRequestProcessor(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        exchange.setProperty(Exchanges.RECEIVED_AT, clock.instant());
        Message in = exchange.getIn();
        byte[] body = in.getBody(byte[].class);
        if (body == null) {
            body = new byte[0];
        }
        SocketAddress remote = in.getHeader(NettyConstants.NETTY_REMOTE_ADDRESS, SocketAddress.class);
        InboundRequest request;
        if (in instanceof NettyHttpMessage netty && netty.getHttpRequest() != null) {
            request = InboundRequest.of(netty.getHttpRequest(), body, remote);
        } else {
            // not from netty (route tests): rebuild from the Camel headers
            List<Map.Entry<String, String>> headers = new ArrayList<>();
            in.getHeaders().forEach((k, v) -> {
                if (!k.startsWith("Camel") && v != null) {
                    headers.add(Map.entry(k, v.toString()));
                }
            });
            String uri = in.getHeader(Exchange.HTTP_URI, "/", String.class);
            request = new InboundRequest(in.getHeader(Exchange.HTTP_METHOD, "POST", String.class), uri,
                    List.copyOf(headers), body, "127.0.0.1");
        }
        exchange.setProperty(Exchanges.INBOUND, request);
        in.setBody(body);
    }
}
