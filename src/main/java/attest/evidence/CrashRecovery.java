package attest.evidence;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Crash accounting, at start-up: records that a previous run of this instance opened and never finished
 * (the process died) are closed as {@code aborted}, each as a new terminal entry of the chain with its
 * Kafka event. Held calls that still wait for approvers (or are approved and not yet forwarded) are left
 * to the approval flow, which resumes them.
 */
public final class CrashRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(CrashRecovery.class);

    private CrashRecovery() {
    }

    /** Closes this instance's unfinished records; returns how many. */
    public static int run(DataSource dataSource, EvidenceWriter writer, String instanceId, String topic, Clock clock) {
        List<UUID> open = new ArrayList<>();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
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
        } catch (SQLException e) {
            throw new IllegalStateException("crash recovery could not read the evidence store", e);
        }
        for (UUID id : open) {
            EvidenceRecord r = writer.find(id);
            Instant now = clock.instant();
            r.setOutcome("aborted");
            r.setErrorCode("aborted");
            r.setState(EvidenceRecord.TERMINAL);
            r.setCompletedAt(now);
            r.setDurationMs(Duration.between(r.getReceivedAt(), now).toMillis());
            writer.update(r, EvidenceEvents.terminal(r, topic, now));
        }
        if (!open.isEmpty()) {
            LOG.warn("crash recovery: {} calls of a previous run of instance {} had no terminal state; closed as "
                    + "aborted", open.size(), instanceId);
        }
        return open.size();
    }
}
