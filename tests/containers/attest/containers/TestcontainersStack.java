package attest.containers;

import attest.stack.ContainerStack;
import attest.stack.KafkaService;
import attest.stack.KeycloakServer;
import attest.stack.PostgresServer;
import attest.stack.PostgresService;
import attest.stack.Waits;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import dasniko.testcontainers.keycloak.KeycloakContainer;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.kafka.KafkaContainer;

import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;

/**
 * The e2e suite's PostgreSQL, Kafka and Keycloak from Testcontainers ({@code -Pcontainers}, which sets
 * {@code -Dattest.stack=containers}): PostgreSQL 16 (superuser {@code postgres}, trusted, database
 * {@code postgres}, as the embedded default), Kafka (apache/kafka-native) and Keycloak (dasniko's
 * testcontainers-keycloak, the version of the default harness, with the realm of {@code keycloak-realm/}).
 * PostgreSQL and Kafka are bound to a fixed free host port, so that a test's stop and start (an outage) is a
 * {@code docker stop} / {@code docker start} of the same container, on the same data and address.
 */
public final class TestcontainersStack implements ContainerStack {
    private final int pgPort = PostgresServer.freePort();
    private final int kafkaPort = PostgresServer.freePort();
    // created in start(): their constructors already ask Docker for the images
    private PostgreSQLContainer<?> postgres;
    private KafkaContainer kafka;
    private KeycloakContainer keycloak;

    @Override
    public boolean dockerAvailable() {
        return DockerClientFactory.instance().isDockerAvailable();
    }

    @Override
    public void start() {
        postgres = fixedPort(new PostgreSQLContainer<>("postgres:16-alpine").withDatabaseName("postgres")
                .withUsername("postgres").withPassword("postgres").withEnv("POSTGRES_HOST_AUTH_METHOD", "trust"),
                5432, pgPort);
        postgres.start();
        kafka = fixedPort(new KafkaContainer("apache/kafka-native:4.1.1"), 9092, kafkaPort);
        kafka.start();
        keycloak = new KeycloakContainer("quay.io/keycloak/keycloak:" + KeycloakServer.VERSION)
                .withRealmImportFile("/attest-realm.json"); // keycloak-realm/, a test resource in this profile
        keycloak.start();
    }

    @Override
    public PostgresService postgres() {
        return new PostgresService() {
            @Override
            public void start() {
                docker().startContainerCmd(postgres.getContainerId()).exec();
                Waits.until("PostgreSQL container on port " + pgPort, Duration.ofSeconds(60), () -> {
                    try (var c = DriverManager.getConnection(jdbcUrl(), "postgres", "")) {
                        return c.isValid(2);
                    } catch (SQLException e) {
                        return false;
                    }
                }, null);
            }

            @Override
            public void stop() {
                docker().stopContainerCmd(postgres.getContainerId()).withTimeout(30).exec();
            }

            @Override
            public String jdbcUrl() {
                return "jdbc:postgresql://" + postgres.getHost() + ":" + pgPort + "/postgres";
            }

            @Override
            public int port() {
                return pgPort;
            }

            @Override
            public void close() {
                // the container is removed with the stack
            }
        };
    }

    @Override
    public KafkaService kafka() {
        return new KafkaService() {
            @Override
            public String bootstrap() {
                return kafka.getHost() + ":" + kafkaPort;
            }

            @Override
            public void start() {
                docker().startContainerCmd(kafka.getContainerId()).exec();
                Waits.until("Kafka container on port " + kafkaPort, Duration.ofSeconds(60),
                        () -> Waits.portOpen(kafka.getHost(), kafkaPort), null);
            }

            @Override
            public void stop(boolean hard) {
                if (hard) {
                    docker().killContainerCmd(kafka.getContainerId()).exec();
                } else {
                    docker().stopContainerCmd(kafka.getContainerId()).withTimeout(30).exec();
                }
            }

            @Override
            public boolean running() {
                return Boolean.TRUE.equals(docker().inspectContainerCmd(kafka.getContainerId()).exec().getState()
                        .getRunning());
            }

            @Override
            public void close() {
                // the container is removed with the stack
            }
        };
    }

    @Override
    public String keycloakUrl() {
        return keycloak.getAuthServerUrl().replaceAll("/$", "");
    }

    @Override
    public void close() {
        for (GenericContainer<?> c : new GenericContainer<?>[]{keycloak, kafka, postgres}) {
            if (c != null) {
                c.stop();
            }
        }
    }

    private static com.github.dockerjava.api.DockerClient docker() {
        return DockerClientFactory.instance().client();
    }

    /** Binds the container's port to this host port, so that a restart of the container keeps its address. */
    private static <T extends GenericContainer<?>> T fixedPort(T container, int containerPort, int hostPort) {
        container.withCreateContainerCmdModifier(cmd -> {
            HostConfig host = cmd.getHostConfig() == null ? HostConfig.newHostConfig() : cmd.getHostConfig();
            cmd.withHostConfig(host.withPortBindings(new PortBinding(Ports.Binding.bindPort(hostPort),
                    new ExposedPort(containerPort))));
        });
        return container;
    }
}
