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
 * Sets the body to one page of the report in {@code attestAuditQuery}, as JSON ({@code {"report", "page",
 * "size", "more", "rows"}}) or CSV (a header line, then RFC 4180 rows; {@code X-More-Pages} says whether
 * another page follows).
 */
public class RenderAuditReportProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final AuditReports reports;

    public RenderAuditReportProcessor(AuditReports reports) {
        this.reports = reports;
    }

    @Override
    public void process(Exchange exchange) {
        AuditQuery q = exchange.getProperty(ReadAuditQueryProcessor.QUERY, AuditQuery.class);
        AuditReports.Page page = reports.run(q);
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
        if (q.csv()) {
            StringBuilder b = new StringBuilder();
            b.append(String.join(",", page.columns())).append("\r\n");
            for (Map<String, Object> row : page.rows()) {
                boolean first = true;
                for (String c : page.columns()) {
                    if (!first) {
                        b.append(',');
                    }
                    first = false;
                    b.append(csv(row.get(c)));
                }
                b.append("\r\n");
            }
            ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "text/csv; charset=UTF-8");
            ResponseHeaders.of(exchange).set("X-More-Pages", String.valueOf(page.more()));
            m.setBody(b.toString().getBytes(StandardCharsets.UTF_8));
            return;
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("report", q.report());
        body.put("page", q.page());
        body.put("size", q.size());
        body.put("more", page.more());
        body.set("rows", JSON.valueToTree(page.rows()));
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        m.setBody(body.toString().getBytes(StandardCharsets.UTF_8));
    }

    static String csv(Object v) {
        if (v == null) {
            return "";
        }
        String s = v.toString();
        // a leading =, +, - or @ would be a formula in a spreadsheet, and so would a leading TAB or CR (which
        // spreadsheets skip before reading on; OWASP's CSV injection list): quote and prefix it
        if (!s.isEmpty() && "=+-@\t\r".indexOf(s.charAt(0)) >= 0 && !(v instanceof Number)) {
            s = "'" + s;
        }
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r") || s.startsWith("'")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }
}
