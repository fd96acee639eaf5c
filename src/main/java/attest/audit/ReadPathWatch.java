package attest.audit;

import attest.evidence.chain.ReadPath;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Whether the auditors' reports may be read from the store: the read path they go through (the views, the tables
 * under them, the functions, operators, casts and collations their reads call) is the one the migrations made, as
 * {@link ReadPath} checks it for `attest verify --jdbc` (docs/evidence.md, "What verify trusts of the database"). The
 * check runs on the gateway's own login, at start, then again whenever its last answer is older than
 * {@code maxAge} (on an /audit request or a metric scrape), so that a store changed after a check is served from for at
 * most that long. A check that cannot run, or not in full (the store is down, or this login may not create the
 * temporary views the comparison needs) is not a pass: reports refuse (503) then too. Every answer is kept for
 * {@code maxAge}: the full comparison runs at most once per {@code maxAge}, never once per request.
 */
public final class ReadPathWatch {
    private static final Logger LOG = LoggerFactory.getLogger(ReadPathWatch.class);

    /** What the last check found. */
    public enum Status {
        /** The read path is the migrations' own: reports are served. */
        SERVING,
        /** An object on the read path was changed: reports refuse. */
        CHANGED,
        /** The check could not be run, or not in full: reports refuse. */
        UNCHECKED
    }

    /** A check's answer: its status, what it found (for the operator's log only), and when. */
    public record State(Status status, List<String> findings, Instant at) {
    }

    private final DataSource dataSource;
    private final Duration maxAge;
    private final Clock clock;
    private State last;
    private State logged;

    public ReadPathWatch(DataSource dataSource, Duration maxAge, Clock clock) {
        this.dataSource = dataSource;
        this.maxAge = maxAge;
        this.clock = clock;
    }

    /** The last answer while it is younger than {@code maxAge}, else a new check's. */
    public synchronized State state() {
        Instant now = clock.instant();
        if (last != null && now.isBefore(last.at().plus(maxAge))) {
            return last;
        }
        last = check(now);
        report(last);
        return last;
    }

    /** 1 while reports are withheld (the read path changed, or could not be checked), else 0: for the gauge. */
    public int withheld() {
        return state().status() == Status.SERVING ? 0 : 1;
    }

    private State check(Instant now) {
        try (Connection c = dataSource.getConnection()) {
            boolean auto = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                pin(c);
                ReadPath.Result r = ReadPath.check(c);
                if (!r.faults().isEmpty()) {
                    return new State(Status.CHANGED, r.faults(), now);
                }
                if (!r.unchecked().isEmpty()) {
                    return new State(Status.UNCHECKED, r.unchecked(), now);
                }
                return new State(Status.SERVING, List.of(), now);
            } finally {
                c.rollback();
                c.setAutoCommit(auto);
            }
        } catch (SQLException | RuntimeException e) {
            String state = e instanceof SQLException s ? " (SQLSTATE " + s.getSQLState() + ")" : "";
            return new State(Status.UNCHECKED, List.of("the check could not run" + state), now);
        }
    }

    /**
     * Pins the current transaction (auto-commit off) to the store's own objects: {@code search_path} pg_catalog, then
     * public (so that neither a schema the login's {@code ALTER ROLE ... SET search_path} put first, nor one named
     * after it, changes what a name or operator means), and {@code row_security} off (a policy that would filter a
     * read fails it instead). Both end with the transaction.
     */
    static void pin(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL search_path = pg_catalog, public");
            st.execute("SET LOCAL row_security = off");
        }
    }

    /**
     * A pooled connection in a new transaction {@linkplain #pin pinned} to the store's own objects, for a report's
     * read (the pool rolls the transaction back, and so the settings, when the connection is closed).
     */
    public static Connection pinned(Connection c) throws SQLException {
        try {
            c.setAutoCommit(false);
            pin(c);
            return c;
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Logs each change of answer once: what changed is named for the operator here, never to the caller. */
    private void report(State now) {
        if (logged != null && logged.status() == now.status() && logged.findings().equals(now.findings())) {
            return;
        }
        logged = now;
        switch (now.status()) {
            case SERVING -> LOG.info("audit reports served: the evidence store's read path is the migrations' own");
            case CHANGED -> LOG.error("audit reports withheld (503): the evidence store's read path was changed: {}",
                    String.join("; ", now.findings()));
            case UNCHECKED -> LOG.error("audit reports withheld (503): the evidence store's read path could not be "
                    + "checked: {}", String.join("; ", now.findings()));
            default -> throw new IllegalStateException("unknown status " + now.status());
        }
    }
}
