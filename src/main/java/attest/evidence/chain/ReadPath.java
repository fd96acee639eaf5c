package attest.evidence.chain;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How `attest verify --jdbc` reads the store, checked against what the migrations made (docs/evidence.md, "What
 * verify trusts of the database"). The store's owner can rewrite every row, and also how the rows are read: replace
 * a view (a WHERE that hides rows, a CASE that shows old values), hide rows behind row-level security, put a view or a
 * rule in a table's place, shadow a function, an operator or a cast that a view calls, change a column's collation, or
 * point the auditors' login at look-alike objects through its search_path. Each of these is a {@code read_path_changed}
 * fault here. The gateway's /audit reports refuse while it finds one (attest.audit.ReadPathWatch).
 * <p>
 * What is expected comes from the verifier itself, never from the store: each view's definition is what the
 * migrations in this jar say, deparsed by the server being verified (the same text, created as a temporary view in a
 * transaction that is rolled back, so that the comparison does not depend on the server's version or formatting), and
 * the rest is fixed here: ordinary tables, no row-level security, no rule but a view's own, no type that is not
 * PostgreSQL's, no function, operator or cast that wins over PostgreSQL's own.
 * <p>
 * Every name in the statements below is qualified, and every operator is {@code OPERATOR(pg_catalog.x)}, so that
 * what this class reads does not depend on the search path it checks.
 */
public final class ReadPath {
    /** The tables verify reads, or that the views it compares read. */
    static final List<String> TABLES = List.of("evidence_chain", "evidence_chain_head", "evidence_checkpoint",
            "evidence_instance", "evidence_record", "approval_request", "approval_decision", "api_key",
            "refusal_summary");

    /**
     * The migrations that create views, in order; {@code ReadPathMigrationsTest} fails when a migration that creates
     * or replaces a view is not listed here.
     */
    static final List<String> VIEW_MIGRATIONS = List.of("V5__audit_views.sql", "V18__token_usage.sql",
            "V25__audit_record_columns.sql", "V28__audit_record_columns_all.sql", "V29__audit_key_columns.sql",
            "V30__audit_refusal_summary_columns.sql", "V31__audit_key_columns_secret.sql");

    private static final Pattern CREATE_VIEW = Pattern.compile(
            "CREATE\\s+(?:OR\\s+REPLACE\\s+)?VIEW\\s+(\\w+)\\s+AS\\s+([^;]*);", Pattern.CASE_INSENSITIVE);
    private static final String PUBLIC = "'public'::pg_catalog.regnamespace";
    private static final String CATALOG = "'pg_catalog'::pg_catalog.regnamespace";

    /** What was found: faults, and the objects that could not be checked (then the report cannot say VALID). */
    public record Result(List<String> faults, List<String> unchecked) {
    }

    private ReadPath() {
    }

    /**
     * Every definition the migrations gave each view, in migration order (an older one is accepted too: a store
     * migrated by an older release, whose view then lacks columns that verify reads, is unreadable, not tampered).
     */
    static Map<String, List<String>> expectedViews() {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String file : VIEW_MIGRATIONS) {
            String sql;
            try (InputStream in = ReadPath.class.getClassLoader().getResourceAsStream("db/migration/" + file)) {
                if (in == null) {
                    throw new IllegalStateException("migration " + file + " is not on the class path");
                }
                sql = new String(in.readAllBytes(), StandardCharsets.UTF_8).replaceAll("--[^\\n]*", "");
            } catch (IOException e) {
                throw new IllegalStateException("cannot read migration " + file, e);
            }
            Matcher m = CREATE_VIEW.matcher(sql);
            while (m.find()) {
                out.computeIfAbsent(m.group(1).toLowerCase(java.util.Locale.ROOT), k -> new ArrayList<>())
                        .add(m.group(2).strip());
            }
        }
        return out;
    }

    /** Every name whose objects are checked: the tables and the views. */
    static Set<String> names() {
        Set<String> out = new TreeSet<>(TABLES);
        out.addAll(expectedViews().keySet());
        return out;
    }

    /**
     * The catalog checks and the views' definitions. Needs a transaction that may create temporary views (rolled
     * back): a session on a hot standby, or a login without the TEMPORARY privilege, leaves the views unchecked.
     */
    public static Result check(Connection c) throws SQLException {
        return check(c, true);
    }

    /**
     * The same, with {@code views} false without the views' definitions (an export reads no view, and needs no
     * temporary one): then nothing is left unchecked.
     */
    static Result check(Connection c, boolean views) throws SQLException {
        List<String> faults = new ArrayList<>();
        List<String> unchecked = new ArrayList<>();
        Map<String, List<String>> expected = expectedViews();
        Map<String, Long> viewOids = new LinkedHashMap<>();
        relations(c, expected.keySet(), viewOids, faults);
        lookAlikes(c, faults);
        types(c, faults);
        collations(c, faults);
        shadows(c, faults);
        if (views) {
            definitions(c, expected, viewOids, faults, unchecked);
        }
        return new Result(faults, unchecked);
    }

    private static String fault(String name, String why) {
        return "store object public." + name + ": read_path_changed (" + why + ")";
    }

    /** Kinds, row-level security, rules, inheritance and options of every relation in schema public. */
    private static void relations(Connection c, Set<String> views, Map<String, Long> viewOids, List<String> faults)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT k.relname::pg_catalog.text, k.relkind::pg_catalog.text, "
                + "k.relrowsecurity, k.relforcerowsecurity, k.reloptions IS NOT NULL, k.relhassubclass, "
                + "k.oid::pg_catalog.int8, (SELECT pg_catalog.string_agg(r.rulename::pg_catalog.text, ',') "
                + "FROM pg_catalog.pg_rewrite r WHERE r.ev_class OPERATOR(pg_catalog.=) k.oid "
                + "AND r.rulename OPERATOR(pg_catalog.<>) '_RETURN'::pg_catalog.name) "
                + "FROM pg_catalog.pg_class k WHERE k.relnamespace OPERATOR(pg_catalog.=) " + PUBLIC);
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String name = rs.getString(1);
                String kind = rs.getString(2);
                if (rs.getBoolean(3) || rs.getBoolean(4)) {
                    faults.add(fault(name, "row-level security is enabled on it: a policy can hide rows from some "
                            + "logins"));
                }
                if (rs.getString(8) != null) {
                    faults.add(fault(name, "it has rules (" + rs.getString(8) + "): a rule can change what is read "
                            + "or written"));
                }
                if (TABLES.contains(name)) {
                    if (!"r".equals(kind)) {
                        faults.add(fault(name, "it is no longer an ordinary table (relkind " + kind + ")"));
                    } else if (rs.getBoolean(6)) {
                        faults.add(fault(name, "other tables inherit from it: their rows are read as its own"));
                    }
                } else if (views.contains(name)) {
                    if (!"v".equals(kind)) {
                        faults.add(fault(name, "it is no longer a view (relkind " + kind + ")"));
                    } else {
                        viewOids.put(name, rs.getLong(7));
                        if (rs.getBoolean(5)) {
                            faults.add(fault(name, "the view has options (security_invoker, security_barrier, "
                                    + "check_option) that the migrations did not give it"));
                        }
                    }
                }
            }
        }
    }

    /**
     * A relation named as one of the store's in another schema: a login whose search path (as the owner may set it,
     * {@code ALTER ROLE ... SET search_path}, or a schema named after the login, {@code "$user"}) puts that schema
     * before public reads the look-alike, in its reports and its tools. Verify itself reads public's, by name.
     */
    private static void lookAlikes(Connection c, List<String> faults) throws SQLException {
        Set<String> names = names();
        try (PreparedStatement ps = c.prepareStatement("SELECT n.nspname::pg_catalog.text, k.relname::pg_catalog.text "
                + "FROM pg_catalog.pg_class k JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) "
                + "k.relnamespace WHERE k.relnamespace OPERATOR(pg_catalog.<>) " + PUBLIC
                + " AND k.relnamespace OPERATOR(pg_catalog.<>) " + CATALOG
                + " AND NOT pg_catalog.pg_is_other_temp_schema(k.relnamespace) "
                + "AND k.relnamespace OPERATOR(pg_catalog.<>) pg_catalog.pg_my_temp_schema()");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                if (names.contains(rs.getString(2))) {
                    faults.add("store object " + rs.getString(1) + "." + rs.getString(2) + ": read_path_changed (a "
                            + "look-alike of public." + rs.getString(2) + ": a login whose search_path names schema "
                            + rs.getString(1) + " first reads it instead)");
                }
            }
        }
    }

    /** A column of a checked relation whose type is not PostgreSQL's own (its output function could lie). */
    private static void types(Connection c, List<String> faults) throws SQLException {
        Set<String> names = names();
        try (PreparedStatement ps = c.prepareStatement("SELECT k.relname::pg_catalog.text, a.attname::pg_catalog.text, "
                + "t.oid::pg_catalog.regtype::pg_catalog.text FROM pg_catalog.pg_attribute a "
                + "JOIN pg_catalog.pg_class k ON k.oid OPERATOR(pg_catalog.=) a.attrelid "
                + "JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid "
                + "WHERE k.relnamespace OPERATOR(pg_catalog.=) " + PUBLIC + " AND a.attnum OPERATOR(pg_catalog.>) 0 "
                + "AND NOT a.attisdropped AND t.typnamespace OPERATOR(pg_catalog.<>) " + CATALOG);
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                if (names.contains(rs.getString(1))) {
                    faults.add(fault(rs.getString(1), "column " + rs.getString(2) + " is of type " + rs.getString(3)
                            + ", not one of PostgreSQL's own"));
                }
            }
        }
    }

    /**
     * A column of a checked relation whose collation is not its type's default (the migrations give none): a
     * case-insensitive, non-deterministic collation makes {@code identity = 'alice'} match {@code 'ALICE'} too, and a
     * report grouped by subject merge two subjects into one, although no row changed.
     */
    private static void collations(Connection c, List<String> faults) throws SQLException {
        Set<String> names = names();
        try (PreparedStatement ps = c.prepareStatement("SELECT k.relname::pg_catalog.text, a.attname::pg_catalog.text, "
                + "l.collname::pg_catalog.text FROM pg_catalog.pg_attribute a "
                + "JOIN pg_catalog.pg_class k ON k.oid OPERATOR(pg_catalog.=) a.attrelid "
                + "JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid "
                + "JOIN pg_catalog.pg_collation l ON l.oid OPERATOR(pg_catalog.=) a.attcollation "
                + "WHERE k.relnamespace OPERATOR(pg_catalog.=) " + PUBLIC + " AND a.attnum OPERATOR(pg_catalog.>) 0 "
                + "AND NOT a.attisdropped AND a.attcollation OPERATOR(pg_catalog.<>) t.typcollation");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                if (names.contains(rs.getString(1))) {
                    faults.add(fault(rs.getString(1), "column " + rs.getString(2) + " has collation "
                            + rs.getString(3) + ", not its type's default: equal and grouped values can differ"));
                }
            }
        }
    }

    /**
     * Functions and operators in public that share a name with one of PostgreSQL's and are not an exact twin of it: a
     * call that a view or verify makes without a schema can resolve to them (a better match for its arguments' types)
     * although pg_catalog comes first on the path. And casts between PostgreSQL's own types that are not PostgreSQL's
     * (a {@code ::text} would call them).
     */
    private static void shadows(Connection c, List<String> faults) throws SQLException {
        // public only: verify's path is pg_catalog, public, and a view bound to a function of another schema deparses
        // with that schema's name, which the definitions' comparison finds
        String inPublic = " OPERATOR(pg_catalog.=) " + PUBLIC;
        String[][] checks = {
                {"a function", "SELECT p.oid::pg_catalog.regprocedure::pg_catalog.text FROM pg_catalog.pg_proc p "
                        + "WHERE p.pronamespace" + inPublic
                        + " AND EXISTS (SELECT 1 FROM pg_catalog.pg_proc q "
                        + "WHERE q.pronamespace OPERATOR(pg_catalog.=) " + CATALOG
                        + " AND q.proname OPERATOR(pg_catalog.=) p.proname) AND NOT EXISTS (SELECT 1 "
                        + "FROM pg_catalog.pg_proc q WHERE q.pronamespace OPERATOR(pg_catalog.=) " + CATALOG
                        + " AND q.proname OPERATOR(pg_catalog.=) p.proname "
                        + "AND q.proargtypes OPERATOR(pg_catalog.=) p.proargtypes)"},
                {"an operator", "SELECT o.oid::pg_catalog.regoperator::pg_catalog.text FROM pg_catalog.pg_operator o "
                        + "WHERE o.oprnamespace" + inPublic
                        + " AND EXISTS (SELECT 1 FROM pg_catalog.pg_operator q "
                        + "WHERE q.oprnamespace OPERATOR(pg_catalog.=) " + CATALOG
                        + " AND q.oprname OPERATOR(pg_catalog.=) o.oprname) AND NOT EXISTS (SELECT 1 "
                        + "FROM pg_catalog.pg_operator q WHERE q.oprnamespace OPERATOR(pg_catalog.=) " + CATALOG
                        + " AND q.oprname OPERATOR(pg_catalog.=) o.oprname "
                        + "AND q.oprleft OPERATOR(pg_catalog.=) o.oprleft "
                        + "AND q.oprright OPERATOR(pg_catalog.=) o.oprright)"},
                {"a cast", "SELECT k.castsource::pg_catalog.regtype::pg_catalog.text OPERATOR(pg_catalog.||) ' AS ' "
                        + "OPERATOR(pg_catalog.||) k.casttarget::pg_catalog.regtype::pg_catalog.text "
                        + "FROM pg_catalog.pg_cast k JOIN pg_catalog.pg_type s ON s.oid OPERATOR(pg_catalog.=) "
                        + "k.castsource JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) k.casttarget "
                        + "WHERE k.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid "
                        + "AND s.typnamespace OPERATOR(pg_catalog.=) " + CATALOG
                        + " AND t.typnamespace OPERATOR(pg_catalog.=) " + CATALOG}};
        for (String[] check : checks) {
            try (PreparedStatement ps = c.prepareStatement(check[1]); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    faults.add("store object " + rs.getString(1) + ": read_path_changed (" + check[0]
                            + " that is not PostgreSQL's own takes the place of PostgreSQL's in what a view or "
                            + "verify calls)");
                }
            }
        }
    }

    /**
     * Each view's definition as the server deparses it, against the migrations' text for it deparsed by the same
     * server: created as a temporary view in a transaction that is always rolled back.
     */
    private static void definitions(Connection c, Map<String, List<String>> views, Map<String, Long> oids,
                                    List<String> faults, List<String> unchecked) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement();
             PreparedStatement def = c.prepareStatement("SELECT pg_catalog.pg_get_viewdef(?::pg_catalog.oid)")) {
            try {
                st.execute("SET TRANSACTION READ WRITE");
            } catch (SQLException e) {
                unchecked.add("the views' definitions (this session cannot create temporary views: "
                        + e.getSQLState() + ")");
                return;
            }
            for (Map.Entry<String, Long> view : oids.entrySet()) {
                def.setLong(1, view.getValue());
                String actual;
                try (ResultSet rs = def.executeQuery()) {
                    rs.next();
                    actual = rs.getString(1);
                }
                boolean created = false;
                boolean matched = false;
                String refused = null;
                for (String body : views.get(view.getKey())) {
                    st.execute("SAVEPOINT attest_expected");
                    try {
                        st.execute("CREATE TEMPORARY VIEW attest_expected_view AS " + body);
                        created = true;
                        // a new statement each time: a prepared one could keep the first temporary view's oid
                        try (ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_get_viewdef("
                                + "'pg_temp.attest_expected_view'::pg_catalog.regclass)")) {
                            rs.next();
                            matched |= rs.getString(1).equals(actual);
                        }
                    } catch (SQLException e) {
                        // the migration's text does not apply to this store (a column it names is absent), or this
                        // login may not create temporary views: not this definition
                        refused = e.getSQLState() + " " + e.getMessage();
                    }
                    st.execute("ROLLBACK TO SAVEPOINT attest_expected");
                }
                if (!created) {
                    unchecked.add("public." + view.getKey() + " (no definition of the migrations could be created as a "
                            + "temporary view to compare with: " + refused + ")");
                } else if (!matched) {
                    faults.add(fault(view.getKey(), "its definition is not one that the migrations wrote"));
                }
            }
        } finally {
            c.rollback();
            c.setAutoCommit(auto);
        }
    }
}
