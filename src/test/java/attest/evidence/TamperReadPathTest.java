package attest.evidence;

import attest.evidence.chain.Verifier;
import attest.keys.KeyStore;
import attest.usage.Budget;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The owner changes not the rows but how they are read: a view replaced (a WHERE that hides rows, a CASE that shows
 * the old value), row-level security, a table renamed and a view put in its place, a function or a cast that wins
 * over PostgreSQL's own, a look-alike for the auditors' search_path, a rule. Each is paired, where it can be, with the
 * change to the rows it hides; `attest verify --jdbc` must not say VALID, and must name the object
 * ({@code read_path_changed}). The tests share one database: each puts back what it changed.
 */
class TamperReadPathTest extends TamperBase {
    static final String CHAIN = "t-read";
    static final String KEYS = "t-read-keys";
    /** A chain whose call's record the owner deletes, then hides the whole chain from the auditors. */
    static final String HIDDEN = "t-read-hidden";
    static final List<String> CHAIN_TABLES = List.of("evidence_chain", "evidence_checkpoint", "evidence_chain_head",
            "evidence_instance");
    static boolean written;
    static UUID alice;
    static UUID hiddenCall;

    @BeforeEach
    void storeWrittenByTheGateway() throws Exception {
        if (written) {
            return;
        }
        alice = completedCall(CHAIN, "alice-sub", "alice").getId();
        KeyStore keys = new KeyStore(db.dataSource(), KEYS, "attest.evidence.v1", Clock.systemUTC());
        UUID key = keys.create(new KeyStore.Draft("ci-read", "bob-sub", "bob", "user", "portal", List.of("llm"),
                List.of(), Budget.NONE, Instant.now().plus(30, ChronoUnit.DAYS)), "bob-sub").key().id();
        assertThat(keys.revoke(key, "admin-sub")).isTrue();
        anchor(CHAIN);
        anchor(KEYS);
        writer.close();
        hiddenCall = completedCall(HIDDEN, "carol-sub", "carol").getId();
        anchor(HIDDEN);
        written = true;
    }

    static String viewdef(String view) throws Exception {
        String def = oneAsOwner("SELECT pg_get_viewdef('public." + view + "'::regclass)").strip();
        return def.endsWith(";") ? def.substring(0, def.length() - 1) : def;
    }

    static String replace(String view, String def) {
        return "CREATE OR REPLACE VIEW public." + view + " AS " + def;
    }

    /** Keeps a record's row in read_backup. */
    static String backup(UUID record) {
        return "DROP TABLE IF EXISTS read_backup; CREATE TABLE read_backup AS SELECT * FROM evidence_record "
                + "WHERE id = '" + record + "'";
    }

    /** Puts back the row {@link #backup} kept. */
    static String restore(UUID record) {
        return "DELETE FROM evidence_record WHERE id = '" + record + "'; INSERT INTO evidence_record SELECT * FROM "
                + "read_backup; DROP TABLE read_backup";
    }

    /** Not VALID for either login, and a read_path_changed fault that names the object, in the auditors' report. */
    static void assertReadPathChanged(String what, String object) throws Exception {
        assertNotValidAfter(what);
        for (Verifier.Report r : List.of(verifyAsAuditor(), verifyAsOwner())) {
            assertThat(r.faults()).as(what + ": " + r.summary() + " " + r.faults() + " " + r.notes())
                    .anyMatch(f -> f.contains("read_path_changed") && f.contains(object));
        }
    }

    @Test
    void should_verify_a_store_read_as_migrated() throws Exception {
        for (Verifier.Report r : List.of(verifyAsAuditor(), verifyAsOwner())) {
            assertThat(r.faults()).as(r.summary()).noneMatch(f -> f.contains("read_path"));
            assertThat(r.notes()).as(r.summary()).noneMatch(n -> n.contains("read path"));
        }
        assertCleanBefore();
    }

    @Test
    void should_not_verify_a_record_view_that_shows_a_changed_row_as_it_was() throws Exception {
        assertCleanBefore();
        String def = viewdef("audit_record_columns");
        assertThat(def).containsOnlyOnce("evidence_record.username,");
        dba(backup(alice), "UPDATE evidence_record SET username = 'mallory' WHERE id = '" + alice + "'",
                replace("audit_record_columns", def.replace("evidence_record.username,", "CASE WHEN "
                        + "evidence_record.id = '" + alice + "'::uuid THEN 'alice'::text ELSE evidence_record.username "
                        + "END AS username,")));
        try {
            assertThat(oneAsOwner("SELECT username FROM evidence_record WHERE id = '" + alice + "'"))
                    .isEqualTo("mallory");
            assertThat(one("SELECT username FROM audit_record_columns WHERE id = '" + alice + "'")).isEqualTo("alice");
            assertReadPathChanged("audit_record_columns shows the row as it was", "public.audit_record_columns");
        } finally {
            dba(replace("audit_record_columns", def), restore(alice));
        }
    }

