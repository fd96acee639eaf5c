package attest.evidence;

import org.hibernate.SessionFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The outbox side of the relay. Rows are claimed with a lease ({@code FOR UPDATE SKIP LOCKED}), so that
 * several gateway replicas share the work, and marked published only after Kafka acknowledged them.
 * A crash between the two re-sends the rows after the lease: delivery is at least once, and consumers
 * de-duplicate on {@code event_id}.
 */
public final class Outbox {
    /** A claimed event. */
    public record Claimed(long id, UUID eventId, String topic, String key, String payload) {
    }

    private final SessionFactory sessionFactory;
    private final String owner;
    private final Duration lease;

    public Outbox(SessionFactory sessionFactory, String owner, Duration lease) {
        this.sessionFactory = sessionFactory;
        this.owner = owner;
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

    @SuppressWarnings("unchecked")
    public List<Claimed> claim(int max) {
        return sessionFactory.fromTransaction(session -> {
            List<Object[]> rows = session.createNativeQuery("""
                    UPDATE evidence_outbox SET claimed_by = :owner,
                           claimed_until = now() + make_interval(secs => :lease)
                    WHERE id IN (SELECT id FROM evidence_outbox
                                 WHERE published_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
                                 ORDER BY id LIMIT :max FOR UPDATE SKIP LOCKED)
                    RETURNING id, event_id, topic, event_key, payload""", Object[].class)
                    .setParameter("owner", owner)
                    .setParameter("lease", (double) lease.toSeconds())
                    .setParameter("max", max)
                    .getResultList();
            List<Claimed> out = new ArrayList<>(rows.size());
            for (Object[] r : rows) {
                out.add(new Claimed(((Number) r[0]).longValue(), (UUID) r[1], (String) r[2], (String) r[3],
                        (String) r[4]));
            }
            out.sort((a, b) -> Long.compare(a.id(), b.id()));
            return out;
        });
    }

    public void markPublished(List<Claimed> events) {
        if (events.isEmpty()) {
            return;
        }
        List<Long> ids = events.stream().map(Claimed::id).toList();
        sessionFactory.inTransaction(session -> session.createNativeMutationQuery(
                        "UPDATE evidence_outbox SET published_at = now() WHERE id IN (:ids)")
                .setParameterList("ids", ids).executeUpdate());
    }

    /** Gives claimed rows back, so that the next relay run retries them at once. */
    public void release(List<Claimed> events) {
        List<Long> ids = events.stream().map(Claimed::id).toList();
        sessionFactory.inTransaction(session -> session.createNativeMutationQuery(
                        "UPDATE evidence_outbox SET claimed_until = NULL, claimed_by = NULL "
                                + "WHERE id IN (:ids) AND published_at IS NULL")
                .setParameterList("ids", ids).executeUpdate());
    }

    /** Events not yet published (for health and tests). */
    public long backlog() {
        return sessionFactory.fromTransaction(session -> ((Number) session.createNativeQuery(
                "SELECT count(*) FROM evidence_outbox WHERE published_at IS NULL", Long.class)
                .getSingleResult()).longValue());
    }
}
