package attest.stack;

import java.io.IOException;

/**
 * The suite's PostgreSQL, whoever runs it: {@link PostgresServer} (embedded binaries, the default) or a container
 * ({@code -Pcontainers}). Superuser {@code postgres} with an empty password; a stop keeps the data and the port for
 * the next start (outage tests).
 */
public interface PostgresService extends AutoCloseable {
    void start() throws IOException;

    void stop();

    String jdbcUrl();

    int port();

    @Override
    void close();
}