    @Test
    void should_not_verify_a_key_view_that_hides_a_key_inserted_behind_the_chain() throws Exception {
        assertCleanBefore();
        String def = viewdef("audit_key_columns");
        dba("INSERT INTO api_key (id, secret_sha256, hint, name, owner_subject, principal_type, created_at, "
                        + "created_by, expires_at) VALUES (gen_random_uuid(), '\\x01', 'abcd', 'backdoor', "
                        + "'mallory-sub', 'user', now(), 'mallory-sub', now() + interval '10 years')",
                replace("audit_key_columns", def + " WHERE api_key.name <> 'backdoor'::text"));
        try {
            assertThat(one("SELECT count(*) FROM audit_key_columns WHERE name = 'backdoor'")).isEqualTo("0");
            assertReadPathChanged("audit_key_columns hides a key", "public.audit_key_columns");
        } finally {
            dba(replace("audit_key_columns", def), "DELETE FROM api_key WHERE name = 'backdoor'");
        }
    }

    /**
     * A column given another collation (a non-deterministic one would make equal what is not; the views, re-created
     * with the same text, deparse the same): a column no view depends on, so that none need be re-created here.
     */
    @Test
    void should_not_verify_a_column_whose_collation_was_changed() throws Exception {
        assertCleanBefore();
        dba("ALTER TABLE evidence_instance ALTER COLUMN key_id TYPE text COLLATE \"C\"");
        try {
            assertReadPathChanged("evidence_instance.key_id collated C", "public.evidence_instance");
        } finally {
            dba("ALTER TABLE evidence_instance ALTER COLUMN key_id TYPE text COLLATE \"default\"");
        }
    }

