package attest.evidence.chain;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Merkle tree of a chain in PostgreSQL: subtree roots from the cache of complete subtrees of 2^8 leaves and
 * more ({@code evidence_merkle_node}), below that from the entries themselves (one read of an aligned block of
 * 256 leaf hashes, computed by the database). An inclusion or consistency proof reads at most log2(n) cached
 * nodes and one block. Subtrees missing from the cache (a chain older than the tree) are computed once and, on
 * a writable connection, stored.
 */
public final class MerkleStore implements Merkle.Subtrees {
    public static final int CACHE_LEVEL = 8;
    private static final long BLOCK = 1L << CACHE_LEVEL;

    private final Connection c;
    private final String chainId;
    private final boolean store;
    private final Map<Long, List<byte[]>> blocks = new HashMap<>();

    public MerkleStore(Connection c, String chainId, boolean store) {
        this.c = c;
        this.chainId = chainId;
        this.store = store;
    }

    @Override
    public byte[] hash(long start, long size) {
        try {
            return subtree(start, size);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the Merkle tree: " + e.getSQLState(), e);
        }
    }

    private byte[] subtree(long start, long size) throws SQLException {
        boolean perfect = Long.bitCount(size) == 1 && start % size == 0;
        if (perfect && size >= BLOCK) {
            int level = Long.numberOfTrailingZeros(size);
            byte[] cached = cached(level, start / size);
            if (cached != null) {
                return cached;
            }
            byte[] h = Merkle.node(subtree(start, size / 2), subtree(start + size / 2, size / 2));
            if (store) {
                insert(c, chainId, level, start / size, h);
            }
            return h;
        }
        if (start / BLOCK == (start + size - 1) / BLOCK) {
            List<byte[]> block = block(start / BLOCK);
            int from = (int) (start % BLOCK);
            if (from + size > block.size()) {
                throw new IllegalStateException("the chain holds fewer entries than the tree needs");
            }
            return Merkle.memory(block.subList(from, (int) (from + size))).hash(0, size);
        }
        long k = Merkle.split(size);
        return Merkle.node(subtree(start, k), subtree(start + k, size - k));
    }

    private byte[] cached(int level, long index) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT hash FROM evidence_merkle_node WHERE chain_id = ? "
                + "AND level = ? AND index = ?")) {
            ps.setString(1, chainId);
            ps.setInt(2, level);
            ps.setLong(3, index);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    private List<byte[]> block(long index) throws SQLException {
        List<byte[]> b = blocks.get(index);
        if (b != null) {
            return b;
        }
        b = new ArrayList<>((int) BLOCK);
        try (PreparedStatement ps = c.prepareStatement("SELECT sha256('\\x00'::bytea || canonical) FROM evidence_chain "
                + "WHERE chain_id = ? AND position > ? AND position <= ? ORDER BY position")) {
            ps.setString(1, chainId);
            ps.setLong(2, index * BLOCK);
            ps.setLong(3, (index + 1) * BLOCK);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    b.add(rs.getBytes(1));
                }
            }
        }
        blocks.put(index, b);
        return b;
    }

    static final String INSERT_NODE = "INSERT INTO evidence_merkle_node (chain_id, level, index, hash) "
            + "VALUES (?,?,?,?) ON CONFLICT DO NOTHING";

    static void insert(Connection c, String chainId, int level, long index, byte[] hash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(INSERT_NODE)) {
            ps.setString(1, chainId);
            ps.setInt(2, level);
            ps.setLong(3, index);
            ps.setBytes(4, hash);
            ps.executeUpdate();
        }
    }

    /** The frontier stored with the head, or rebuilt from the entries when the head predates the tree. */
    static Merkle.Frontier frontier(Connection c, String chainId, long size, byte[] stored, boolean store) {
        Merkle.Frontier f = stored == null ? null : Merkle.Frontier.decode(size, stored);
        return f != null ? f : Merkle.Frontier.of(size, new MerkleStore(c, chainId, store));
    }
}
