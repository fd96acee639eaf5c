package attest.audit;

import attest.evidence.EvidenceTransactions;
import attest.evidence.chain.EvidenceChain;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/** What auditors do to evidence is evidence too: a chain entry and its Kafka event, in the caller's transaction. */
final class AuditTrail {
    private static final ObjectMapper JSON = new ObjectMapper();

    private AuditTrail() {
    }

    static void record(EvidenceTransactions evidence, Connection c, String kind, UUID subject, Map<String, Object> body,
                       Instant now) throws SQLException {
        evidence.append(c, "attest.audit", new EvidenceChain.Entry(kind, subject, now, body), subject.toString(),
                g -> {
                    g.writeFieldName("detail");
                    g.writeTree(JSON.valueToTree(body));
                });
    }
}