    /** Every view the migrations made, reports and verify's alike, returning no row at all. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"audit_access", "audit_denials", "audit_approvals", "audit_redactions",
            "audit_completeness", "audit_record_columns", "audit_key_columns", "audit_refusal_summary_columns",
            "usage_records", "usage_daily"})
    void should_not_verify_a_view_that_hides_every_row(String view) throws Exception {
        assertCleanBefore();
        String def = viewdef(view);
        dba(replace(view, def + " LIMIT 0"));
        try {
            assertReadPathChanged(view + " hides every row", "public." + view);
        } finally {
            dba(replace(view, def));
        }
    }

    @Test
    void should_not_verify_a_view_given_options() throws Exception {
        assertCleanBefore();
        dba("ALTER VIEW audit_access SET (security_barrier = true)");
        try {
            assertReadPathChanged("a view's options", "public.audit_access");
        } finally {
            dba("ALTER VIEW audit_access RESET (security_barrier)");
        }
    }

    static final Function<String, List<String>> POLICY = t -> List.of("ALTER TABLE " + t + " ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY hide ON " + t + " FOR SELECT USING (chain_id <> '" + HIDDEN + "')");
    static final Function<String, List<String>> NO_POLICY = t -> List.of("DROP POLICY hide ON " + t,
            "ALTER TABLE " + t + " DISABLE ROW LEVEL SECURITY");

    @Test
    void should_not_verify_a_chain_hidden_from_the_auditors_by_row_level_security() throws Exception {
        hideTheChain(POLICY, NO_POLICY, () -> assertReadPathChanged("a chain hidden by row-level security",
                "public.evidence_chain"));
    }

    /** The auditors' export left the hidden chain out, and said nothing. */
    @Test
    void should_not_export_a_chain_hidden_from_the_auditors_by_row_level_security() throws Exception {
        java.nio.file.Path out = dir.resolve("read-path-export");
        hideTheChain(POLICY, NO_POLICY, () -> {
            try (java.sql.Connection c = AuditorRecordCheckTest.auditor()) {
                assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> attest.evidence.chain.Export.write(c,
                        Instant.EPOCH, Instant.now(), List.of(signer().publicKey()), out)))
                        .as("the export, without the hidden chain").isNotNull()
                        .hasMessageContaining("read_path_changed").hasMessageContaining("public.evidence_chain");
            }
        });
    }

    interface Check {
        void run() throws Exception;
    }

    /**
     * The owner deletes the hidden chain's call record, then hides the chain from the auditors, table by table
     * ({@code hide}; {@code unhide} puts it back), then runs {@code check}: the auditors' verify saw neither, and said
     * VALID.
     */
    static void hideTheChain(Function<String, List<String>> hide, Function<String, List<String>> unhide, Check check)
            throws Exception {
        assertCleanBefore();
        List<String> tamper = new ArrayList<>(List.of(backup(hiddenCall),
                "DELETE FROM evidence_record WHERE id = '" + hiddenCall + "'"));
        List<String> undo = new ArrayList<>();
        for (String t : CHAIN_TABLES) {
            tamper.addAll(hide.apply(t));
            undo.addAll(unhide.apply(t));
        }
        undo.add(restore(hiddenCall));
        dba(tamper.toArray(String[]::new));
        try {
            assertThat(one("SELECT count(*) FROM evidence_chain WHERE chain_id = '" + HIDDEN + "'")).isEqualTo("0");
            check.run();
        } finally {
            dba(undo.toArray(String[]::new));
        }
    }

    /** Row-level security forced on a table under the views: it binds their owner too, where it is no superuser. */
    @Test
    void should_not_verify_row_level_security_on_a_table_under_the_views() throws Exception {
        assertCleanBefore();
        dba("ALTER TABLE evidence_record ENABLE ROW LEVEL SECURITY",
                "ALTER TABLE evidence_record FORCE ROW LEVEL SECURITY",
                "CREATE POLICY hide ON evidence_record FOR SELECT USING (username IS DISTINCT FROM 'mallory')");
        try {
            assertReadPathChanged("row-level security on evidence_record", "public.evidence_record");
        } finally {
            dba("DROP POLICY hide ON evidence_record", "ALTER TABLE evidence_record NO FORCE ROW LEVEL SECURITY",
                    "ALTER TABLE evidence_record DISABLE ROW LEVEL SECURITY");
        }
    }

    @Test
    void should_not_verify_chain_tables_renamed_and_replaced_by_views() throws Exception {
        hideTheChain(t -> List.of("ALTER TABLE " + t + " RENAME TO " + t + "_data",
                        "CREATE VIEW " + t + " AS SELECT * FROM " + t + "_data WHERE chain_id <> '" + HIDDEN + "'",
                        "GRANT SELECT ON " + t + " TO auditor_ro"),
                t -> List.of("DROP VIEW " + t, "ALTER TABLE " + t + "_data RENAME TO " + t),
                () -> assertReadPathChanged("evidence_chain replaced by a view", "public.evidence_chain"));
    }

    /**
     * A function in public that is a better match than PostgreSQL's array_to_json(anyarray) for a text[]: the view,
     * re-created from its own text, calls it. Its definition reads the same; the function is what changed.
     */
    @Test
    void should_not_verify_a_view_that_calls_a_function_shadowing_postgresqls() throws Exception {
        shadowArrayToJson("public", "array_to_json", "public.audit_record_columns");
    }

    /**
     * The same function in a schema of the owner's, put first on the path the view is re-created with: verify's own
     * path does not name that schema, so the view's definition deparses with it ({@code shadow.array_to_json}).
     */
    @Test
    void should_not_verify_a_view_bound_to_a_function_of_another_schema() throws Exception {
        dba("CREATE SCHEMA shadow");
        try {
            shadowArrayToJson("shadow", "public.audit_record_columns", "array_to_json");
        } finally {
            dba("DROP SCHEMA shadow");
        }
    }

    /**
     * Alice's roles changed to {admin}; {@code schema}.array_to_json(text[]) shows them as they were (none), and
     * audit_record_columns is re-created with {@code schema} first on the path. Both logins' verify must name
     * {@code found} and must not name {@code absent} (the check that is not the one that finds it).
     */
    static void shadowArrayToJson(String schema, String found, String absent) throws Exception {
        assertCleanBefore();
        String def = viewdef("audit_record_columns");
        dba(backup(alice), "UPDATE evidence_record SET realm_roles = '{admin}' WHERE id = '" + alice + "'",
                "CREATE FUNCTION " + schema + ".array_to_json(text[]) RETURNS json LANGUAGE sql AS "
                        + "$$ SELECT CASE WHEN $1 OPERATOR(pg_catalog.=) '{admin}'::text[] THEN NULL "
                        + "ELSE pg_catalog.array_to_json($1) END $$",
                "SET search_path = " + schema + ", pg_catalog, public", replace("audit_record_columns", def));
        try {
            assertThat(one("SELECT realm_roles FROM audit_record_columns WHERE id = '" + alice + "'"))
                    .as("the view shows the roles as they were").isEqualTo("null");
            assertReadPathChanged("array_to_json shadowed from " + schema, found);
            assertThat(verifyAsAuditor().faults()).noneMatch(f -> f.contains("read_path_changed")
                    && f.startsWith("store object " + absent));
        } finally {
            dba(replace("audit_record_columns", def.replace("array_to_json(", "pg_catalog.array_to_json(")),
                    "DROP FUNCTION " + schema + ".array_to_json(text[])", replace("audit_record_columns", def),
                    restore(alice));
        }
    }

    @Test
    void should_not_verify_a_cast_that_is_not_postgresqls() throws Exception {
        assertCleanBefore();
        dba("CREATE FUNCTION public.uuid_as_text(uuid) RETURNS text LANGUAGE sql IMMUTABLE AS "
                        + "$$ SELECT pg_catalog.textin(pg_catalog.uuid_out($1)) $$",
                "CREATE CAST (uuid AS text) WITH FUNCTION public.uuid_as_text(uuid)");
        try {
            assertReadPathChanged("a cast from uuid to text", "uuid AS text");
        } finally {
            dba("DROP CAST (uuid AS text)", "DROP FUNCTION public.uuid_as_text(uuid)");
        }
    }

    /**
     * An operator text = varchar in public: an exact match for verify's own {@code chain_id = ?} (a string parameter
     * is sent as varchar), where PostgreSQL's is text = text. This one answers as PostgreSQL's would; another need not.
     */
    @Test
    void should_not_verify_an_operator_that_wins_over_postgresqls() throws Exception {
        assertCleanBefore();
        dba("CREATE FUNCTION public.same_text(text, varchar) RETURNS boolean LANGUAGE sql IMMUTABLE AS "
                        + "$$ SELECT $1 OPERATOR(pg_catalog.=) $2::text $$",
                "CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.same_text)");
        try {
            assertReadPathChanged("an operator text = varchar", "an operator");
        } finally {
            dba("DROP OPERATOR public.= (text, varchar)", "DROP FUNCTION public.same_text(text, varchar)");
        }
    }

    /** A column verify reads, given a type of the owner's (a domain here; a type of its own needs a superuser). */
    @Test
    void should_not_verify_a_column_whose_type_is_not_postgresqls() throws Exception {
        assertCleanBefore();
        dba("CREATE DOMAIN public.registry_event AS text",
                "ALTER TABLE evidence_instance ALTER COLUMN event TYPE public.registry_event");
        try {
            assertReadPathChanged("evidence_instance.event of a domain type", "public.evidence_instance");
        } finally {
            dba("ALTER TABLE evidence_instance ALTER COLUMN event TYPE text", "DROP DOMAIN public.registry_event");
        }
    }

    /** The auditors' reports read a look-alike that hides alice's calls; verify itself reads public's. */
    @Test
    void should_not_verify_a_look_alike_on_the_auditors_search_path() throws Exception {
        assertCleanBefore();
        dba("CREATE SCHEMA shadow", "GRANT USAGE ON SCHEMA shadow TO auditor_ro",
                "CREATE TABLE shadow.audit_access AS SELECT * FROM public.audit_access WHERE identity <> 'alice'",
                "GRANT SELECT ON shadow.audit_access TO auditor_ro",
                "ALTER ROLE auditor_ro SET search_path = shadow, public");
        try {
            assertThat(one("SELECT count(*) FROM audit_access WHERE identity = 'alice'")).as("the report lies")
                    .isEqualTo("0");
            assertReadPathChanged("a look-alike audit_access", "shadow.audit_access");
        } finally {
            dba("ALTER ROLE auditor_ro RESET search_path", "DROP SCHEMA shadow CASCADE");
        }
    }

    /** A rule that drops every chain entry the gateway appends from now on. */
    @Test
    void should_not_verify_a_rule_on_a_chain_table() throws Exception {
        assertCleanBefore();
        dba("CREATE RULE drop_entries AS ON INSERT TO evidence_chain DO INSTEAD NOTHING");
        try {
            assertReadPathChanged("a rule on evidence_chain", "public.evidence_chain");
        } finally {
            dba("DROP RULE drop_entries ON evidence_chain");
        }
    }
}
