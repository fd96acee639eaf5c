package attest.audit;

import attest.evidence.EvidenceUnavailableException;
import attest.evidence.chain.EvidenceChain;
import attest.evidence.crypto.PayloadCipher;
import attest.identity.Identity;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
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

    private final DataSource dataSource;
    private final EvidenceChain chain;
    private final PayloadCipher cipher;
    private final String topic;
    private final Clock clock;

    public PayloadReads(DataSource dataSource, EvidenceChain chain, PayloadCipher cipher, String topic, Clock clock) {
        this.dataSource = dataSource;
        this.chain = chain;
        this.cipher = cipher;
        this.topic = topic;
        this.clock = clock;
    }

    public Optional<Payload> read(UUID recordId, Identity reader) {
        byte[] request;
        byte[] response;
        byte[] raw;
        String keyId;
        boolean purged;
        boolean truncated;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement ps = c.prepareStatement("SELECT request_body, response_body, payload_key_id, "
                        + "payload_purged, raw_response_body, request_truncated FROM evidence_record WHERE id = ?")) {
                    ps.setObject(1, recordId);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            c.rollback();
                            return Optional.empty();
                        }
                        request = rs.getBytes(1);
                        response = rs.getBytes(2);
                        keyId = rs.getString(3);
                        purged = rs.getBoolean(4);
                        raw = rs.getBytes(5);
                        truncated = rs.getBoolean(6);
                    }
                }
                Instant now = clock.instant();
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("record_id", recordId.toString());
                body.put("reader", reader.username());
                body.put("reader_subject", reader.subject());
                body.put("auth_time", reader.authTime() == null ? null : reader.authTime().toString());
                body.put("at", now.toString());
                AuditTrail.record(c, chain, topic, "audit.payload_read", recordId, body, now);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("the read could not be recorded");
        }
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
