package attest.evidence;

import org.hibernate.SessionFactory;
import org.hibernate.engine.jdbc.connections.spi.ConnectionProvider;
import org.hibernate.engine.spi.SessionFactoryImplementor;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The outbox side of the relay. A batch of rows is claimed by locking them ({@code FOR UPDATE SKIP LOCKED}) in a
 * transaction that stays open while they are sent, so that several gateway replicas share the work, and the rows
 * are marked published in that same transaction, only after Kafka acknowledged them. An event row is thus written
 * twice (its insert, and the update that marks it published), not three times as with a lease written into the row
 * (issue #12). The lease is the transaction's own: {@code idle_in_transaction_session_timeout} ends a relay that
 * stalls or vanishes mid-batch, and a relay that dies closes its connection; either way the locks go with it and
 * another relay takes the rows. Delivery is at least once (a crash between Kafka's acknowledgement and the commit
 * re-sends the rows): consumers de-duplicate on {@code event_id}.
 */
public final class Outbox {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Outbox.class);
    /** A claimed event. */
    public record Claimed(long id, UUID eventId, String topic, String key, String payload) {
    }

    /**
     * A claimed batch: its rows stay locked until {@link #published()} marks them and commits, or {@link #release()}
     * (or {@link #close()}) gives them back. Used from one thread at a time.
     */
    public static final class Claim implements AutoCloseable {
        private final Connection connection;
        private final List<Claimed> events;
        private boolean open = true;

        private Claim(Connection connection, List<Claimed> events) {
            this.connection = connection;
            this.events = events;
        }

        public List<Claimed> events() {
            return events;
        }

        /** Marks every claimed row published and commits; the claim is over. An empty claim has nothing to mark. */
        public void published() {
            if (events.isEmpty()) {
                end(true);
                return;
            }
            if (!open) {
                throw new IllegalStateException("the outbox claim is over");
            }
            try {
                if (!events.isEmpty()) {
                    try (PreparedStatement ps = connection.prepareStatement(
                            "UPDATE evidence_outbox SET published_at = now() WHERE id = ANY(?)")) {
                        ps.setArray(1, connection.createArrayOf("bigint",
                                events.stream().map(Claimed::id).toArray(Long[]::new)));
                        ps.executeUpdate();
                    }
                }
                connection.commit();
            } catch (SQLException e) {
                // after Kafka's acknowledgement: the rows are sent again by a later claim (at least once)
                LOG.warn("evidence relay: {} sent events could not be marked published (SQLSTATE {}); they will be "
                        + "sent again", events.size(), e.getSQLState());
                throw new EvidenceUnavailableException("outbox rows could not be marked published");
            } finally {
                end(false);
            }
        }

        /** Gives the rows back (rolls the claim back), so that the next relay run retries them at once. */
        public void release() {
            end(true);
        }

        /** Releases the rows unless they were marked published (safe to call more than once). */
        @Override
        public void close() {
            end(true);
        }

        private void end(boolean rollback) {
            if (!open) {
                return;
            }
            open = false;
            try {
                if (rollback) {
                    connection.rollback();
                }
            } catch (SQLException | RuntimeException ignored) {
                // a broken connection has nothing to roll back: its locks went with it
            } finally {
                try {
                    connection.close();
                } catch (SQLException | RuntimeException ignored) {
                    // the pool evicts a broken connection
                }
            }
        }
    }

    private final SessionFactory sessionFactory;
    private final DataSource dataSource;
    private final Duration lease;

    /**
     * @param lease how long a claim may stay open at most (the relay's send and mark): past it PostgreSQL ends the
     *              claiming session, its locks are released and another relay takes the rows
     */
    public Outbox(SessionFactory sessionFactory, Duration lease) {
        this.sessionFactory = sessionFactory;
        this.dataSource = ((SessionFactoryImplementor) sessionFactory).getServiceRegistry()
                .requireService(ConnectionProvider.class).unwrap(DataSource.class);
        this.lease = lease;
    }

    /**
     * Adds an event in the caller's JDBC transaction (approval steps, auditors' actions, checkpoints), so that it is
     * published exactly when what it reports is committed.
     */
    public static void insert(java.sql.Connection c, UUID eventId, String topic, String key, String payload,
                              java.time.Instant at) throws java.sql.SQLException {
        try (java.sql.PreparedStatement ps = c.prepareStatement("INSERT INTO evidence_outbox (event_id, topic, "
                + "event_key, payload, created_at) VALUES (?,?,?,?,?)")) {
            ps.setObject(1, eventId);
            ps.setString(2, topic);
            ps.setString(3, key);
            ps.setString(4, payload);
            ps.setTimestamp(5, java.sql.Timestamp.from(at));
            ps.executeUpdate();
        }
    }

    /**
     * Claims up to {@code max} unpublished events, oldest first, skipping rows another relay holds (and rows still
     * under a lease written by a relay of an earlier version, {@code claimed_until}). An empty claim is already over.
     */
    public Claim claim(int max) {
        Connection c = null;
        try {
            c = dataSource.getConnection();
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                // the claim's lease: a session idle in this transaction for longer is ended, and its locks released
                st.execute("SET LOCAL idle_in_transaction_session_timeout = " + Math.max(1, lease.toMillis()));
            }
            List<Claimed> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT id, event_id, topic, event_key, payload FROM evidence_outbox
                    WHERE published_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
                    ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED""")) {
                ps.setInt(1, max);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new Claimed(rs.getLong(1), rs.getObject(2, UUID.class), rs.getString(3),
                                rs.getString(4), rs.getString(5)));
                    }
                }
            }
            Claim claim = new Claim(c, List.copyOf(out));
            if (out.isEmpty()) {
                claim.release();
            }
            return claim;
        } catch (SQLException | RuntimeException e) {
            if (c != null) {
                new Claim(c, List.of()).release();
            }
            LOG.warn("evidence relay: outbox claim failed ({})", e instanceof SQLException se
                    ? "SQLSTATE " + se.getSQLState() : e.getClass().getSimpleName());
            throw new EvidenceUnavailableException("outbox unavailable");
        }
    }

    /** Events not yet published (for health and tests). */
    public long backlog() {
        return sessionFactory.fromTransaction(session -> ((Number) session.createNativeQuery(
                "SELECT count(*) FROM evidence_outbox WHERE published_at IS NULL", Long.class)
                .getSingleResult()).longValue());
    }
}
