package attest.http;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The request exactly as it arrived: method, request-target, headers (in order, case kept) and body.
 * Read from the Netty request rather than from Camel headers, because netty-http also maps
 * query parameters into headers, and a query parameter must never pass for a header.
 */
public record InboundRequest(String method, String uri, List<Map.Entry<String, String>> headers, byte[] body,
                             String sourceAddress) {

    public static InboundRequest of(FullHttpRequest request, byte[] body, SocketAddress remote) {
        HttpHeaders h = request.headers();
        List<Map.Entry<String, String>> list = new ArrayList<>(h.size());
        for (Map.Entry<String, String> e : h) {
            list.add(Map.entry(e.getKey(), e.getValue()));
        }
        return new InboundRequest(request.method().name(), request.uri(), List.copyOf(list), body, address(remote));
    }

    private static String address(SocketAddress remote) {
        if (remote instanceof InetSocketAddress inet) {
            return inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
        }
        return remote == null ? null : remote.toString();
    }

    /** The first value of a header, by case-insensitive name, or null. */
    public String header(String name) {
        for (Map.Entry<String, String> e : headers) {
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    /** All values of a header, by case-insensitive name. */
    public List<String> headerValues(String name) {
        List<String> values = new ArrayList<>();
        for (Map.Entry<String, String> e : headers) {
            if (e.getKey().equalsIgnoreCase(name)) {
                values.add(e.getValue());
            }
        }
        return values;
    }

    public boolean isJson() {
        String ct = header("Content-Type");
        return ct != null && ct.toLowerCase(Locale.ROOT).contains("json");
    }
}
