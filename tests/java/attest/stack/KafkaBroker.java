package attest.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * A real single-node KRaft Kafka broker ({@code org.apache.kafka:kafka_2.13}) in its own JVM, with its
 * classpath resolved by Maven from {@code tests/kafka-server/pom.xml}, so that its kafka-clients never
 * meets the gateway's. It can be stopped and started again on the same log directory (outage tests).
 */
public final class KafkaBroker implements KafkaService {
    private final Path repo;
    private final Path work;
    private final int port;
    private final int controllerPort;
    private Process process;
    private String classpath;

    public KafkaBroker(Path repo, Path work, int port) {
        this.repo = repo;
        this.work = work;
        this.port = port;
        this.controllerPort = port + 1;
    }

    /**
     * A port that can be bound, whose next one can be too: the broker listens on the port, its controller on the next.
     * Taken below the ephemeral range (32768 and up on Linux): after a run of thousands of connections, a port there
     * that nothing listens on may still be held by a client socket, and Kafka's controller failed to bind it
     * ("Address already in use", exit 1).
     */
    public static int freePortPair() {
        java.util.Random random = new java.util.Random();
        for (int i = 0; i < 200; i++) {
            int p = 20_000 + 2 * random.nextInt(6_000);
            if (bindable(p) && bindable(p + 1)) {
                return p;
            }
        }
        throw new IllegalStateException("no free port pair for Kafka");
    }

    private static boolean bindable(int port) {
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public String bootstrap() {
        return "127.0.0.1:" + port;
    }

    /**
     * Deletes the broker's storage, so that the next {@link #start} formats a new one. For a broker whose data need
     * not outlive one process (the benchmarks): a storage left by a broker that was killed, or formatted for other
     * ports, made a later start exit with status 1 (before tests/kafka-server/pom.xml named slf4j-api 2, Kafka's own
     * log said nothing of why: its slf4j 1.7 bound to no logger).
     */
    public void wipe() throws IOException {
        if (running()) {
            throw new IllegalStateException("the broker is running");
        }
        Dirs.delete(work.resolve("kafka-logs"));
    }

    public void start() throws IOException {
        Files.createDirectories(work);
        Path props = work.resolve("kafka-server.properties");
        Path logs = work.resolve("kafka-logs");
        if (classpath == null) {
            Path cpFile = work.resolve("kafka.classpath");
            if (!Files.exists(cpFile)) {
                System.out.println("[stack] resolving the Kafka broker's classpath");
                Maven.run(repo.resolve("tests/kafka-server"), work.resolve("kafka-fetch.log"),
                        "dependency:build-classpath", "-Dmdep.outputFile=" + cpFile.toAbsolutePath());
            }
            classpath = Files.readString(cpFile).trim();
            Files.writeString(props, String.join("\n",
                    "process.roles=broker,controller",
                    "node.id=1",
                    "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                    "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                    "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "log.dirs=" + logs.toAbsolutePath(),
                    "num.partitions=1",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=true",
                    "") + "\n");
            Files.writeString(work.resolve("kafka-log4j2.xml"), """
                    <Configuration status="WARN"><Appenders><Console name="o" target="SYSTEM_OUT">
                    <PatternLayout pattern="%d %-5p %c{1} - %m%n"/></Console></Appenders>
                    <Loggers><Root level="warn"><AppenderRef ref="o"/></Root>
                    <Logger name="kafka.server.KafkaRaftServer" level="info"/></Loggers></Configuration>
                    """);
            for (int attempt = 1; !Files.exists(logs.resolve("meta.properties")); attempt++) {
                Process format = java("kafka.tools.StorageTool", "format", "-t", clusterId(), "-c",
                        props.toString(), "--ignore-formatted").redirectOutput(work.resolve("kafka-format.log").toFile())
                        .start();
                try {
                    format.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
                // the storage is formatted when its meta.properties exists, whatever the tool's exit code says
                if (!Files.exists(logs.resolve("meta.properties")) && attempt >= 3) {
                    throw new IllegalStateException("Kafka storage format failed (exit " + format.exitValue()
                            + "); see " + work.resolve("kafka-format.log"));
                }
            }
        }
        System.out.println("[stack] starting Kafka on " + bootstrap());
        process = java("kafka.Kafka", props.toString())
                .redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve("kafka.log").toFile())).start();
        Waits.until("Kafka broker on " + bootstrap() + " (log: " + work.resolve("kafka.log") + ")",
                Duration.ofMinutes(2), () -> Waits.portOpen("127.0.0.1", port), process);
        System.out.println("[stack] Kafka is up: " + bootstrap());
    }

    private static String clusterId() {
        UUID u = UUID.randomUUID();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16);
        b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
    }

    private ProcessBuilder java(String main, String... args) {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new java.util.ArrayList<>(List.of(javaBin, "-Xms128m", "-Xmx512m",
                "-Dlog4j2.configurationFile=" + work.resolve("kafka-log4j2.xml").toAbsolutePath(),
                "-cp", classpath, main));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true);
    }

    public boolean running() {
        return process != null && process.isAlive();
    }

    /** Stops the broker (kill -9 when {@code hard}), keeping its data for a later start. */
    public void stop(boolean hard) {
        if (process == null) {
            return;
        }
        if (hard) {
            process.destroyForcibly();
        }
        Waits.stop(process, Duration.ofSeconds(30));
        Waits.until("Kafka port " + port + " to close", Duration.ofSeconds(30),
                () -> !Waits.portOpen("127.0.0.1", port), null);
    }

    @Override
    public void close() {
        stop(false);
    }
}
