package attest.evidence;

import attest.Exchanges;
import attest.evidence.chain.Receipts;
import attest.http.GatewayException;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import javax.sql.DataSource;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import java.util.UUID;

/**
 * Sets the body to a record's receipt (docs/evidence-format.md section 8): its chain entry, an inclusion proof
 * and the signed checkpoint, for the record's own caller (same token subject) or an auditor. Anyone else, an
 * unknown record, or one that no signed tree head covers yet (within one heartbeat) gets 404.
 */
public class RenderEvidenceProofProcessor implements Processor {
    private final DataSource dataSource;
    private final String auditorRole;

    public RenderEvidenceProofProcessor(DataSource dataSource, String auditorRole) {
        this.dataSource = dataSource;
        this.auditorRole = auditorRole;
    }

    @Override
    public void process(Exchange exchange) {
        UUID id = exchange.getMessage().getHeader(ReadProofPathProcessor.RECORD_ID, UUID.class);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        GatewayException notFound = new GatewayException(404, "not_found", "no such record, or no signed checkpoint "
                + "covers it yet", Outcome.DENIED);
        if (id == null || who == null) {
            throw notFound;
        }
        try (Connection c = dataSource.getConnection()) {
            c.setReadOnly(true);
            attest.audit.ReadPathWatch.pinned(c); // read as the reports are: the store's own objects only
            Optional<String> subject = Receipts.subjectOf(c, id);
            boolean allowed = subject.isPresent() && (who.hasRole(auditorRole)
                    || (who.subject() != null && who.subject().equals(subject.get())));
            if (!allowed) {
                throw notFound;
            }
            var receipt = Receipts.build(c, id).orElseThrow(() -> notFound);
            Message m = exchange.getMessage();
            m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
            attest.http.ResponseHeaders.of(exchange).set(attest.http.ResponseHeaders.CONTENT_TYPE, "application/json");
            attest.http.ResponseHeaders.of(exchange).set("Cache-Control", "no-store");
            m.setBody(receipt.toString().getBytes(StandardCharsets.UTF_8));
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("the evidence store is unavailable");
        }
    }
}
