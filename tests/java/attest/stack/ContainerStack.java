package attest.stack;

import org.junit.jupiter.api.Assumptions;

/**
 * PostgreSQL, Kafka and Keycloak from Testcontainers, for the e2e suite under {@code -Pcontainers}
 * ({@code -Dattest.stack=containers}, set by that profile). The implementation lives in {@code tests/containers}
 * (compiled in that profile only, so the default build needs neither Testcontainers nor Docker); without a
 * reachable Docker engine the suite is skipped (a JUnit assumption: reported as skipped, never as passed).
 */
public interface ContainerStack extends AutoCloseable {
    String PROPERTY = "attest.stack";
    String IMPLEMENTATION = "attest.containers.TestcontainersStack";

    /** Starts the three containers (the realm imported into Keycloak). */
    void start() throws Exception;

    PostgresService postgres();

    KafkaService kafka();

    /** Keycloak's base URL (its master realm's admin is admin/admin, as in the default harness). */
    String keycloakUrl();

    @Override
    void close();

    /** Whether the run asks for containers instead of the Docker-free default. */
    static boolean requested() {
        return "containers".equals(System.getProperty(PROPERTY, "").trim());
    }

    /** The container stack of {@code tests/containers}; skips the calling test where Docker is not reachable. */
    static ContainerStack load() {
        Class<?> type;
        try {
            type = Class.forName(IMPLEMENTATION);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(PROPERTY + "=containers needs the -Pcontainers profile (" + IMPLEMENTATION
                    + " is compiled there)");
        }
        ContainerStack stack;
        try {
            stack = (ContainerStack) type.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create " + IMPLEMENTATION + ": " + e, e);
        }
        Assumptions.assumeTrue(stack.dockerAvailable(), "no Docker engine reachable: the e2e suite against "
                + "containers (-Pcontainers) is skipped");
        return stack;
    }

    /** Whether a Docker engine answers. */
    boolean dockerAvailable();
}
