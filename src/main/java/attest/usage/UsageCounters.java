package attest.usage;

import attest.evidence.EvidenceUnavailableException;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Budgets and limits counted in PostgreSQL, shared by every replica (table {@code usage_counter}). Admission is
 * one transaction: each request limit is taken by a conditional upsert that only counts while under the limit
 * ({@code ... ON CONFLICT DO UPDATE ... WHERE used < max RETURNING used}, which row-locks the counter), and each
 * token or cost budget is read; the first one exhausted rolls everything back and refuses. Tokens and cost are
 * added when the answer's usage is known, so a call that crosses a budget finishes and the next one is refused.
 * The store down means no admission (503), never "unlimited".
 *
 * <p>A large request limit is not worth a transaction per call: a limit of {@value #CHUNK_DIVISOR} or more per
 * window is taken from the shared counter in chunks of up to 1% of it (at most {@value #MAX_CHUNK}), and this
 * replica admits from its chunk without a round trip until the chunk is spent. The counter is only ever raised
 * while under the limit, so a chunk never lets the replicas together admit more than the limit; what a replica
 * holds unspent when the window ends is lost, so they may refuse up to one chunk per replica early. Smaller limits
 * are counted one request at a time, exactly. Budgets (tokens, cost) are always read from the store.
 */
public final class UsageCounters {
    /** Why a call is refused: the limit, and when it resets. */
    public record Refusal(Limit limit, Instant resetsAt, long retryAfterSeconds) {
    }

    /** Limits of at least this many requests per window are taken in chunks of max / this. */
    static final long CHUNK_DIVISOR = 100;
    /** The largest chunk one replica takes ahead. */
    static final long MAX_CHUNK = 64;

    private final DataSource dataSource;
    private final Clock clock;
    /** Requests this replica took ahead, per counter (scope, metric, period) and window; guarded by itself. */
    private final java.util.Map<String, Ahead> ahead = new java.util.HashMap<>();

    private record Ahead(Instant windowStart, long left) {
    }

    public UsageCounters(DataSource dataSource, Clock clock) {
        this.dataSource = dataSource;
        this.clock = clock;
    }

    /** Takes one request from every request limit and checks every budget; empty when the call may go. */
    public Optional<Refusal> admit(List<Limit> limits) {
        if (limits.isEmpty()) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        if (takeAhead(limits, now)) {
            return Optional.empty();
        }
        // one order for every transaction, so that two calls taking the same counters never deadlock
        List<Limit> ordered = limits.stream().sorted(java.util.Comparator.comparing(Limit::scope)
                .thenComparing(Limit::metric).thenComparing(Limit::period)).toList();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                long[] taken = new long[ordered.size()];
                for (int i = 0; i < ordered.size(); i++) {
                    Limit l = ordered.get(i);
                    taken[i] = l.countsRequests() ? take(c, l, now) : below(c, l, now) ? 1 : 0;
                    if (taken[i] == 0) {
                        c.rollback();
                        Instant end = l.windowEnd(now);
                        long retry = Math.max(1, (Duration.between(now, end).toMillis() + 999) / 1000);
                        return Optional.of(new Refusal(l, end, retry));
                    }
                }
                c.commit();
                for (int i = 0; i < ordered.size(); i++) {
                    if (ordered.get(i).countsRequests() && taken[i] > 1) {
                        keepAhead(ordered.get(i), now, taken[i] - 1); // this call used one of them
                    }
                }
                return Optional.empty();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("usage counters unavailable");
        }
    }

    /** Adds a call's tokens and cost to its token and cost budgets and limits (request limits are left alone). */
    public void charge(List<Limit> limits, long tokens, long costMicros) {
        Instant now = clock.instant();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                for (Limit l : limits.stream().sorted(java.util.Comparator.comparing(Limit::scope)
                        .thenComparing(Limit::metric).thenComparing(Limit::period)).toList()) {
                    long n = Limit.TOKENS.equals(l.metric()) ? tokens : Limit.COST.equals(l.metric()) ? costMicros : 0;
                    if (n > 0) {
                        add(c, l, now, n);
                    }
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("usage counters unavailable");
        }
    }

    /** What a counter holds now (for reports and tests). */
    public long used(Limit l) {
        Instant now = clock.instant();
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT used FROM usage_counter WHERE scope = ? AND metric = ? "
                     + "AND period = ? AND window_start = ?")) {
            bind(ps, l, now);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("usage counters unavailable");
        }
    }

    /** How many requests of this limit one transaction takes: 1, or a chunk of a large limit. */
    static long chunk(Limit l) {
        return l.max() < CHUNK_DIVISOR ? 1 : Math.min(MAX_CHUNK, l.max() / CHUNK_DIVISOR);
    }

    /**
     * Whether {@link #admit} would admit a call with these limits from what this replica took ahead, without the
     * store (a peek: nothing is taken). Another thread may take the last one meanwhile; then admit reads the store.
     */
    public boolean takenAhead(List<Limit> limits) {
        if (limits.isEmpty()) {
            return true;
        }
        Instant now = clock.instant();
        synchronized (ahead) {
            return allTakenAhead(limits, now);
        }
    }

    /** Whether every limit is a request limit that this replica has at least one request of, in its window. */
    private boolean allTakenAhead(List<Limit> limits, Instant now) {
        for (Limit l : limits) {
            if (!l.countsRequests() || chunk(l) == 1) {
                return false;
            }
        }
        for (Limit l : limits) {
            Ahead a = ahead.get(key(l));
            if (a == null || a.left() < 1 || !a.windowStart().equals(l.windowStart(now))) {
                return false;
            }
        }
        return true;
    }

    /** Admits a call from what this replica took ahead, when every limit is a request limit and has some. */
    private boolean takeAhead(List<Limit> limits, Instant now) {
        synchronized (ahead) {
            if (!allTakenAhead(limits, now)) {
                return false;
            }
            for (Limit l : limits) {
                Ahead a = ahead.get(key(l));
                ahead.put(key(l), new Ahead(a.windowStart(), a.left() - 1));
            }
            return true;
        }
    }

    private void keepAhead(Limit l, Instant now, long n) {
        synchronized (ahead) {
            Instant start = l.windowStart(now);
            Ahead a = ahead.get(key(l));
            ahead.put(key(l), new Ahead(start, a != null && a.windowStart().equals(start) ? a.left() + n : n));
        }
    }

    private static String key(Limit l) {
        return l.scope() + '\n' + l.metric() + '\n' + l.period();
    }

    /** Takes a chunk (or one) from a request limit while under it; how many were taken, 0 when exhausted. */
    private static long take(Connection c, Limit l, Instant now) throws SQLException {
        if (l.max() <= 0) {
            return 0;
        }
        long n = chunk(l);
        if (n > 1 && takeN(c, l, now, n)) {
            return n;
        }
        return takeN(c, l, now, 1) ? 1 : 0;
    }

    private static boolean takeN(Connection c, Limit l, Instant now, long n) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO usage_counter AS u (scope, metric, period, "
                + "window_start, window_end, used) VALUES (?,?,?,?,?,?) ON CONFLICT (scope, metric, period, window_start) "
                + "DO UPDATE SET used = u.used + EXCLUDED.used WHERE u.used + EXCLUDED.used <= ? RETURNING used")) {
            bind(ps, l, now);
            ps.setTimestamp(5, Timestamp.from(l.windowEnd(now)));
            ps.setLong(6, n);
            ps.setLong(7, l.max());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static boolean below(Connection c, Limit l, Instant now) throws SQLException {
        if (l.max() <= 0) {
            return false;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT used FROM usage_counter WHERE scope = ? AND metric = ? "
                + "AND period = ? AND window_start = ?")) {
            bind(ps, l, now);
            try (ResultSet rs = ps.executeQuery()) {
                return !rs.next() || rs.getLong(1) < l.max();
            }
        }
    }

    private static void add(Connection c, Limit l, Instant now, long n) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO usage_counter AS u (scope, metric, period, "
                + "window_start, window_end, used) VALUES (?,?,?,?,?,?) ON CONFLICT (scope, metric, period, window_start) "
                + "DO UPDATE SET used = u.used + EXCLUDED.used")) {
            bind(ps, l, now);
            ps.setTimestamp(5, Timestamp.from(l.windowEnd(now)));
            ps.setLong(6, n);
            ps.executeUpdate();
        }
    }

    private static void bind(PreparedStatement ps, Limit l, Instant now) throws SQLException {
        ps.setString(1, l.scope());
        ps.setString(2, l.metric());
        ps.setString(3, l.period());
        ps.setTimestamp(4, Timestamp.from(l.windowStart(now)));
    }

    /** Removes counters whose window ended more than a day ago (they decide nothing any more). */
    public int prune() {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("DELETE FROM usage_counter WHERE window_end < ?")) {
            ps.setTimestamp(1, Timestamp.from(clock.instant().minus(Duration.ofDays(1))));
            return ps.executeUpdate();
        } catch (SQLException e) {
            return 0;
        }
    }
}
