package attest.evidence.chain;

import attest.evidence.EvidenceTransactions;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Signed checkpoints of this instance's chain: chain id, size, head hash, Merkle tree root, time, the previous
 * checkpoint's hash, the heartbeat period, the instance's state and the chain ids it knows of, signed with the key
 * file's key (format 2, docs/evidence-format.md section 4). A checkpoint is made when N records were appended
 * since the last one, or T has passed (a heartbeat, even when idle), and when the instance starts and stops; it
 * is stored with its outbox event (published to Kafka) in one
 * transaction. The signer refuses to go backwards: never a smaller size, never another head for a size it
 * has signed.
 */
public final class Checkpoints {
    /** A signed checkpoint. */
    public record Checkpoint(String chainId, long size, byte[] head, Instant signedAt, byte[] canonical,
                             byte[] signature, String keyId, byte[] hash) {
    }

    /** The transaction a checkpoint is stored in, with its event (no chain entry: it signs the chain). */
    private final EvidenceTransactions evidence;
    private final String chainId;
    private final CheckpointSigner signer;
    private final long everyRecords;
    private final Duration everyPeriod;
    private final Clock clock;

    /** The checkpoint format this signer writes: 2 adds the tree head, the heartbeat, the state and the chains. */
    public static final int FORMAT = 2;
    public static final String RUNNING = "running";
    public static final String STOPPED = "stopped";

    public Checkpoints(DataSource dataSource, String chainId, CheckpointSigner signer, long everyRecords,
                       Duration everyPeriod, String topic, Clock clock) {
        this.evidence = new EvidenceTransactions(dataSource, null, topic, "checkpoint could not be stored");
        this.chainId = chainId;
        this.signer = signer;
        this.everyRecords = everyRecords;
        this.everyPeriod = everyPeriod;
        this.clock = clock;
    }

    /** Signs a checkpoint if one is due; returns it, or empty when none was due. */
    public Optional<Checkpoint> signIfDue() {
        return evidence.run(c -> sign(c, false, RUNNING));
    }

    /**
     * The instance starts: its chain is registered (a {@code start} row in {@code evidence_instance}), its head
     * created when new, and a checkpoint signed at once, so the chain is named and covered from its first second.
     */
    public Checkpoint start() {
        return evidence.run(c -> {
            register(c, "start");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO evidence_chain_head (chain_id, size, head, "
                    + "frontier) VALUES (?, 0, ?, ?) ON CONFLICT (chain_id) DO NOTHING")) {
                ps.setString(1, chainId);
                ps.setBytes(2, ChainHash.GENESIS);
                ps.setBytes(3, new byte[0]);
                ps.executeUpdate();
            }
            // a chain a survivor closed (section 4.5) is open again from this start: the start checkpoint covers
            // what follows, as after a stop
            try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_chain_head SET closed_by = NULL, "
                    + "closed_at = NULL WHERE chain_id = ? AND closed_by IS NOT NULL")) {
                ps.setString(1, chainId);
                ps.executeUpdate();
            }
            return sign(c, true, RUNNING);
        }).orElseThrow();
    }

    /** The instance stops: a final checkpoint ({@code state} stopped) and the {@code stop} row, together. */
    public Checkpoint stop() {
        return evidence.run(c -> {
            register(c, "stop");
            Optional<Checkpoint> last = sign(c, true, STOPPED);
            if (last.isEmpty()) {
                // rolled back with the stop row: a stop without its stopped checkpoint would read as a truncation
                throw new IllegalStateException("the chain has no head, or a survivor closed it: nothing to sign");
            }
            return last;
        }).orElseThrow();
    }

    private void register(Connection c, String event) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO evidence_instance (chain_id, event, at, key_id) "
                + "VALUES (?,?,?,?)")) {
            ps.setString(1, chainId);
            ps.setString(2, event);
            ps.setTimestamp(3, Timestamp.from(clock.instant()));
            ps.setString(4, signer.keyId());
            ps.executeUpdate();
        }
    }

    /** The chain ids this signer knows of: every registered instance and every chain with a head. */
    static List<String> knownChains(Connection c) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT chain_id FROM evidence_instance UNION "
                + "SELECT chain_id FROM evidence_chain_head ORDER BY 1"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        Collections.sort(out); // UTF-16 code unit order, whatever the database's collation
        return out;
    }

    private Optional<Checkpoint> sign(Connection c, boolean force, String state) throws SQLException {
        long size;
        byte[] head;
        byte[] stored;
        try (PreparedStatement ps = c.prepareStatement("SELECT size, head, frontier FROM evidence_chain_head "
                + "WHERE chain_id = ? AND closed_by IS NULL FOR UPDATE")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty(); // no head yet, or closed by a survivor (section 4.5): nothing to sign
                }
                size = rs.getLong(1);
                head = rs.getBytes(2);
                stored = rs.getBytes(3);
            }
        }
        long lastSize = 0;
        byte[] lastHash = null;
        Instant lastAt = null;
        try (PreparedStatement ps = c.prepareStatement("SELECT size, hash, signed_at, head FROM evidence_checkpoint "
                + "WHERE chain_id = ? ORDER BY size DESC, signed_at DESC LIMIT 1")) {
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
        if (lastAt != null && now.isBefore(lastAt)) {
            now = lastAt; // never sign a time before the previous checkpoint's
        }
        // a heartbeat: every T even when idle, so that silence is provable; sooner after N new records
        boolean due = force || lastAt == null || size - lastSize >= everyRecords || !now.isBefore(lastAt.plus(everyPeriod));
        if (!due) {
            return Optional.empty();
        }
        Merkle.Frontier tree = MerkleStore.frontier(c, chainId, size, stored, true);
        if (stored == null || Merkle.Frontier.decode(size, stored) == null) {
            try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_chain_head SET frontier = ? WHERE chain_id = ?")) {
                ps.setBytes(1, tree.encode());
                ps.setString(2, chainId);
                ps.executeUpdate();
            }
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("format", FORMAT);
        body.put("type", "checkpoint");
        body.put("chain_id", chainId);
        body.put("size", size);
        body.put("head", HexFormat.of().formatHex(head));
        body.put("root", HexFormat.of().formatHex(tree.root()));
        body.put("signed_at", now.toString());
        body.put("previous", lastHash == null ? null : HexFormat.of().formatHex(lastHash));
        body.put("key_id", signer.keyId());
        body.put("algorithm", signer.algorithm());
        body.put("heartbeat_ms", everyPeriod.toMillis());
        body.put("state", state);
        body.put("chains", knownChains(c));
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
        evidence.publish(c, "attest.checkpoint", "checkpoint:" + chainId, now, g -> {
            g.writeFieldName("checkpoint");
            g.writeRawValue(new String(canonical, java.nio.charset.StandardCharsets.UTF_8)); // the signed bytes
            g.writeStringField("signature", java.util.Base64.getEncoder().encodeToString(signature));
        });
        return Optional.of(new Checkpoint(chainId, size, head, now, canonical, signature, signer.keyId(), hash));
    }
}
