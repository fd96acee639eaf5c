package attest.evidence;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Retention of evidence payloads, per upstream or globally: payloads of terminal records older than their
 * retention are destroyed (the ciphertext is deleted), and data keys whose every payload is past the longest
 * retention are destroyed (crypto-shredding). Records keep their digests and show {@code payload_purged};
 * the chain is untouched, so it still verifies. Published outbox rows are removed after a while; unpublished
 * ones never.
 * <p>Held calls follow the same schedule: once a held call is settled (executed, failed, denied, expired,
 * cancelled) and past its upstream's retention, its request (body and headers), masked preview and stored answer
 * are destroyed ({@code payload_purged}), and so are the verified emails, actors and identity kept only to tell
 * approvers from the requester; its digest, rule, decisions (who decided what, when) and every approval event stay. Expired
 * approval-page sessions and pending sign-ins are deleted on every run, whatever the retention.
 */
public final class Retention {
    private static final Logger LOG = LoggerFactory.getLogger(Retention.class);
    /** The database role retention runs as (migration V7). */
    public static final String ROLE = "attest_retention";

    /** What one run did. */
    public record Result(int payloadsPurged, int keysDestroyed, int outboxRemoved, int heldPurged,
                         int signInsRemoved) {
        public Result(int payloadsPurged, int keysDestroyed, int outboxRemoved) {
            this(payloadsPurged, keysDestroyed, outboxRemoved, 0, 0);
        }
    }

    /** How long a pending approval-page sign-in may wait at most (it expires sooner; this is the backstop). */
    private Duration signInKeep = Duration.ofHours(1);

    public Retention signInsKeptAtMost(Duration keep) {
        this.signInKeep = keep;
        return this;
    }

    private final DataSource dataSource;
    private final Duration global;
    private final Map<String, Duration> perUpstream;
    private final Duration dataKeyPeriod;
    private final Duration outboxKeep;
    private final Clock clock;

    /**
     * @param global      retention of payloads without an upstream-specific one (zero: forever)
     * @param perUpstream retention per upstream name (zero: forever)
     */
    public Retention(DataSource dataSource, Duration global, Map<String, Duration> perUpstream, Duration dataKeyPeriod,
                     Duration outboxKeep, Clock clock) {
        this.dataSource = dataSource;
        this.global = global;
        this.perUpstream = perUpstream;
        this.dataKeyPeriod = dataKeyPeriod;
        this.outboxKeep = outboxKeep;
        this.clock = clock;
    }

