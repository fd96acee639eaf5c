package attest.evidence;

import attest.evidence.chain.EvidenceChain;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * The one way the writes that are not a call's (approval steps, auditors' actions, keys' changes, checkpoints, a
 * survivor's claims of dead instances) store
 * evidence: {@link #run} opens one transaction on a pooled connection and commits what the work wrote, or rolls all of
 * it back; {@link #append} is one append inside it: the chain entry, its event (built by
 * {@link EvidenceEvents#envelope}, of type the entry's kind at the entry's time) and the event's outbox row. What a
 * write stores beside its evidence (an approval's row, a key's row, a checkpoint) is written on the same connection,
 * so it commits with its evidence or not at all. A store that cannot be reached, or a transaction that fails, is an
 * {@link EvidenceUnavailableException} with the writer's message (fail closed: the caller answers 503).
 * <p>The call records ({@code call.*}) are written by {@link EvidenceWriter} instead, in group commits.
 */
public final class EvidenceTransactions {
    /** Work inside the transaction, on its connection. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private final DataSource dataSource;
    private final EvidenceChain chain;
    private final String topic;
    private final String unavailable;

    /**
     * @param chain       the chain the entries are appended to (null for a writer that chains nothing: checkpoints)
     * @param topic       the topic of the events
     * @param unavailable the message of the {@link EvidenceUnavailableException} when the transaction fails
     */
    public EvidenceTransactions(DataSource dataSource, EvidenceChain chain, String topic, String unavailable) {
        this.dataSource = dataSource;
        this.chain = chain;
        this.topic = topic;
        this.unavailable = unavailable;
    }

    /**
     * Runs the work in one transaction and commits it; any failure rolls all of it back and is thrown again (a
     * runtime exception as it is, an {@link SQLException} as {@link EvidenceUnavailableException}).
     */
    public <T> T run(Work<T> work) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException(unavailable);
        }
    }

    /**
     * One append in the caller's transaction ({@link #run}): the entry on the chain, then its event (schema
     * version 1, {@code event_type} the entry's kind, {@code emitted_at} the entry's time, then the body's members)
     * in the outbox under {@code key}.
     */
    public void append(Connection c, String schema, EvidenceChain.Entry entry, String key, EvidenceEvents.Body body)
            throws SQLException {
        chain.append(c, List.of(entry));
        UUID eventId = UUID.randomUUID();
        Outbox.insert(c, eventId, topic, key,
                EvidenceEvents.envelope(schema, 1, eventId, entry.kind(), entry.at(), body), entry.at());
    }

    /**
     * Chain entries without an event, in the caller's transaction: a survivor's statements ({@code chain.closed},
     * {@link DeadInstanceCloser}), which speak of another instance's chain to whoever verifies the chains and are
     * published to no topic.
     */
    public void appendStatements(Connection c, List<EvidenceChain.Entry> entries) throws SQLException {
        chain.append(c, entries);
    }

    /**
     * An event without a chain entry, in the caller's transaction: the checkpoint's ({@code schema},
     * {@code schema_version} 1, {@code event_id}, then the body's members), stored at {@code at}.
     */
    public void publish(Connection c, String schema, String key, Instant at, EvidenceEvents.Body body)
            throws SQLException {
        UUID eventId = UUID.randomUUID();
        Outbox.insert(c, eventId, topic, key, EvidenceEvents.envelope(schema, 1, eventId, body), at);
    }
}
