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
    /**
     * One thing to append: its kind ({@code call.open}, {@code approval.held}...), subject and body; and, when the
     * caller rendered it already, the canonical bytes of the body ({@link #canonicalRecord}, null: rendered at the
     * append). The evidence writer renders each call's body on the call's own thread, so that its single thread
     * only places the rendered body in the entry.
     */
    public record Entry(String kind, UUID subjectId, Instant at, Map<String, Object> body, byte[] canonicalRecord) {
        public Entry(String kind, UUID subjectId, Instant at, Map<String, Object> body) {
            this(kind, subjectId, at, body, null);
        }

        /** This entry with its body rendered now ({@link Canonical#of}); throws when the body has no canonical form. */
        public Entry rendered() {
            return canonicalRecord != null ? this : new Entry(kind, subjectId, at, body, Canonical.of(body));
        }

        /** This entry at another time (the commit's), its rendered body kept. */
        public Entry at(Instant when) {
            return new Entry(kind, subjectId, when, body, canonicalRecord);
        }
    }

    public static final int FORMAT = 1;

    private static final String INSERT_ENTRY = "INSERT INTO evidence_chain (chain_id, position, kind, subject_id, "
            + "recorded_at, canonical, hash) VALUES (?,?,?,?,?,?,?)";

    private final String chainId;

    public EvidenceChain(String chainId) {
        this.chainId = chainId;
    }

    public String chainId() {
        return chainId;
    }

    /**
     * Appends the entries in order; returns their positions. The head row is read and locked first
     * ({@code FOR UPDATE}): for appenders that write now and then (approvals, auditors' actions, a survivor's
     * statements). The evidence writer keeps the head in memory instead ({@link #appender()}).
     */
    public List<Long> append(Connection c, List<Entry> entries) throws SQLException {
        return appender().append(c, entries);
    }

    /** An appender that keeps this chain's head in memory between its appends (one per writer thread). */
    public Appender appender() {
        return new Appender();
    }

    /** The head of the chain: size, hash and Merkle frontier. */
    private record Head(long size, byte[] head, Merkle.Frontier tree) {
    }

    /** The entries rendered at their positions after a head, and the head they make. */
    private record Rendered(Head after, List<byte[]> canonicals, List<byte[]> hashes, List<long[]> completedAt,
                            List<byte[]> completed) {
    }

    /**
     * Appends for one writer, holding the chain head in memory: it is read (and locked) once, then each append
     * moves it with one conditional statement on the head row ({@code WHERE size = <the size held> AND closed_by
     * IS NULL}) instead of a locked read. When that finds no row, the head moved under the writer: another appender
     * of this chain got there first (approvals, auditors' actions and a survivor's statements append to it too),
     * or a survivor fenced it. The head is then read and locked again, in the same transaction, and a fenced chain
     * fails the append as before. The head held only counts once the transaction committed ({@link #committed});
     * any append that does not reach it leaves the head unknown, to be read again.
     */
    public final class Appender {
        private Head known;
        private Head pending;

        private Appender() {
        }

        /** Appends the entries in order, in the caller's transaction; returns their positions. */
        public List<Long> append(Connection c, List<Entry> entries) throws SQLException {
            Head from = known;
            known = null;
            pending = null;
            if (entries.isEmpty()) {
                known = from;
                return List.of();
            }
            Rendered r = null;
            if (from != null) {
                r = render(from, entries);
                if (!advance(c, from, r.after())) {
                    r = null; // moved under us: read it again, locked
                }
            }
            if (r == null) {
                from = lock(c);
                r = render(from, entries);
                if (!advance(c, from, r.after())) {
                    throw new SQLException("evidence chain " + chainId + " head changed while locked");
                }
            }
            List<Long> positions = new ArrayList<>(entries.size());
            try (PreparedStatement ps = c.prepareStatement(INSERT_ENTRY)) {
                for (int i = 0; i < entries.size(); i++) {
                    Entry e = entries.get(i);
                    long position = from.size() + 1 + i;
                    ps.setString(1, chainId);
                    ps.setLong(2, position);
                    ps.setString(3, e.kind());
                    ps.setObject(4, e.subjectId());
                    ps.setTimestamp(5, Timestamp.from(e.at()));
                    ps.setBytes(6, r.canonicals().get(i));
                    ps.setBytes(7, r.hashes().get(i));
                    ps.addBatch();
                    positions.add(position);
                }
                ps.executeBatch();
            }
            for (int i = 0; i < r.completed().size(); i++) {
                MerkleStore.insert(c, chainId, (int) r.completedAt().get(i)[0], r.completedAt().get(i)[1],
                        r.completed().get(i));
            }
            pending = r.after();
            return positions;
        }

        /**
         * The statements that append {@code entries} after the head held, for a writer that sends them with its own
         * statements in one pipeline, which PostgreSQL runs as one implicit transaction (one round trip instead of
         * one per statement). The head moves by {@code attest_advance_chain_head} (migration V24), which fails the
         * whole transaction when the head row is not where it is held (another appender moved it, or the chain was
         * fenced); the writer then forgets the head and appends the long way ({@link #append}). Null when no head
         * is held. The head held moves only by {@link Pipelined#committed()}.
         */
        public Pipelined pipelined(List<Entry> entries) {
            Head from = known;
            if (from == null || entries.isEmpty()) {
                return null;
            }
            return new Pipelined(from, render(from, entries), entries);
        }

        /** The transaction of the last append committed: its head is the head from now on. */
        public void committed() {
            known = pending;
            pending = null;
        }

        /** The transaction of the last append did not commit (or may not have): read the head again next time. */
        public void forget() {
            known = null;
            pending = null;
        }

        /** Whether the head is held (for tests). */
        public boolean holdsHead() {
            return known != null;
        }

        private Head lock(Connection c) throws SQLException {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO evidence_chain_head (chain_id, size, head) "
                    + "VALUES (?, 0, ?) ON CONFLICT (chain_id) DO NOTHING")) {
                ps.setString(1, chainId);
                ps.setBytes(2, ChainHash.GENESIS);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT size, head, frontier, closed_by "
                    + "FROM evidence_chain_head WHERE chain_id = ? FOR UPDATE")) {
                ps.setString(1, chainId);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getString(4) != null) {
                        // fenced: a survivor signed this chain's size and head as final (section 4.5); nothing more
                        // is appended until the instance starts its chain again
                        throw new SQLException("evidence chain " + chainId + " was closed by instance "
                                + rs.getString(4));
                    }
                    long size = rs.getLong(1);
                    return new Head(size, rs.getBytes(2), MerkleStore.frontier(c, chainId, size, rs.getBytes(3), true));
                }
            }
        }

        /** An append rendered after the head held, as statements to send in the caller's pipeline. */
        public final class Pipelined {
            private final Head from;
            private final Rendered r;
            private final List<Entry> entries;

            private Pipelined(Head from, Rendered r, List<Entry> entries) {
                this.from = from;
                this.r = r;
                this.entries = entries;
            }

            /** The statements, separated by {@code ;}: the head's move first, then the entries and tree nodes. */
            public String sql() {
                StringBuilder sql = new StringBuilder("SELECT attest_advance_chain_head(?, ?, ?, ?, ?)");
                for (int i = 0; i < entries.size(); i++) {
                    sql.append("; ").append(INSERT_ENTRY);
                }
                for (int i = 0; i < r.completed().size(); i++) {
                    sql.append("; ").append(MerkleStore.INSERT_NODE);
                }
                return sql.toString();
            }

            /** Binds the parameters of {@link #sql()} from index {@code i}; returns the next index. */
            public int bind(PreparedStatement ps, int i) throws SQLException {
                ps.setString(i++, chainId);
                ps.setLong(i++, from.size());
                ps.setLong(i++, r.after().size());
                ps.setBytes(i++, r.after().head());
                ps.setBytes(i++, r.after().tree().encode());
                for (int k = 0; k < entries.size(); k++) {
                    Entry e = entries.get(k);
                    ps.setString(i++, chainId);
                    ps.setLong(i++, from.size() + 1 + k);
                    ps.setString(i++, e.kind());
                    ps.setObject(i++, e.subjectId());
                    ps.setTimestamp(i++, Timestamp.from(e.at()));
                    ps.setBytes(i++, r.canonicals().get(k));
                    ps.setBytes(i++, r.hashes().get(k));
                }
                for (int k = 0; k < r.completed().size(); k++) {
                    ps.setString(i++, chainId);
                    ps.setInt(i++, (int) r.completedAt().get(k)[0]);
                    ps.setLong(i++, r.completedAt().get(k)[1]);
                    ps.setBytes(i++, r.completed().get(k));
                }
                return i;
            }

            /** The pipeline committed: its head is the head from now on. */
            public void committed() {
                known = r.after();
                pending = null;
            }
        }

        /** Moves the head row from {@code from} to {@code to}, if it is still at {@code from} and not fenced. */
        private boolean advance(Connection c, Head from, Head to) throws SQLException {
            try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_chain_head SET size = ?, head = ?, "
                    + "frontier = ? WHERE chain_id = ? AND size = ? AND closed_by IS NULL")) {
                ps.setLong(1, to.size());
                ps.setBytes(2, to.head());
                ps.setBytes(3, to.tree().encode());
                ps.setString(4, chainId);
                ps.setLong(5, from.size());
                return ps.executeUpdate() == 1;
            }
        }
    }

    private Rendered render(Head from, List<Entry> entries) {
        Merkle.Frontier tree = Merkle.Frontier.of(from.size(), from.tree().nodes());
        byte[] head = from.head();
        long size = from.size();
        List<byte[]> canonicals = new ArrayList<>(entries.size());
        List<byte[]> hashes = new ArrayList<>(entries.size());
        List<long[]> completedAt = new ArrayList<>();
        List<byte[]> completed = new ArrayList<>();
        for (Entry e : entries) {
            long position = ++size;
            byte[] canonical = canonical(chainId, position, e);
            head = ChainHash.link(head, canonical);
            tree.appendLeaf(Merkle.leaf(canonical), (level, index, hash) -> {
                if (level >= MerkleStore.CACHE_LEVEL) {
                    completedAt.add(new long[]{level, index});
                    completed.add(hash);
                }
            });
            canonicals.add(canonical);
            hashes.add(head);
        }
        return new Rendered(new Head(size, head, tree), canonicals, hashes, completedAt, completed);
    }

    /**
     * The canonical bytes of {@link #envelope}: {@code Canonical.of(envelope(chainId, position, e))}, with the body's
     * bytes taken as rendered when the entry has them. The envelope's members in canonical order (RFC 8785: by
     * UTF-16 code units of their names) are chain_id, format, kind, position, record, recorded_at, subject_id; so the
     * rendered body is placed between the members before it and those after it, each written by {@link Canonical}.
     * {@code ChainSpliceTest} checks this against the plain rendering.
     */
    public static byte[] canonical(String chainId, long position, Entry e) {
        byte[] record = e.canonicalRecord();
        if (record == null) {
            return Canonical.of(envelope(chainId, position, e));
        }
        Map<String, Object> before = new LinkedHashMap<>();
        before.put("chain_id", chainId);
        before.put("format", FORMAT);
        before.put("kind", e.kind());
        before.put("position", position);
        Map<String, Object> after = new LinkedHashMap<>();
        after.put("recorded_at", attest.text.IsoInstant.of(e.at()));
        after.put("subject_id", e.subjectId() == null ? null : e.subjectId().toString());
        byte[] head = Canonical.of(before); // {"chain_id":...,"position":N}
        byte[] tail = Canonical.of(after);  // {"recorded_at":...,"subject_id":...}
        byte[] name = RECORD_MEMBER;
        byte[] out = new byte[head.length - 1 + name.length + record.length + 1 + tail.length - 1];
        int i = 0;
        System.arraycopy(head, 0, out, i, head.length - 1); // without its closing brace
        i += head.length - 1;
        System.arraycopy(name, 0, out, i, name.length);
        i += name.length;
        System.arraycopy(record, 0, out, i, record.length);
        i += record.length;
        out[i++] = ',';
        System.arraycopy(tail, 1, out, i, tail.length - 1); // without its opening brace, with its closing one
        return out;
    }

    /** The record's member name between the members before it and its value, in canonical form. */
    private static final byte[] RECORD_MEMBER = ",\"record\":".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** The canonical entry: format, chain id, position, kind, subject, time and the record itself. */
    public static Map<String, Object> envelope(String chainId, long position, Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("chain_id", chainId);
        m.put("position", position);
        m.put("kind", e.kind());
        m.put("subject_id", e.subjectId() == null ? null : e.subjectId().toString());
        m.put("recorded_at", attest.text.IsoInstant.of(e.at()));
        m.put("record", e.body());
        return m;
    }
}