    public Result run() {
        Instant now = clock.instant();
        int purged = 0;
        int keys = 0;
        int outbox;
        int heldPurged;
        int signInsRemoved;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (var st = c.createStatement()) {
                // retention is the only role that may purge payloads (migration V7); back to the app role at commit
                st.execute("SET LOCAL ROLE " + ROLE);
            }
            for (Map.Entry<String, Duration> e : perUpstream.entrySet()) {
                if (!e.getValue().isZero()) {
                    purged += purge(c, "upstream = ?", e.getKey(), now.minus(e.getValue()));
                }
            }
            if (!global.isZero()) {
                purged += perUpstream.isEmpty() ? purge(c, "true", null, now.minus(global))
                        : purge(c, "(upstream IS NULL OR NOT (upstream = ANY (?)))", perUpstream.keySet()
                        .toArray(String[]::new), now.minus(global));
            }
            // a data key may go once every payload it protects is past the longest retention
            Duration longest = global;
            for (Duration d : perUpstream.values()) {
                if (d.isZero() || d.compareTo(longest) > 0) {
                    longest = d.isZero() ? Duration.ZERO : d;
                }
                if (longest.isZero()) {
                    break;
                }
            }
            if (!global.isZero() && !longest.isZero()) {
                Instant before = now.minus(longest).minus(dataKeyPeriod);
                try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_data_key SET wrapped = NULL, "
                        + "destroyed_at = ? WHERE destroyed_at IS NULL AND created_at < ?")) {
                    ps.setTimestamp(1, Timestamp.from(now));
                    ps.setTimestamp(2, Timestamp.from(before));
                    keys = ps.executeUpdate();
                }
                if (keys > 0) {
                    try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_record SET request_body = NULL, "
                            + "response_body = NULL, raw_response_body = NULL, payload_purged = true WHERE NOT payload_purged AND payload_key_id "
                            + "IN (SELECT id FROM evidence_data_key WHERE destroyed_at IS NOT NULL)")) {
                        purged += ps.executeUpdate();
                    }
                }
            }
            // held calls: the same retention, settled ones only
            int held = 0;
            for (Map.Entry<String, Duration> e : perUpstream.entrySet()) {
                if (!e.getValue().isZero()) {
                    held += purgeHeld(c, "upstream = ?", e.getKey(), now.minus(e.getValue()));
                }
            }
            if (!global.isZero()) {
                held += perUpstream.isEmpty() ? purgeHeld(c, "true", null, now.minus(global))
                        : purgeHeld(c, "NOT (upstream = ANY (?))", perUpstream.keySet().toArray(String[]::new),
                        now.minus(global));
            }
            int signIns;
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM approval_session WHERE expires_at <= ?")) {
                ps.setTimestamp(1, Timestamp.from(now));
                signIns = ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM approval_login WHERE created_at <= ?")) {
                ps.setTimestamp(1, Timestamp.from(now.minus(signInKeep)));
                signIns += ps.executeUpdate();
            }
            heldPurged = held;
            signInsRemoved = signIns;
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM evidence_outbox WHERE published_at IS NOT NULL "
                    + "AND published_at < ?")) {
                ps.setTimestamp(1, Timestamp.from(now.minus(outboxKeep)));
                outbox = ps.executeUpdate();
            }
            c.commit();
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("retention could not run");
        }
        if (purged > 0 || keys > 0 || outbox > 0 || heldPurged > 0) {
            LOG.info("retention: {} payloads purged, {} data keys destroyed, {} published outbox rows removed, "
                    + "{} held calls' payloads purged", purged, keys, outbox, heldPurged);
        }
        return new Result(purged, keys, outbox, heldPurged, signInsRemoved);
    }

    /** Runs a purge whose first parameter is the cut-off and whose second, if any, the upstream(s). */
    private static int run(Connection c, PreparedStatement ps, Instant before, Object arg) throws SQLException {
        bind(c, ps, before, arg);
        return ps.executeUpdate();
    }

    private static void bind(Connection c, PreparedStatement ps, Instant before, Object arg) throws SQLException {
        ps.setTimestamp(1, Timestamp.from(before));
        if (arg instanceof String s) {
            ps.setString(2, s);
        } else if (arg instanceof String[] a) {
            ps.setArray(2, c.createArrayOf("text", a));
        }
    }

    /**
     * Purges settled held calls: their payloads, and what they kept of people only to tell an approver from the
     * requester while they were pending (the requester's verified email, actors and identity as their token proved
     * it; each approver's verified email and actors; V36). Subjects, usernames and decisions stay.
     */
    private static int purgeHeld(Connection c, String where, Object arg, Instant before) throws SQLException {
        List<UUID> ids = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("UPDATE approval_request SET request_body = '\\x'::bytea, "
                + "request_headers = '[]', preview = '[purged by retention]', result_body = NULL, result_headers = NULL, "
                + "requester_email = NULL, requester_actors = NULL, identity_json = '{}', "
                + "payload_purged = true WHERE NOT payload_purged AND state IN ('executed', 'failed', 'denied', "
                + "'expired', 'cancelled') AND coalesce(executed_at, decided_at, created_at) < ? AND " + where
                + " RETURNING id")) {
            bind(c, ps, before, arg);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getObject(1, UUID.class));
                }
            }
        }
        if (!ids.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement("UPDATE approval_decision SET approver_email = NULL, "
                    + "approver_actors = NULL WHERE approval_id = ANY (?)")) {
                ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
                ps.executeUpdate();
            }
        }
        return ids.size();
    }

    private static int purge(Connection c, String where, Object arg, Instant before) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_record SET request_body = NULL, response_body "
                + "= NULL, raw_response_body = NULL, payload_purged = true WHERE NOT payload_purged AND state = 'terminal' AND completed_at < ? "
                + "AND " + where)) {
            return run(c, ps, before, arg);
        }
    }
}
