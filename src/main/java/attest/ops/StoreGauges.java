package attest.ops;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * What the evidence store says about this instance, in one round trip, kept for a short while so that
 * probes and scrapes do not each query it: whether it takes writes, the outbox backlog and the age of its
 * oldest unpublished event (the relay's lag), the age of this chain's last signed checkpoint, and the held
 * calls pending approval. A store that cannot be reached gives {@link Sample#DOWN}.
 */
public final class StoreGauges {
    /** One reading; ages in seconds, -1 when there is nothing to age (no backlog, no checkpoint yet). */
    public record Sample(boolean writable, long outboxBacklog, double relayLagSeconds, double checkpointAgeSeconds,
                         long pendingApprovals) {
        public static final Sample DOWN = new Sample(false, -1, -1, -1, -1);
    }

    private static final String SQL = "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off', "
            + "(SELECT count(*) FROM evidence_outbox WHERE published_at IS NULL), "
            + "(SELECT EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)) FROM evidence_outbox WHERE published_at IS NULL), "
            + "(SELECT EXTRACT(EPOCH FROM clock_timestamp() - max(signed_at)) FROM evidence_checkpoint WHERE chain_id = ?), "
            + "(SELECT count(*) FROM approval_request WHERE state = 'pending')";

    private final DataSource dataSource;
    private final String chainId;
    private final long maxAgeNanos;
    private volatile Sample last;
    private volatile long lastAt;

    public StoreGauges(DataSource dataSource, String chainId, Duration maxAge) {
        this.dataSource = dataSource;
        this.chainId = chainId;
        this.maxAgeNanos = maxAge.toNanos();
    }

    /** The last reading if it is fresh enough, else a new one. */
    public Sample sample() {
        Sample s = last;
        if (s != null && System.nanoTime() - lastAt < maxAgeNanos) {
            return s;
        }
        synchronized (this) {
            if (last != null && System.nanoTime() - lastAt < maxAgeNanos) {
                return last;
            }
            last = read();
            lastAt = System.nanoTime();
            return last;
        }
    }

    private Sample read() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(SQL)) {
            ps.setQueryTimeout(2);
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Sample(rs.getBoolean(1), rs.getLong(2), age(rs, 3), age(rs, 4), rs.getLong(5));
            }
        } catch (SQLException e) {
            return Sample.DOWN;
        }
    }

    private static double age(ResultSet rs, int column) throws SQLException {
        double v = rs.getDouble(column);
        return rs.wasNull() ? -1 : Math.max(0, v);
    }
}
