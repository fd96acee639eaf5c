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
 * {@code maxAge} (on an /audit request or a metric scrape), and, on an /audit request, at once when the catalog rows
 * it read have changed since (a fingerprint of their versions, one catalog query per request): a change is seen by
 * the next request, even one put back before {@code maxAge} ends. A check that cannot run, or not in full (the store
 * is down, or this login may not create the temporary views the comparison needs) is not a pass: reports refuse
 * (503) then too. The full comparison runs at start, once per {@code maxAge}, and after each change of the catalog,
 * never per request.
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
    private String fingerprint;
    private State logged;

    public ReadPathWatch(DataSource dataSource, Duration maxAge, Clock clock) {
        this.dataSource = dataSource;
        this.maxAge = maxAge;
        this.clock = clock;
    }

    /**
     * The last answer while it is younger than {@code maxAge} and the catalog rows it was taken from are unchanged
     * ({@link #FINGERPRINT}, one query), else a new check's.
     */
    public synchronized State state() {
        Instant now = clock.instant();
        String seen;
        try {
            seen = fingerprint();
        } catch (SQLException | RuntimeException e) {
            String state = e instanceof SQLException s ? " (SQLSTATE " + s.getSQLState() + ")" : "";
            last = new State(Status.UNCHECKED, List.of("the catalog could not be read" + state), now);
            fingerprint = null;
            report(last);
            return last;
        }
        if (last != null && seen.equals(fingerprint) && now.isBefore(last.at().plus(maxAge))) {
            return last;
        }
        // taken before the check: a change made while it runs is seen by the next request
        fingerprint = seen;
        last = check(now);
        report(last);
        return last;
    }

    /**
     * Every catalog row a change of the read path rewrites, by id and version ({@code xmin}), digested (SHA-256, not
     * MD5, which a FIPS-mode server refuses): relations outside PostgreSQL's own schemas and the temporary ones, the
     * columns of public's, rewrite rules, policies, and functions, operators and casts that are not PostgreSQL's. Any DDL, a {@code CREATE OR REPLACE VIEW} put back as it was included, writes a
     * new version; statistics ({@code ANALYZE}, vacuum) are written in place and do not. One catalog query, schema-
     * qualified operators only, so that no function or operator of the store's owner takes part in it.
     */
    static final String FINGERPRINT = "SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.string_agg(v, ',' ORDER BY v), "
            + "'UTF8')), 'hex') FROM ("
            + "SELECT 'c' OPERATOR(pg_catalog.||) k.oid::pg_catalog.text OPERATOR(pg_catalog.||) ':' "
            + "OPERATOR(pg_catalog.||) k.xmin::pg_catalog.text AS v FROM pg_catalog.pg_class k "
            + "WHERE k.relnamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace "
            + "AND k.relnamespace OPERATOR(pg_catalog.<>) 'information_schema'::pg_catalog.regnamespace "
            + "AND NOT pg_catalog.pg_is_other_temp_schema(k.relnamespace) "
            + "AND k.relnamespace OPERATOR(pg_catalog.<>) pg_catalog.pg_my_temp_schema() "
            + "UNION ALL SELECT 'a' OPERATOR(pg_catalog.||) a.attrelid::pg_catalog.text OPERATOR(pg_catalog.||) '.' "
            + "OPERATOR(pg_catalog.||) a.attnum::pg_catalog.text OPERATOR(pg_catalog.||) ':' "
            + "OPERATOR(pg_catalog.||) a.xmin::pg_catalog.text FROM pg_catalog.pg_attribute a "
            + "JOIN pg_catalog.pg_class k ON k.oid OPERATOR(pg_catalog.=) a.attrelid "
            + "WHERE k.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace "
            + "UNION ALL SELECT 'r' OPERATOR(pg_catalog.||) r.oid::pg_catalog.text OPERATOR(pg_catalog.||) ':' "
            + "OPERATOR(pg_catalog.||) r.xmin::pg_catalog.text FROM pg_catalog.pg_rewrite r "
            + "WHERE r.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid "
            + "UNION ALL SELECT 'y' OPERATOR(pg_catalog.||) y.oid::pg_catalog.text OPERATOR(pg_catalog.||) ':' "
            + "OPERATOR(pg_catalog.||) y.xmin::pg_catalog.text FROM pg_catalog.pg_policy y "
            + "UNION ALL SELECT 'p' OPERATOR(pg_catalog.||) p.oid::pg_catalog.text OPERATOR(pg_catalog.||) ':' "
            + "OPERATOR(pg_catalog.||) p.xmin::pg_catalog.text FROM pg_catalog.pg_proc p "
            + "WHERE p.pronamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace "
            + "UNION ALL SELECT 'o' OPERATOR(pg_catalog.||) o.oid::pg_catalog.text OPERATOR(pg_catalog.||) ':' "
            + "OPERATOR(pg_catalog.||) o.xmin::pg_catalog.text FROM pg_catalog.pg_operator o "
            + "WHERE o.oprnamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace "
            + "UNION ALL SELECT 'k' OPERATOR(pg_catalog.||) x.oid::pg_catalog.text OPERATOR(pg_catalog.||) ':' "
            + "OPERATOR(pg_catalog.||) x.xmin::pg_catalog.text FROM pg_catalog.pg_cast x "
            + "WHERE x.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid) f";

    private String fingerprint() throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery(FINGERPRINT)) {
            rs.next();
            return String.valueOf(rs.getString(1));
        }
    }

    /**
     * 1 while reports are withheld (the read path changed, or could not be checked), else 0: for the gauge. The scrape
     * needs no token, so it reads the store at most once per {@code maxAge} (the last answer while it is younger),
     * never once per scrape.
     */
    public int withheld() {
        State known;
        synchronized (this) {
            known = last != null && clock.instant().isBefore(last.at().plus(maxAge)) ? last : null;
        }
        return (known != null ? known : state()).status() == Status.SERVING ? 0 : 1;
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
