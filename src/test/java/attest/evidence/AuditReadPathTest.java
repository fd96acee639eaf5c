package attest.evidence;

import attest.audit.AuditQuery;
import attest.audit.AuditReports;
import attest.audit.CheckAuditReadPathProcessor;
import attest.audit.ReadPathWatch;
import attest.audit.UsageReports;
import attest.http.GatewayException;
import attest.usage.Prices;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The owner changes how the gateway's own /audit reports read the store (not a row): a view that hides one subject,
 * row-level security on a table, a function or operator that wins over PostgreSQL's for a call a report makes, a
 * collation, a revoked TEMPORARY privilege. The reports must refuse (503, naming no object), not answer short; the
 * store as the migrations left it is served. Real PostgreSQL, read through the gateway's own pool (its login).
 * Each test puts back what it changed.
 */
class AuditReadPathTest extends TamperBase {
    static final String CHAIN = "t-audit-read";
    static boolean written;

    @BeforeEach
    void storeWrittenByTheGateway() throws Exception {
        if (written) {
            return;
        }
        completedCall(CHAIN, "alice-sub", "alice");
        writer.close(); // committed
        completedCall(CHAIN, "carol-sub", "carol");
        writer.close();
        // the usage report counts calls with a usage status (the upstream's answer had none here)
        dba("UPDATE evidence_record SET usage_status = 'unknown' WHERE instance_id = '" + CHAIN + "'");
        written = true;
    }

    /** A watch that checks on every request (maxAge zero), so that each test sees its own change. */
    static ReadPathWatch watch() {
        return new ReadPathWatch(db.dataSource(), Duration.ZERO, Clock.systemUTC());
    }

    static AuditQuery access() {
        return new AuditQuery("access", null, null, null, null, null, 0, 100, false);
    }

    static List<Object> identities() {
        return new AuditReports(db.dataSource()).run(access()).rows().stream().map(r -> r.get("identity")).toList();
    }

    static GatewayException refusal(ReadPathWatch watch) {
        var exchange = new DefaultExchange(new DefaultCamelContext());
        return catchThrowableOfType(GatewayException.class,
                () -> new CheckAuditReadPathProcessor(watch).process(exchange));
    }

    /** A 503 that says what happened and names nothing the caller could not see otherwise. */
    static void assertRefused(String code, String... unsaid) {
        GatewayException e = refusal(watch());
        assertThat(e).as("the /audit answer must be refused").isNotNull();
        assertThat(e.status()).isEqualTo(503);
        assertThat(e.code()).isEqualTo(code);
        assertThat(e.getMessage()).doesNotContainIgnoringCase("select").doesNotContain("public.");
        for (String s : unsaid) {
            assertThat(e.getMessage()).doesNotContain(s);
        }
    }

    @Test
    void should_serve_reports_from_a_store_read_as_migrated() throws Exception {
        ReadPathWatch w = watch();
        assertThat(w.state().status()).as(w.state().findings().toString()).isEqualTo(ReadPathWatch.Status.SERVING);
        assertThat(w.withheld()).isZero();
        assertThat(refusal(w)).isNull();
        assertThat(identities()).contains("alice", "carol");
        var usage = new UsageReports(db.dataSource(), Prices.none()).run(new UsageReports.Query("user", null, null,
                null, null, null, null, false));
        assertThat(usage.rows()).extracting(r -> r.get("user")).contains("alice", "carol");
    }

    @Test
    void should_refuse_reports_when_a_view_hides_one_subject() throws Exception {
        String def = TamperReadPathTest.viewdef("audit_access");
        dba("CREATE OR REPLACE VIEW public.audit_access AS SELECT * FROM (" + def + ") v WHERE v.identity <> 'carol'");
        try {
            assertThat(identities()).as("the hole: the report leaves carol out").contains("alice").doesNotContain("carol");
            assertThat(watch().state().findings()).anyMatch(f -> f.contains("public.audit_access"));
            assertRefused("read_path_changed", "audit_access", "carol");
        } finally {
            dba("CREATE OR REPLACE VIEW public.audit_access AS " + def);
        }
        assertThat(refusal(watch())).isNull();
    }

