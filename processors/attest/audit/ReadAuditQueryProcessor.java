package attest.audit;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.http.Outcomes;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;

/**
 * Sets {@code attestAuditQuery} from {@code GET /audit/{report}?from=&to=&identity=&upstream=&outcome=&page=&size=
 * &format=json|csv} (or {@code Accept: text/csv}). Unknown reports are 404; bad parameters 400.
 */
public class ReadAuditQueryProcessor implements Processor {
    public static final String QUERY = "attestAuditQuery";

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        String uri = in.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        String report = path.startsWith("/audit/") ? path.substring("/audit/".length()) : "";
        if (!"GET".equals(in.method()) || !AuditReports.NAMES.contains(report)) {
            throw new GatewayException(404, "not_found", "reports: " + String.join(", ",
                    new java.util.TreeSet<>(AuditReports.NAMES)), Outcomes.DENIED);
        }
        Map<String, String> p = params(uri);
        try {
            int page = Integer.parseInt(p.getOrDefault("page", "0"));
            int size = Integer.parseInt(p.getOrDefault("size", "100"));
            if (page < 0 || size < 1 || size > 1000) {
                throw GatewayException.badRequest("page >= 0 and 1 <= size <= 1000");
            }
            String format = p.getOrDefault("format", in.header("Accept") != null
                    && in.header("Accept").contains("text/csv") ? "csv" : "json");
            if (!format.equals("csv") && !format.equals("json")) {
                throw GatewayException.badRequest("format is json or csv");
            }
            exchange.setProperty(QUERY, new AuditQuery(report, instant(p.get("from")), instant(p.get("to")),
                    p.get("identity"), p.get("upstream"), p.get("outcome"), page, size, format.equals("csv")));
        } catch (NumberFormatException | DateTimeParseException e) {
            throw GatewayException.badRequest("from and to are ISO-8601 instants; page and size are integers");
        }
    }

    /** The query parameters of a request target, decoded (the last of a repeated name wins). */
    static Map<String, String> params(String uri) {
        Map<String, String> p = new HashMap<>();
        int q = uri.indexOf('?');
        if (q >= 0) {
            for (String part : uri.substring(q + 1).split("&")) {
                int eq = part.indexOf('=');
                if (eq > 0) {
                    p.put(URLDecoder.decode(part.substring(0, eq), StandardCharsets.UTF_8),
                            URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return p;
    }

    private static Instant instant(String s) {
        return s == null || s.isBlank() ? null : Instant.parse(s);
    }
}
