package attest.evidence.chain;

import attest.evidence.EvidenceUnavailableException;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Signed checkpoints of this instance's chain: chain id, size, head hash, time and the previous checkpoint's
 * hash, signed with the key file's key. A checkpoint is made when N records were appended since the last one,
 * or T has passed with at least one; it is stored with its outbox event (published to Kafka) in one
 * transaction. The signer refuses to go backwards: never a smaller size, never another head for a size it
 * has signed.
 */
public final class Checkpoints {
    /** A signed checkpoint. */
    public record Checkpoint(String chainId, long size, byte[] head, Instant signedAt, byte[] canonical,
                             byte[] signature, String keyId, byte[] hash) {
    }

    private final DataSource dataSource;
    private final String chainId;
    private final CheckpointSigner signer;
    private final long everyRecords;
    private final Duration everyPeriod;
    private final String topic;
    private final Clock clock;

    public Checkpoints(DataSource dataSource, String chainId, CheckpointSigner signer, long everyRecords,
                       Duration everyPeriod, String topic, Clock clock) {
        this.dataSource = dataSource;
        this.chainId = chainId;
        this.signer = signer;
        this.everyRecords = everyRecords;
        this.everyPeriod = everyPeriod;
        this.topic = topic;
        this.clock = clock;
    }

    /** Signs a checkpoint if one is due; returns it, or empty when none was due. */
    public Optional<Checkpoint> signIfDue() {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                Optional<Checkpoint> made = signIfDue(c);
                c.commit();
                return made;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("checkpoint could not be stored");
        }
    }

    private Optional<Checkpoint> signIfDue(Connection c) throws SQLException {
        long size;
        byte[] head;
        try (PreparedStatement ps = c.prepareStatement("SELECT size, head FROM evidence_chain_head WHERE chain_id = ? "
                + "FOR UPDATE")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                size = rs.getLong(1);
                head = rs.getBytes(2);
            }
        }
        long lastSize = 0;
        byte[] lastHash = null;
        Instant lastAt = Instant.EPOCH;
        try (PreparedStatement ps = c.prepareStatement("SELECT size, hash, signed_at, head FROM evidence_checkpoint "
                + "WHERE chain_id = ? ORDER BY size DESC LIMIT 1")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    lastSize = rs.getLong(1);
                    lastHash = rs.getBytes(2);
                    lastAt = rs.getTimestamp(3).toInstant();
                    if (rs.getLong(1) == size && !java.util.Arrays.equals(rs.getBytes(4), head)) {
                        throw new IllegalStateException("refusing to sign another head for size " + size);
                    }
                }
            }
        }
        if (size < lastSize) {
            throw new IllegalStateException("refusing to sign a smaller chain (" + size + " < " + lastSize + ")");
        }
        Instant now = clock.instant();
        boolean due = size > lastSize && (size - lastSize >= everyRecords
                || !now.isBefore(lastAt.plus(everyPeriod)));
        if (!due) {
            return Optional.empty();
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("format", EvidenceChain.FORMAT);
        body.put("type", "checkpoint");
        body.put("chain_id", chainId);
        body.put("size", size);
        body.put("head", HexFormat.of().formatHex(head));
        body.put("signed_at", now.toString());
        body.put("previous", lastHash == null ? null : HexFormat.of().formatHex(lastHash));
        body.put("key_id", signer.keyId());
        body.put("algorithm", signer.algorithm());
        byte[] canonical = Canonical.of(body);
        byte[] signature = signer.sign(canonical);
        byte[] hash = ChainHash.checkpoint(canonical);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO evidence_checkpoint (chain_id, size, head, "
                + "signed_at, canonical, signature, key_id, hash) VALUES (?,?,?,?,?,?,?,?)")) {
            ps.setString(1, chainId);
            ps.setLong(2, size);
            ps.setBytes(3, head);
            ps.setTimestamp(4, Timestamp.from(now));
            ps.setBytes(5, canonical);
            ps.setBytes(6, signature);
            ps.setString(7, signer.keyId());
            ps.setBytes(8, hash);
            ps.executeUpdate();
        }
        UUID eventId = UUID.randomUUID();
        String payload = "{\"schema\":\"attest.checkpoint\",\"schema_version\":1,\"event_id\":\"" + eventId
                + "\",\"checkpoint\":" + new String(canonical, java.nio.charset.StandardCharsets.UTF_8)
                + ",\"signature\":\"" + java.util.Base64.getEncoder().encodeToString(signature) + "\"}";
        attest.evidence.Outbox.insert(c, eventId, topic, "checkpoint:" + chainId, payload, now);
        return Optional.of(new Checkpoint(chainId, size, head, now, canonical, signature, signer.keyId(), hash));
    }
}
