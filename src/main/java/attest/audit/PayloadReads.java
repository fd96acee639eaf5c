package attest.audit;

import attest.evidence.EvidenceTransactions;
import attest.evidence.chain.EvidenceChain;
import attest.evidence.crypto.PayloadCipher;
import attest.identity.Identity;

import javax.sql.DataSource;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Decrypted payloads for auditors. Every read is itself evidence: an {@code audit.payload_read} entry in the
 * chain (who, when, the token's auth_time, which record) and its Kafka event, committed before anything is
 * decrypted; if that cannot be written, nothing is shown.
 */
public final class PayloadReads {
    /** What an auditor gets: the payloads, or that they were purged. */
    /** @param requestTruncated whether {@code request} is only the prefix a refused call keeps (V26) */
    public record Payload(UUID recordId, byte[] request, byte[] response, byte[] raw, boolean purged,
                          boolean requestTruncated) {
    }

    private final EvidenceTransactions evidence;
    private final PayloadCipher cipher;
    private final Clock clock;

    public PayloadReads(DataSource dataSource, EvidenceChain chain, PayloadCipher cipher, String topic, Clock clock) {
        this.evidence = new EvidenceTransactions(dataSource, chain, topic, "the read could not be recorded");
        this.cipher = cipher;
        this.clock = clock;
    }

    /** What the record holds, as read in the transaction that recorded the read. */
    private record Stored(byte[] request, byte[] response, byte[] raw, String keyId, boolean purged,
                          boolean truncated) {
    }

    public Optional<Payload> read(UUID recordId, Identity reader) {
        Stored stored = evidence.run(c -> {
            Stored s;
            try (PreparedStatement ps = c.prepareStatement("SELECT request_body, response_body, payload_key_id, "
                    + "payload_purged, raw_response_body, request_truncated FROM evidence_record WHERE id = ?")) {
                ps.setObject(1, recordId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return null; // nothing written: the transaction commits nothing
                    }
                    s = new Stored(rs.getBytes(1), rs.getBytes(2), rs.getBytes(5), rs.getString(3), rs.getBoolean(4),
                            rs.getBoolean(6));
                }
            }
            Instant now = clock.instant();
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("record_id", recordId.toString());
            body.put("reader", reader.username());
            body.put("reader_subject", reader.subject());
            body.put("auth_time", reader.authTime() == null ? null : reader.authTime().toString());
            body.put("at", now.toString());
            AuditTrail.record(evidence, c, "audit.payload_read", recordId, body, now);
            return s;
        });
        if (stored == null) {
            return Optional.empty();
        }
        byte[] request = stored.request();
        byte[] response = stored.response();
        byte[] raw = stored.raw();
        String keyId = stored.keyId();
        boolean purged = stored.purged();
        boolean truncated = stored.truncated();
        if (purged) {
            return Optional.of(new Payload(recordId, null, null, null, true, truncated));
        }
        if (keyId == null) {
            return Optional.of(new Payload(recordId, request, response, raw, false, truncated));
        }
        try {
            return Optional.of(new Payload(recordId,
                    request == null ? null : cipher.decrypt(request, keyId, recordId + ":request"),
                    response == null ? null : cipher.decrypt(response, keyId, recordId + ":response"),
                    raw == null ? null : cipher.decrypt(raw, keyId, recordId + ":raw"), false, truncated));
        } catch (PayloadCipher.PurgedException e) {
            return Optional.of(new Payload(recordId, null, null, null, true, truncated));
        }
    }
}
