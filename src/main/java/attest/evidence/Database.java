package attest.evidence;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.hibernate.SessionFactory;
import org.hibernate.cfg.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The evidence store: an external PostgreSQL given by URL or, in development and tests only, an embedded
 * PostgreSQL in a data directory ({@link EmbeddedStore}, found on the class path; the production artifact has none). The schema is managed
 * by versioned Flyway migrations under {@code db/migration}; Hibernate never changes it.
 * <p>The embedded server requires passwords (SCRAM-SHA-256, local and loopback; no trust) and the gateway
 * does not connect as its superuser: migrations run as the owner ({@code postgres}), then the gateway's pool
 * logs in as {@value #APP_LOGIN}, a login role that is no superuser, owns nothing and may only act as the
 * application role (and, for retention, the retention role). Both passwords are generated on first start into
 * files beside the data directory (mode 600), or come from {@code ATTEST_DB_OWNER_PASSWORD} /
 * {@code ATTEST_DB_APP_PASSWORD}.
 */
public final class Database implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Database.class);

    /** The database role the gateway acts as (created by migration V4). */
    public static final String APP_ROLE = "attest_app";
    /** The auditors' read-only login role (migration V20): report views and chain tables only. */
    public static final String AUDITOR_LOGIN = "auditor_ro";
    /** The login role the gateway's pool uses on the embedded server. */
    public static final String APP_LOGIN = "attest_gateway";

    /** Why an empty {@code attest.db.url} cannot start (the production artifact has no embedded database). */
    public static final String NO_DATABASE = "attest.db.url is not set: the gateway keeps its evidence in an "
            + "external PostgreSQL and starts no database of its own. Set attest.db.url (and attest.db.user, "
            + "attest.db.password) in the --config file, as -Dattest.db.url=... or as ATTEST_DB_URL.";

    private final EmbeddedStore.Server embedded;
    private final HikariDataSource dataSource;
    private final SessionFactory sessionFactory;

    private Database(EmbeddedStore.Server embedded, HikariDataSource dataSource, SessionFactory sessionFactory) {
        this.embedded = embedded;
        this.dataSource = dataSource;
        this.sessionFactory = sessionFactory;
    }

    /**
     * @param url          JDBC URL of an external server, or blank for an embedded one (development and tests)
     * @param user         user for the external server
     * @param password     password for the external server
     * @param embeddedDir  data directory of the embedded server
     * @param embeddedPort port of the embedded server (0 picks a free one)
     * @param poolSize     connections in the pool
     * @param connectTimeout how long a caller waits for a connection before the store counts as down
     */
    public static Database open(String url, String user, String password, Path embeddedDir, int embeddedPort,
                                int poolSize, Duration connectTimeout) {
        return open(url, user, password, "", "", embeddedDir, embeddedPort, poolSize, connectTimeout);
    }

    /**
     * @param appUser     for an external server: the login role the pool uses after the migrations (created or
     *                    updated by the migrating user, which then needs CREATEROLE); blank: the pool uses
     *                    {@code user} too. The embedded server always uses {@value #APP_LOGIN}.
     * @param appPassword its password
     */
    public static Database open(String url, String user, String password, String appUser, String appPassword,
                                Path embeddedDir, int embeddedPort, int poolSize, Duration connectTimeout) {
        return open(url, user, password, appUser, appPassword, embeddedDir, embeddedPort, poolSize, connectTimeout,
                "");
    }

    /**
     * @param auditorPassword the password of the auditors' read-only login {@value #AUDITOR_LOGIN} (migration V20),
     *                        set at every start, after which it may log in; blank: left as it is (created NOLOGIN).
     *                        An embedded server generates one beside its data directory when none is given.
     */
    public static Database open(String url, String user, String password, String appUser, String appPassword,
                                Path embeddedDir, int embeddedPort, int poolSize, Duration connectTimeout,
                                String auditorPassword) {
        EmbeddedStore.Server pg = null;
        String auditor = auditorPassword;
        String jdbcUrl = url;
        String dbUser = user;
        String dbPassword = password;
        String migrateUser = user;
        String migratePassword = password;
        if (jdbcUrl == null || jdbcUrl.isBlank()) {
            EmbeddedStore provider = java.util.ServiceLoader.load(EmbeddedStore.class).findFirst()
                    .orElseThrow(() -> new IllegalStateException(NO_DATABASE));
            String owner;
            String app;
            try {
                Files.createDirectories(embeddedDir);
                owner = secret(ownerPasswordFile(embeddedDir), "ATTEST_DB_OWNER_PASSWORD");
                app = secret(appPasswordFile(embeddedDir), "ATTEST_DB_APP_PASSWORD");
                if (auditor == null || auditor.isBlank()) {
                    auditor = secret(auditorPasswordFile(embeddedDir), "ATTEST_DB_AUDITOR_PASSWORD");
                }
                LOG.info("starting embedded PostgreSQL in {} (development and tests only)",
                        embeddedDir.toAbsolutePath());
                pg = provider.start(embeddedDir, embeddedPort, owner);
            } catch (IOException e) {
                throw new IllegalStateException("cannot start embedded PostgreSQL in " + embeddedDir + ": "
                        + e.getMessage(), e);
            }
            // no user in the URL (the driver would prefer it to the pool's login role)
            jdbcUrl = pg.jdbcUrl();
            migrateUser = "postgres";
            migratePassword = owner;
            // after the migrations, the pool logs in as the application's login role
            dbUser = APP_LOGIN;
            dbPassword = app;
        }
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(jdbcUrl);
        hc.setUsername(dbUser);
        hc.setPassword(dbPassword);
        hc.setMaximumPoolSize(poolSize);
        hc.setMinimumIdle(Math.min(2, poolSize));
        hc.setConnectionTimeout(Math.max(250, connectTimeout.toMillis()));
        hc.setValidationTimeout(Math.max(250, Math.min(connectTimeout.toMillis(), 1000)));
        hc.setInitializationFailTimeout(30_000);
        hc.setPoolName("attest-evidence");
        hc.addDataSourceProperty("reWriteBatchedInserts", "true");
        hc.addDataSourceProperty("connectTimeout", String.valueOf(Math.max(1, connectTimeout.toSeconds())));
        hc.addDataSourceProperty("socketTimeout", "30");
        // migrations run as the connecting user; the gateway's own connections then act as the application
        // role, which may insert and read evidence but never update or delete it
        Flyway.configure().dataSource(jdbcUrl, migrateUser, migratePassword).locations("classpath:db/migration").load()
                .migrate();
        if (auditor != null && !auditor.isBlank()) {
            enableAuditorLogin(jdbcUrl, migrateUser, migratePassword, auditor);
        }
        if (pg != null) {
            grantAppLogin(jdbcUrl, migrateUser, migratePassword, APP_LOGIN, dbPassword, true);
        } else if (appUser != null && !appUser.isBlank()) {
            grantAppLogin(jdbcUrl, migrateUser, migratePassword, appUser, appPassword, false);
            dbUser = appUser;
            dbPassword = appPassword;
        }
        // and, from PostgreSQL 14 on, a statement whose client has gone is aborted within a second (polled while it
        // runs or waits for a lock): an evidence commit that the gateway gave up waiting for (it refused the call
        // with 503) is not committed later, when a stall ends (StalledStoreTest)
        hc.setConnectionInitSql("SET ROLE " + APP_ROLE + "; DO $$BEGIN IF current_setting('server_version_num')::int"
                + " >= 140000 THEN PERFORM set_config('client_connection_check_interval', '1000', false); END IF; END$$");
        HikariDataSource ds = new HikariDataSource(hc);

        Configuration cfg = new Configuration()
                .addAnnotatedClass(EvidenceRecord.class)
                .addAnnotatedClass(OutboxEvent.class);
        cfg.getProperties().put("hibernate.connection.datasource", ds);
        cfg.setProperty("hibernate.hbm2ddl.auto", "none");
        cfg.setProperty("hibernate.jdbc.batch_size", "200");
        cfg.setProperty("hibernate.order_inserts", "true");
        cfg.setProperty("hibernate.order_updates", "true");
        cfg.setProperty("hibernate.show_sql", "false");
        cfg.setProperty("hibernate.boot.allow_jdbc_metadata_access", "false");
        cfg.setProperty("hibernate.dialect", "org.hibernate.dialect.PostgreSQLDialect");
        SessionFactory sf = cfg.buildSessionFactory();
        return new Database(pg, ds, sf);
    }

    /** The file that holds the embedded server's superuser password (beside the data directory). */
    public static Path ownerPasswordFile(Path embeddedDir) {
        Path abs = embeddedDir.toAbsolutePath();
        return abs.resolveSibling(abs.getFileName() + ".owner-password");
    }

    /** The file that holds the password of {@value #AUDITOR_LOGIN} on an embedded server (beside its data directory). */
    public static Path auditorPasswordFile(Path embeddedDir) {
        Path abs = embeddedDir.toAbsolutePath();
        return abs.resolveSibling(abs.getFileName() + ".auditor-password");
    }

    /** The file that holds the password of {@value #APP_LOGIN} (beside the data directory). */
    public static Path appPasswordFile(Path embeddedDir) {
        Path abs = embeddedDir.toAbsolutePath();
        return abs.resolveSibling(abs.getFileName() + ".app-password");
    }

    /** A password from the environment, else from its file, else a new random one written there (mode 600). */
    private static String secret(Path file, String env) throws IOException {
        String fromEnv = System.getenv(env);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return fromEnv.strip();
        }
        if (Files.exists(file)) {
            return Files.readString(file).strip();
        }
        byte[] b = new byte[24];
        new java.security.SecureRandom().nextBytes(b);
        String pw = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        Files.createDirectories(file.getParent());
        try {
            Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException notPosix) {
            Files.createFile(file);
        }
        Files.writeString(file, pw);
        return pw;
    }

    /** Gives the auditors' read-only role (migration V20) its password, and lets it log in. */
    private static void enableAuditorLogin(String url, String owner, String ownerPassword, String auditorPassword) {
        try (var c = java.sql.DriverManager.getConnection(url, owner, ownerPassword);
             var st = c.createStatement()) {
            st.execute("SET password_encryption = 'scram-sha-256'");
            st.execute("ALTER ROLE " + AUDITOR_LOGIN + " LOGIN PASSWORD '" + auditorPassword.replace("'", "''") + "'");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot set the password of " + AUDITOR_LOGIN + ": " + e.getSQLState(), e);
        }
    }

    /** Creates (or updates) the gateway's login role: no superuser, owns nothing, acts as the app role. */
    private static void grantAppLogin(String url, String owner, String ownerPassword, String login,
                                      String appPassword, boolean ownServer) {
        if (!login.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw new IllegalStateException("attest.db.app-user must be a plain lower-case role name");
        }
        try (var c = java.sql.DriverManager.getConnection(url, owner, ownerPassword);
             var st = c.createStatement()) {
            String pw = "'" + appPassword.replace("'", "''") + "'";
            st.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + login + "') THEN "
                    + "CREATE ROLE " + login + " LOGIN NOINHERIT; END IF; END $$");
            st.execute("ALTER ROLE " + login + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                    + "NOBYPASSRLS NOINHERIT PASSWORD " + pw);
            st.execute("GRANT " + APP_ROLE + ", " + Retention.ROLE + " TO " + login);
            if (ownServer) { // the embedded server is ours alone: nobody else connects or creates
                st.execute("DO $$ BEGIN EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', "
                        + "current_database()); END $$");
                st.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
            }
            st.execute("DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO " + login + "', "
                    + "current_database()); END $$");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot set up the gateway's database role: " + e.getMessage(), e);
        }
    }

    public SessionFactory sessionFactory() {
        return sessionFactory;
    }

    public HikariDataSource dataSource() {
        return dataSource;
    }

    /** The embedded server, if this store runs one (development and tests only). */
    public EmbeddedStore.Server embedded() {
        return embedded;
    }

    @Override
    public void close() {
        sessionFactory.close();
        dataSource.close();
        if (embedded != null) {
            try {
                embedded.close();
            } catch (IOException e) {
                LOG.warn("embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
            }
        }
    }
}
