package attest.audit;

import attest.evidence.chain.EvidenceChain;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** What auditors do to evidence is evidence too: a chain entry and its Kafka event, in the caller's transaction. */
final class AuditTrail {
    private static final ObjectMapper JSON = new ObjectMapper();

    private AuditTrail() {
    }

    static void record(Connection c, EvidenceChain chain, String topic, String kind, UUID subject,
                       Map<String, Object> body, Instant now) throws SQLException {
        chain.append(c, List.of(new EvidenceChain.Entry(kind, subject, now, body)));
        UUID eventId = UUID.randomUUID();
        String payload = attest.evidence.EvidenceEvents.envelope("attest.audit", 1, eventId, kind, now, g -> {
            g.writeFieldName("detail");
            g.writeTree(JSON.valueToTree(body));
        });
        attest.evidence.Outbox.insert(c, eventId, topic, subject.toString(), payload, now);
    }
}
