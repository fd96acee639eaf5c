package attest.evidence;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * This instance's lease ({@code evidence_instance_lease}, docs/evidence-format.md section 4.5): renewed every few
 * seconds with the database's clock; while it is fresh no survivor closes this instance's chain. An orderly stop
 * gives it up. A renewal also reports whether a survivor closed (fenced) the chain meanwhile: the process was
 * paused or cut off for longer than the lease, its open records were closed by the survivor, and it must start
 * its chain again before it can append.
 */
public final class InstanceLease {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(InstanceLease.class);
    private final DataSource dataSource;
    private final String instanceId;
    private final Duration lease;
    private java.util.concurrent.ScheduledExecutorService renewer;

    public InstanceLease(DataSource dataSource, String instanceId, Duration lease) {
        if (lease.toMillis() <= 0) {
            throw new IllegalArgumentException("attest.evidence.instance-lease-ms must be positive");
        }
        this.dataSource = dataSource;
        this.instanceId = instanceId;
        this.lease = lease;
    }

    public String instanceId() {
        return instanceId;
    }

    public Duration lease() {
        return lease;
    }

    /**
     * Renews the lease (creating it at the first call); returns true when this instance's chain is fenced by a
     * survivor. An unbroken run of renewals keeps its {@code since}; a renewal later than the lease starts a new
     * run.
     */
    public boolean renew() {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            try (PreparedStatement ps = c.prepareStatement("""
                    INSERT INTO evidence_instance_lease AS l (chain_id, renewed_at, since, lease_ms)
                    VALUES (?, now(), now(), ?)
                    ON CONFLICT (chain_id) DO UPDATE SET
                      since = CASE WHEN l.closed_by IS NOT NULL
                                     OR l.renewed_at < now() - l.lease_ms * interval '1 millisecond'
                                   THEN now() ELSE l.since END,
                      renewed_at = now(), lease_ms = EXCLUDED.lease_ms, closed_by = NULL, closed_at = NULL""")) {
                ps.setString(1, instanceId);
                ps.setLong(2, lease.toMillis());
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT closed_by FROM evidence_chain_head "
                    + "WHERE chain_id = ?")) {
                ps.setString(1, instanceId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() && rs.getString(1) != null;
                }
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("instance lease could not be renewed");
        }
    }

    /**
     * Renews the lease every {@code period} on a thread of its own from now on (from before the routes start, so
     * a slow start-up is never taken for a death); when a renewal finds the chain fenced, runs {@code onFenced}
     * (the chain starts again, as after a restart). A failed renewal is logged and retried at the next period.
     */
    public synchronized void startRenewing(Duration period, Runnable onFenced) {
        if (renewer != null) {
            return;
        }
        renewer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "attest-instance-lease");
            t.setDaemon(true);
            return t;
        });
        renewer.scheduleWithFixedDelay(() -> {
            try {
                if (renew()) {
                    LOG.warn("instance {}: a survivor closed this chain after the lease expired (its open calls were "
                            + "closed as aborted); starting the chain again", instanceId);
                    onFenced.run();
                }
            } catch (RuntimeException e) {
                LOG.warn("instance {}: lease renewal failed: {}", instanceId, e.getMessage());
            }
        }, period.toMillis(), period.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** An orderly stop: renewals end and the lease is given up (nothing is left open for a survivor to close). */
    public void release() {
        synchronized (this) {
            if (renewer != null) {
                renewer.shutdownNow();
                renewer = null;
            }
        }
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("DELETE FROM evidence_instance_lease WHERE chain_id = ? "
                     + "AND closed_by IS NULL")) {
            c.setAutoCommit(true);
            ps.setString(1, instanceId);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("instance lease could not be released");
        }
    }
}
