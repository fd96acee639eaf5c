package attest.audit;

import attest.http.ResponseHeaders;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Sets the body to the usage report in {@code attestUsageQuery}: JSON ({@code {"report": "usage", "by", "rows",
 * "totals"}}) or CSV (a header line, RFC 4180 rows, with the same guard against spreadsheet formulas as every
 * audit CSV; no totals line, so that a sum over the rows is the total).
 */
public class RenderUsageReportProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final UsageReports reports;

    public RenderUsageReportProcessor(UsageReports reports) {
        this.reports = reports;
    }

    @Override
    public void process(Exchange exchange) {
        UsageReports.Query q = exchange.getProperty(ReadUsageQueryProcessor.QUERY, UsageReports.Query.class);
        UsageReports.Report report = reports.run(q);
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        if (q.csv()) {
            StringBuilder b = new StringBuilder(String.join(",", report.columns())).append("\r\n");
            for (Map<String, Object> row : report.rows()) {
                for (int i = 0; i < report.columns().size(); i++) {
                    if (i > 0) {
                        b.append(',');
                    }
                    b.append(RenderAuditReportProcessor.csv(row.get(report.columns().get(i))));
                }
                b.append("\r\n");
            }
            ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "text/csv; charset=UTF-8");
            m.setBody(b.toString().getBytes(StandardCharsets.UTF_8));
            return;
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("report", "usage");
        body.put("by", q.by());
        body.put("from", q.from() == null ? null : q.from().toString());
        body.put("to", q.to() == null ? null : q.to().toString());
        body.set("rows", JSON.valueToTree(report.rows()));
        body.set("totals", JSON.valueToTree(report.totals()));
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        m.setBody(body.toString().getBytes(StandardCharsets.UTF_8));
    }
}