    @Test
    void should_see_a_change_put_back_before_its_answer_expires() throws Exception {
        // an answer kept for an hour: nothing changed, no new check; a view hidden then put back within it is seen
        ReadPathWatch w = new ReadPathWatch(db.dataSource(), Duration.ofHours(1), Clock.systemUTC());
        ReadPathWatch.State served = w.state();
        assertThat(served.status()).isEqualTo(ReadPathWatch.Status.SERVING);
        assertThat(w.state()).as("kept while the catalog is unchanged").isSameAs(served);
        String def = TamperReadPathTest.viewdef("audit_access");
        dba("CREATE OR REPLACE VIEW public.audit_access AS SELECT * FROM (" + def + ") v WHERE v.identity <> 'carol'");
        try {
            assertThat(w.state().status()).isEqualTo(ReadPathWatch.Status.CHANGED);
            assertThat(refusal(w)).isNotNull();
        } finally {
            dba("CREATE OR REPLACE VIEW public.audit_access AS " + def);
        }
        assertThat(w.state().status()).isEqualTo(ReadPathWatch.Status.SERVING);
    }

    @Test
    void should_refuse_reports_when_row_level_security_is_on_a_base_table() throws Exception {
        dba("ALTER TABLE evidence_record ENABLE ROW LEVEL SECURITY",
                "ALTER TABLE evidence_record FORCE ROW LEVEL SECURITY",
                "CREATE POLICY hide_carol ON evidence_record FOR SELECT USING (subject <> 'carol-sub')",
                "CREATE POLICY write_all ON evidence_record FOR ALL USING (true) WITH CHECK (true)");
        try {
            assertThat(watch().state().findings()).anyMatch(f -> f.contains("public.evidence_record")
                    && f.contains("row-level security"));
            assertRefused("read_path_changed", "evidence_record", "hide_carol");
        } finally {
            dba("DROP POLICY hide_carol ON evidence_record", "DROP POLICY write_all ON evidence_record",
                    "ALTER TABLE evidence_record NO FORCE ROW LEVEL SECURITY",
                    "ALTER TABLE evidence_record DISABLE ROW LEVEL SECURITY");
        }
        assertThat(refusal(watch())).isNull();
    }

    @Test
    void should_refuse_reports_when_a_function_shadows_one_a_report_calls() throws Exception {
        // /audit/usage?by=group calls unnest(text[]): a public unnest(text[]) is a better match than unnest(anyarray)
        dba("CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE sql AS "
                + "$$ SELECT x FROM pg_catalog.unnest($1) x WHERE x <> 'hidden' $$");
        try {
            assertThat(watch().state().findings()).anyMatch(f -> f.contains("unnest"));
            assertRefused("read_path_changed", "unnest", "hidden");
        } finally {
            dba("DROP FUNCTION public.unnest(text[])");
        }
        assertThat(refusal(watch())).isNull();
    }

    @Test
    void should_refuse_reports_when_an_operator_shadows_a_report_filter() throws Exception {
        // a report's identity filter compares text with the driver's varchar parameter: an exact (text, varchar) wins
        dba("CREATE FUNCTION public.not_carol(text, varchar) RETURNS boolean LANGUAGE sql AS "
                        + "$$ SELECT $1 OPERATOR(pg_catalog.=) $2::text AND $2::text OPERATOR(pg_catalog.<>) 'carol' $$",
                "CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.not_carol)");
        try {
            assertRefused("read_path_changed", "not_carol");
        } finally {
            dba("DROP OPERATOR public.= (text, varchar)", "DROP FUNCTION public.not_carol(text, varchar)");
        }
        assertThat(refusal(watch())).isNull();
    }

