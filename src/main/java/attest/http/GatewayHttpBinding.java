package attest.http;

import attest.Exchanges;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.netty.http.DefaultNettyHttpBinding;
import org.apache.camel.component.netty.http.NettyHttpConfiguration;
import org.apache.camel.spi.HeaderFilterStrategy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * camel-netty-http's binding, with two changes that keep request data out of response headers.
 * <ul>
 *   <li>Inbound, query parameters and {@code application/x-www-form-urlencoded} fields are NOT mapped to
 *       message headers (the stock binding does both, so {@code ?Location=...} became a header). Only the
 *       request's real headers and Camel's own {@code CamelHttp*} values are mapped.</li>
 *   <li>Outbound, the response head is built from {@link ResponseHeaders} (the exchange property) alone,
 *       filtered by the plane's allow-list; message headers are ignored, Content-Type included. The framing
 *       headers the stock binding computed (Content-Length, Transfer-Encoding, Connection) are kept.
 *       {@code Cache-Control: no-store} is the default (the stock outbound filter dropped every
 *       {@code cache-control}), and {@code X-Request-Id} is the call's own. An answer to HEAD carries no
 *       content (the head, Content-Length included, is the GET answer's).</li>
 * </ul>
 * Installed as the component's binding by {@link HardenedNettyHttpComponent}, so every consumer on both planes
 * uses it.
 */
public class GatewayHttpBinding extends DefaultNettyHttpBinding {

    @Override
    public void populateCamelHeaders(HttpRequest request, Map<String, Object> headers, Exchange exchange,
                                     NettyHttpConfiguration configuration) {
        headers.put(Exchange.HTTP_METHOD, request.method().name());
        String target = request.uri();
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        String query = q < 0 ? null : target.substring(q + 1);
        headers.put(Exchange.HTTP_URI, path);
        headers.put(Exchange.HTTP_RAW_QUERY, query);
        String relative = path;
        String base = configuration.getPath();
        if (base != null && path.toLowerCase(Locale.ROOT).startsWith(base.toLowerCase(Locale.ROOT))) {
            relative = path.substring(base.length());
        }
        headers.put(Exchange.HTTP_PATH, relative);
        HeaderFilterStrategy filter = getHeaderFilterStrategy();
        for (String name : request.headers().names()) {
            String key = name.equalsIgnoreCase("content-type") ? Exchange.CONTENT_TYPE : name;
            for (String value : request.headers().getAll(name)) {
                if (filter != null && filter.applyFilterToExternalHeaders(key, value, exchange)) {
                    continue;
                }
                append(headers, key, value);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static void append(Map<String, Object> headers, String key, String value) {
        Object existing = headers.get(key);
        if (existing == null) {
            headers.put(key, value);
        } else if (existing instanceof List<?> list) {
            ((List<Object>) list).add(value);
        } else {
            List<Object> list = new ArrayList<>();
            list.add(existing);
            list.add(value);
            headers.put(key, list);
        }
    }

    @Override
    public HttpResponse toNettyResponse(Message message, NettyHttpConfiguration configuration) throws Exception {
        HttpResponse response = super.toNettyResponse(message, configuration);
        if (response instanceof io.netty.handler.codec.http.FullHttpResponse full && head(message.getExchange())
                && full.content().isReadable()) {
            // RFC 9110 9.3.2: no content in an answer to HEAD (its Content-Length stays the GET answer's); a body
            // after the head would be read by a keep-alive client, or a proxy sharing the connection, as the start
            // of the next answer
            io.netty.handler.codec.http.FullHttpResponse empty = full.replace(io.netty.buffer.Unpooled.EMPTY_BUFFER);
            full.release();
            response = empty;
        }
        writeHead(response.headers(), message.getExchange(), allowed());
        return response;
    }

    /** Whether the request answered was a HEAD (as it arrived: the inbound request, else the Netty request). */
    static boolean head(Exchange exchange) {
        if (exchange == null) {
            return false;
        }
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        if (in != null) {
            return "HEAD".equals(in.method());
        }
        return exchange.getIn() instanceof org.apache.camel.component.netty.http.NettyHttpMessage n
                && n.getHttpRequest() != null && io.netty.handler.codec.http.HttpMethod.HEAD.equals(n.getHttpRequest().method());
    }

    private Predicate<String> allowed() {
        return getHeaderFilterStrategy() instanceof ResponseHeaderFilterStrategy s ? s::allows
                : ResponseHeaders::allowed;
    }

    /** Replaces everything but the framing headers with the gateway's own decisions. */
    static void writeHead(HttpHeaders h, Exchange exchange, Predicate<String> allowed) {
        String length = h.get(HttpHeaderNames.CONTENT_LENGTH);
        String transferEncoding = h.get(HttpHeaderNames.TRANSFER_ENCODING);
        String connection = h.get(HttpHeaderNames.CONNECTION);
        h.clear();
        if (length != null) {
            h.set(HttpHeaderNames.CONTENT_LENGTH, length);
        }
        if (transferEncoding != null) {
            h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        if (connection != null) {
            h.set(HttpHeaderNames.CONNECTION, connection.equalsIgnoreCase("close") ? HttpHeaderValues.CLOSE
                    : HttpHeaderValues.KEEP_ALIVE);
        }
        ResponseHeaders decided = exchange == null ? null : ResponseHeaders.peek(exchange);
        if (decided != null) {
            for (Map.Entry<String, String> e : decided.entries()) {
                String name = e.getKey().toLowerCase(Locale.ROOT);
                if (allowed.test(name) && !name.equals("content-length") && !name.equals("transfer-encoding")
                        && !name.equals("connection")) {
                    h.add(e.getKey(), e.getValue());
                }
            }
        }
        if (!h.contains(HttpHeaderNames.CACHE_CONTROL)) {
            h.set(HttpHeaderNames.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        }
        String requestId = exchange == null ? null : exchange.getProperty(Exchanges.REQUEST_ID, String.class);
        if (requestId != null) {
            h.set(ResponseHeaders.REQUEST_ID, requestId);
        }
    }
}
