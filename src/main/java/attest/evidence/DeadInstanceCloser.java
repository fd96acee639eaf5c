package attest.evidence;

import attest.evidence.chain.EvidenceChain;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A survivor closes dead instances (docs/evidence-format.md section 4.5). An instance whose lease expired, counted
 * from when this survivor's own unbroken run of renewals began, is claimed with a conditional update (one survivor
 * wins); in the same transaction its chain head is fenced (an append to it fails from then on) and a
 * {@code chain.closed} entry naming its size and head is appended to the survivor's own chain, never to the dead
 * one. The dead instance's open records are then closed as {@code aborted} (error {@code replica_lost}) in the
 * survivor's chain, under the instance's recovery lock. Chains the dead instance had closed and not finished are
 * taken over.
 */
public final class DeadInstanceCloser {
    private static final Logger LOG = LoggerFactory.getLogger(DeadInstanceCloser.class);
    public static final String KIND = "chain.closed";
    public static final String ERROR_CODE = "replica_lost";

    /** The message of the unavailable exception when the store fails. */
    static final String UNAVAILABLE = "dead instances could not be closed";

    private final DataSource dataSource;
    private final InstanceLease own;
    private final EvidenceTransactions transactions;
    private final EvidenceWriter writer;
    private final String topic;
    private final Clock clock;

    public DeadInstanceCloser(DataSource dataSource, InstanceLease own, EvidenceChain chain, EvidenceWriter writer,
                              String topic, Clock clock) {
        this.dataSource = dataSource;
        this.own = own;
        this.transactions = new EvidenceTransactions(dataSource, chain, topic, UNAVAILABLE);
        this.writer = writer;
        this.topic = topic;
        this.clock = clock;
    }

    /** Claims and fences expired instances, then closes the open records of every chain this instance fenced. */
    public int closeDead() {
        try {
            claim();
            int closed = 0;
            for (String dead : fencedWithOpenRecords()) {
                int n = CrashRecovery.underLock(dataSource, dead, c -> stillFencedByMe(c, dead)
                        ? CrashRecovery.abortAll(c, writer, dead, ERROR_CODE, topic, clock) : 0);
                if (n > 0) {
                    LOG.warn("instance {} is dead (its lease expired): {} of its calls closed as aborted by {}", dead,
                            n, own.instanceId());
                }
                closed += n;
            }
            return closed;
        } catch (SQLException e) {
            throw new EvidenceUnavailableException(UNAVAILABLE);
        }
    }

    /**
     * The claims, fences and signed statements, in one transaction ({@link EvidenceTransactions#run}, as every
     * evidence write but a call's): returns the instances claimed. A store that fails is an
     * {@link EvidenceUnavailableException} with nothing of it committed: no claim, no fence, no statement. The
     * statements have no event ({@link EvidenceTransactions#appendStatements}). Nothing here needs a transaction of
     * its own: the default isolation is enough (the claim is one conditional update, which one survivor wins, and the
     * fence's update waits for an append in flight on the dead chain's head row); the recovery lock (an advisory
     * lock held by a session, {@link CrashRecovery#underLock}) is taken only later, to close the dead instance's
     * records through the writer.
     */
    public List<String> claim() {
        List<String> claimed = transactions.run(c -> {
            List<String> ids = new ArrayList<>();
            List<EvidenceChain.Entry> entries = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("""
                    UPDATE evidence_instance_lease x SET closed_by = ?, closed_at = now()
                    FROM evidence_instance_lease m
                    WHERE m.chain_id = ? AND x.chain_id <> m.chain_id AND x.closed_by IS NULL
                      AND m.closed_by IS NULL AND m.renewed_at >= now() - m.lease_ms * interval '1 millisecond'
                      AND x.renewed_at < now() - x.lease_ms * interval '1 millisecond'
                      AND m.since < now() - x.lease_ms * interval '1 millisecond'
                    RETURNING x.chain_id, x.renewed_at, x.lease_ms""")) {
                ps.setString(1, own.instanceId());
                ps.setString(2, own.instanceId());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ids.add(rs.getString(1));
                        Map<String, Object> body = new LinkedHashMap<>();
                        body.put("closed_chain_id", rs.getString(1));
                        body.put("lease_renewed_at", rs.getTimestamp(2).toInstant().toString());
                        body.put("lease_ms", rs.getLong(3));
                        entries.add(new EvidenceChain.Entry(KIND, null, clock.instant(), body));
                    }
                }
            }
            for (EvidenceChain.Entry e : entries) {
                fence(c, (String) e.body().get("closed_chain_id"), e.body());
            }
            transactions.appendStatements(c, entries);
            return ids;
        });
        for (String dead : claimed) {
            LOG.warn("instance {}: lease expired; its chain is closed by {}", dead, own.instanceId());
        }
        return claimed;
    }

    /** Fences the dead chain (waiting for an append in flight) and puts its size and head in the statement. */
    private void fence(Connection c, String dead, Map<String, Object> body) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_chain_head SET closed_by = ?, closed_at = now() "
                + "WHERE chain_id = ? RETURNING size, head")) {
            ps.setString(1, own.instanceId());
            ps.setString(2, dead);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    body.put("size", rs.getLong(1));
                    body.put("head", HexFormat.of().formatHex(rs.getBytes(2)));
                } else {
                    body.put("size", 0L);
                    body.put("head", HexFormat.of().formatHex(attest.evidence.chain.ChainHash.GENESIS));
                }
            }
        }
        List<String> taken = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_chain_head SET closed_by = ? WHERE closed_by = ? "
                + "AND chain_id <> ? RETURNING chain_id")) {
            ps.setString(1, own.instanceId());
            ps.setString(2, dead);
            ps.setString(3, own.instanceId());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    taken.add(rs.getString(1));
                }
            }
        }
        java.util.Collections.sort(taken);
        body.put("taken_over", taken);
    }

    private List<String> fencedWithOpenRecords() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT h.chain_id FROM evidence_chain_head h WHERE h.closed_by = ?
                  AND EXISTS (SELECT 1 FROM evidence_record e WHERE e.instance_id = h.chain_id AND e.state = 'open')
                ORDER BY 1""")) {
            c.setAutoCommit(true);
            ps.setString(1, own.instanceId());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    private boolean stillFencedByMe(Connection c, String dead) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT closed_by FROM evidence_chain_head WHERE chain_id = ?")) {
            ps.setString(1, dead);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && own.instanceId().equals(rs.getString(1));
            }
        }
    }
}
