package attest.evidence;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Crash accounting, at start-up: records that a previous run of this instance opened and never finished
 * (the process died) are closed as {@code aborted}, each as a new terminal entry of the chain with its
 * Kafka event. Held calls that still wait for approvers (or are approved and not yet forwarded) are left
 * to the approval flow, which resumes them. A survivor closing a dead instance's records
 * ({@link DeadInstanceCloser}) does the same under the same per-instance lock, so a record is never closed twice.
 */
public final class CrashRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(CrashRecovery.class);

    private CrashRecovery() {
    }

    /** Work done while holding an instance's recovery lock, on the connection that holds it. */
    interface Locked {
        int run(Connection c) throws SQLException;
    }

    /** Closes this instance's unfinished records; returns how many. */
    public static int run(DataSource dataSource, EvidenceWriter writer, String instanceId, String topic, Clock clock) {
        int closed;
        try {
            // the error code of a record closed at start-up is the outcome's word
            closed = underLock(dataSource, instanceId, c -> abortAll(c, writer, instanceId, Outcome.ABORTED.wire(),
                    topic, clock));
        } catch (SQLException e) {
            throw new IllegalStateException("crash recovery could not read the evidence store", e);
        }
        if (closed > 0) {
            LOG.warn("crash recovery: {} calls of a previous run of instance {} had no terminal state; closed as "
                    + "aborted", closed, instanceId);
        }
        return closed;
    }

    /**
     * Runs {@code work} holding the session-level advisory lock of an instance's recovery: whoever closes that
     * instance's records (itself at start-up, or a survivor) reads them and commits their closing under it.
     */
    static int underLock(DataSource dataSource, String instanceId, Locked work) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_lock(hashtext(?))")) {
                ps.setString(1, "attest.recovery:" + instanceId);
                ps.execute();
            }
            try {
                return work.run(c);
            } finally {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(hashtext(?))")) {
                    ps.setString(1, "attest.recovery:" + instanceId);
                    ps.execute();
                }
            }
        }
    }

    /**
     * Closes every open record of an instance as {@code aborted} (with {@code errorCode}), each committed with its
     * terminal chain entry (in the writer's chain) and Kafka event; held calls are left to the approval flow.
     */
    static int abortAll(Connection c, EvidenceWriter writer, String instanceId, String errorCode, String topic,
                        Clock clock) throws SQLException {
        List<UUID> open = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT e.id FROM evidence_record e
                LEFT JOIN approval_request a ON a.id = e.approval_id
                WHERE e.instance_id = ? AND e.state = 'open'
                  AND NOT (a.id IS NOT NULL AND (a.state IN ('pending', 'approved')
                           OR (a.state = 'executing' AND e.forwarded_at IS NULL)))
                ORDER BY e.received_at""")) {
            ps.setString(1, instanceId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    open.add(rs.getObject(1, UUID.class));
                }
            }
        }
        for (UUID id : open) {
            EvidenceRecord r = writer.find(id);
            Instant now = clock.instant();
            r.setErrorCode(errorCode);
            writer.update(r, EvidenceEvents.terminate(r, Outcome.ABORTED, now, topic, now));
        }
        return open.size();
    }
}
