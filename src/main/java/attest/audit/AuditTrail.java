package attest.audit;

import attest.evidence.chain.EvidenceChain;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
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
        ObjectNode e = JSON.createObjectNode();
        e.put("schema", "attest.audit");
        e.put("schema_version", 1);
        e.put("event_id", eventId.toString());
        e.put("event_type", kind);
        e.put("emitted_at", now.toString());
        e.set("detail", JSON.valueToTree(body));
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO evidence_outbox (event_id, topic, event_key, "
                + "payload, created_at) VALUES (?,?,?,?,?)")) {
            ps.setObject(1, eventId);
            ps.setString(2, topic);
            ps.setString(3, subject.toString());
            ps.setString(4, e.toString());
            ps.setTimestamp(5, Timestamp.from(now));
            ps.executeUpdate();
        }
    }
}