    @Test
    void should_refuse_reports_when_a_column_collation_is_changed() throws Exception {
        // a column no view depends on, so that no view need be re-created: the definitions compare equal
        dba("ALTER TABLE evidence_instance ALTER COLUMN key_id TYPE text COLLATE \"C\"");
        try {
            assertThat(watch().state().findings()).anyMatch(f -> f.contains("public.evidence_instance")
                    && f.contains("collation"));
            assertRefused("read_path_changed", "evidence_instance", "key_id");
        } finally {
            dba("ALTER TABLE evidence_instance ALTER COLUMN key_id TYPE text COLLATE \"default\"");
        }
        assertThat(refusal(watch())).isNull();
    }

    @Test
    void should_refuse_reports_when_a_view_is_given_options() throws Exception {
        // security_invoker (PostgreSQL 15 on): the view's reads then run as the gateway's role, under whatever policy
        // the owner sets; before 15, security_barrier, the same check (a view with options the migrations did not give)
        String option = Integer.parseInt(oneAsOwner("SHOW server_version_num")) >= 150000 ? "security_invoker"
                : "security_barrier";
        dba("ALTER VIEW public.usage_records SET (" + option + " = true)");
        try {
            assertThat(watch().state().findings()).anyMatch(f -> f.contains("public.usage_records")
                    && f.contains("options"));
            assertRefused("read_path_changed", "usage_records", option);
        } finally {
            dba("ALTER VIEW public.usage_records RESET (" + option + ")");
        }
        assertThat(refusal(watch())).isNull();
    }

    @Test
    void should_refuse_reports_when_the_check_cannot_create_its_temporary_views() throws Exception {
        dba("DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM attest_app', current_database()); END $$");
        try {
            ReadPathWatch w = watch();
            assertThat(w.state().status()).isEqualTo(ReadPathWatch.Status.UNCHECKED);
            assertThat(w.withheld()).isOne();
            assertRefused("read_path_unchecked");
        } finally {
            dba("DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO attest_app', current_database()); END $$");
        }
        assertThat(refusal(watch())).isNull();
    }

    @Test
    void should_not_read_a_look_alike_the_logins_search_path_puts_first() throws Exception {
        // the owner points the gateway's login at a schema of its own, before pg_catalog, with a to_char that lies
        dba("CREATE SCHEMA lure", "GRANT USAGE ON SCHEMA lure TO PUBLIC",
                "CREATE FUNCTION lure.to_char(timestamptz, text) RETURNS text LANGUAGE sql AS $$ SELECT '1999-01-01' $$",
                "ALTER ROLE attest_gateway SET search_path = lure, pg_catalog, public");
        try (HikariPool fresh = new HikariPool()) {
            var usage = new UsageReports(fresh.ds, Prices.none()).run(new UsageReports.Query("day", null, null,
                    null, null, null, null, false));
            assertThat(usage.rows()).extracting(r -> r.get("day")).doesNotContain("1999-01-01").isNotEmpty();
        } finally {
            dba("ALTER ROLE attest_gateway RESET search_path", "DROP SCHEMA lure CASCADE");
        }
    }

    /** A new pool of the gateway's login, whose sessions start with the role's settings as they are now. */
    static final class HikariPool implements AutoCloseable {
        final com.zaxxer.hikari.HikariDataSource ds;

        HikariPool() {
            var hc = new com.zaxxer.hikari.HikariConfig();
            hc.setJdbcUrl(db.dataSource().getJdbcUrl());
            hc.setUsername(db.dataSource().getUsername());
            hc.setPassword(db.dataSource().getPassword());
            hc.setConnectionInitSql("SET ROLE " + Database.APP_ROLE);
            hc.setMaximumPoolSize(1);
            ds = new com.zaxxer.hikari.HikariDataSource(hc);
        }

        @Override
        public void close() {
            ds.close();
        }
    }
}
