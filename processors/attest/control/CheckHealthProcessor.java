package attest.control;

import attest.http.ResponseHeaders;
import attest.evidence.EvidenceWriter;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;

/** Sets the health answer: 200 when the evidence store answers, 503 otherwise (a gateway without evidence is down). */
public class CheckHealthProcessor implements Processor {
    private final DataSource dataSource;
    private final EvidenceWriter writer;

    public CheckHealthProcessor(DataSource dataSource, EvidenceWriter writer) {
        this.dataSource = dataSource;
        this.writer = writer;
    }

    @Override
    public void process(Exchange exchange) {
        boolean db;
        try (Connection c = dataSource.getConnection()) {
            db = c.isValid(1);
        } catch (SQLException e) {
            db = false;
        }
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, db ? 200 : 503);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        m.setBody("{\"status\":\"" + (db ? "UP" : "DOWN") + "\",\"evidence_store\":\"" + (db ? "UP" : "DOWN")
                + "\",\"evidence_commits\":" + writer.commits() + ",\"evidence_written\":" + writer.written() + "}");
    }
}
