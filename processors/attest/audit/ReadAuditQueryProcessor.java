package attest.audit;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.evidence.Outcome;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
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
                    new java.util.TreeSet<>(AuditReports.NAMES)), Outcome.DENIED);
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
        } catch (NumberFormatException e) {
            throw GatewayException.badRequest("from and to are ISO-8601 instants; page and size are integers");
        }
    }

    /**
     * The query parameters of a request target, decoded (the last of a repeated name wins). A broken percent escape,
     * or a control character in a value (a NUL, which PostgreSQL refuses in text, would otherwise fail the report's
     * query as if the store were down: 503), is a 400.
     */
    static Map<String, String> params(String uri) {
        Map<String, String> p = new HashMap<>();
        List<Map.Entry<String, String>> pairs;
        try {
            pairs = attest.http.QueryParameters.of(uri);
        } catch (IllegalArgumentException e) {
            throw GatewayException.badRequest("a query parameter has a malformed percent escape");
        }
        for (Map.Entry<String, String> pair : pairs) {
            if (pair.getValue().chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw GatewayException.badRequest("a query parameter has a control character");
            }
            p.put(pair.getKey(), pair.getValue());
        }
        return p;
    }

    /** An ISO-8601 instant (null when absent) within years 1 to 9999; anything else is a 400. */
    static Instant instant(String s) {
        if (s == null || s.isBlank()) {
            return null;
        }
        try {
            return attest.http.QueryParameters.instant(s);
        } catch (IllegalArgumentException e) {
            throw GatewayException.badRequest("from and to are ISO-8601 instants in the years 1 to 9999");
        }
    }
}
