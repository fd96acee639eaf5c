package attest.audit;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.Map;

/**
 * Sets {@code attestUsageQuery} from {@code GET /audit/usage?by=user|group|key|model|upstream|day&from=&to=
 * &identity=&upstream=&key=&model=&format=json|csv} (or {@code Accept: text/csv}); bad parameters are 400.
 */
public class ReadUsageQueryProcessor implements Processor {
    public static final String QUERY = "attestUsageQuery";

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        if (!"GET".equals(in.method())) {
            throw GatewayException.notFound("the usage report is read with GET");
        }
        Map<String, String> p = ReadAuditQueryProcessor.params(in.uri());
        String by = p.getOrDefault("by", "user");
        if (!UsageReports.BY.containsKey(by)) {
            throw GatewayException.badRequest("by is one of day, group, key, model, upstream, user");
        }
        String format = p.getOrDefault("format", in.header("Accept") != null
                && in.header("Accept").contains("text/csv") ? "csv" : "json");
        if (!format.equals("csv") && !format.equals("json")) {
            throw GatewayException.badRequest("format is json or csv");
        }
        exchange.setProperty(QUERY, new UsageReports.Query(by, ReadAuditQueryProcessor.instant(p.get("from")),
                ReadAuditQueryProcessor.instant(p.get("to")), p.get("identity"), p.get("upstream"), p.get("key"),
                p.get("model"), format.equals("csv")));
    }
}
