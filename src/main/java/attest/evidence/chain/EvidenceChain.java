package attest.evidence.chain;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Appends entries to this gateway instance's hash chain, inside the caller's transaction (the same one that
 * writes the record and its outbox row). The position comes from the chain-head row, locked for the
 * transaction, so positions are gap-free and the chain cannot fork; the chain id and position are part of
 * the canonical entry that is hashed. The stored bytes are the canonical bytes, never re-rendered. The chain's
 * Merkle tree (RFC 9162) is kept as a compact frontier on the head row, updated in the same transaction, with
 * each completed subtree of 256 leaves or more cached for proofs.
 */
public final class EvidenceChain {
    /** One thing to append: its kind ({@code call.open}, {@code approval.held}...), subject and body. */
    public record Entry(String kind, UUID subjectId, Instant at, Map<String, Object> body) {
    }

    public static final int FORMAT = 1;

    private final String chainId;

    public EvidenceChain(String chainId) {
        this.chainId = chainId;
    }

    public String chainId() {
        return chainId;
    }

    /** Appends the entries in order; returns their positions. */
    public List<Long> append(Connection c, List<Entry> entries) throws SQLException {
        if (entries.isEmpty()) {
            return List.of();
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO evidence_chain_head (chain_id, size, head) "
                + "VALUES (?, 0, ?) ON CONFLICT (chain_id) DO NOTHING")) {
            ps.setString(1, chainId);
            ps.setBytes(2, ChainHash.GENESIS);
            ps.executeUpdate();
        }
        long size;
        byte[] head;
        byte[] stored;
        try (PreparedStatement ps = c.prepareStatement("SELECT size, head, frontier, closed_by FROM evidence_chain_head "
                + "WHERE chain_id = ? FOR UPDATE")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                size = rs.getLong(1);
                head = rs.getBytes(2);
                stored = rs.getBytes(3);
                if (rs.getString(4) != null) {
                    // fenced: a survivor signed this chain's size and head as final (section 4.5); nothing more
                    // is appended until the instance starts its chain again
                    throw new SQLException("evidence chain " + chainId + " was closed by instance " + rs.getString(4));
                }
            }
        }
        Merkle.Frontier tree = MerkleStore.frontier(c, chainId, size, stored, true);
        List<long[]> completedAt = new ArrayList<>();
        List<byte[]> completed = new ArrayList<>();
        List<Long> positions = new ArrayList<>(entries.size());
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO evidence_chain (chain_id, position, kind, "
                + "subject_id, recorded_at, canonical, hash) VALUES (?,?,?,?,?,?,?)")) {
            for (Entry e : entries) {
                long position = ++size;
                byte[] canonical = Canonical.of(envelope(chainId, position, e));
                head = ChainHash.link(head, canonical);
                tree.appendLeaf(Merkle.leaf(canonical), (level, index, hash) -> {
                    if (level >= MerkleStore.CACHE_LEVEL) {
                        completedAt.add(new long[]{level, index});
                        completed.add(hash);
                    }
                });
                ps.setString(1, chainId);
                ps.setLong(2, position);
                ps.setString(3, e.kind());
                ps.setObject(4, e.subjectId());
                ps.setTimestamp(5, Timestamp.from(e.at()));
                ps.setBytes(6, canonical);
                ps.setBytes(7, head);
                ps.addBatch();
                positions.add(position);
            }
            ps.executeBatch();
        }
        for (int i = 0; i < completed.size(); i++) {
            MerkleStore.insert(c, chainId, (int) completedAt.get(i)[0], completedAt.get(i)[1], completed.get(i));
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_chain_head SET size = ?, head = ?, frontier = ? "
                + "WHERE chain_id = ?")) {
            ps.setLong(1, size);
            ps.setBytes(2, head);
            ps.setBytes(3, tree.encode());
            ps.setString(4, chainId);
            ps.executeUpdate();
        }
        return positions;
    }

    /** The canonical entry: format, chain id, position, kind, subject, time and the record itself. */
    public static Map<String, Object> envelope(String chainId, long position, Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("chain_id", chainId);
        m.put("position", position);
        m.put("kind", e.kind());
        m.put("subject_id", e.subjectId() == null ? null : e.subjectId().toString());
        m.put("recorded_at", e.at().toString());
        m.put("record", e.body());
        return m;
    }
}
