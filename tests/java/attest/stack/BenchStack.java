package attest.stack;

import attest.demo.DemoModelServer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

/**
 * The stack for bench/run.sh: Keycloak (reused if running), a Kafka broker, an embedded PostgreSQL, the
 * demo upstream and the gateway with every feature of the data path on. Writes target/bench/ready.properties
 * (ports, a token, the demo key) and runs until its standard input closes. With {@code -Dbench.upstream=<url>}
 * the gateways call that upstream instead of the demo one (bench/run.sh: a static nginx, as the anchor).
 * With {@code -Dbench.variants=all,identity,...} (bench/guarantees.sh) it starts instead one gateway per variant
 * ({@link GuaranteeVariants}: everything on, or one guarantee switched off), each with a database of its own on
 * the one PostgreSQL (so that one gateway's relay never publishes another's events), and writes
 * {@code gateway_<variant>=<url>}.
 */
public final class BenchStack {
    private BenchStack() {
    }

    private static Map<String, String> onPorts(Map<String, String> settings, int dataPort) {
        Map<String, String> p = new java.util.HashMap<>(settings);
        p.put("attest.data.port", String.valueOf(dataPort));
        p.put("attest.control.port", String.valueOf(PostgresServer.freePort()));
        return p;
    }

    public static void main(String[] args) {
        attest.ops.JvmDefaults.apply(); // as attest.App does
        try {
            run();
        } catch (Exception e) {
            // the services it started keep the JVM alive: end it, so that the script waiting for it stops too
            System.out.println("[bench] the stack failed: " + e.getClass().getSimpleName() + " " + e.getMessage());
            System.exit(1);
        }
    }

    private static void run() throws Exception {
        Path repo = Path.of("").toAbsolutePath();
        Path work = repo.resolve("target/bench");
        Files.createDirectories(work);
        Started started = new Started("bench");
        KeycloakServer.reuseOrStart(started, repo, work, 8180);
        // -Dbench.kafka=false (the CI smoke): no broker; the outbox keeps the events, the relay is off
        KafkaBroker kafka = null;
        if (Boolean.parseBoolean(System.getProperty("bench.kafka", "true"))) {
            kafka = started.add(new KafkaBroker(repo, work.resolve("kafka"), KafkaBroker.freePortPair()));
            kafka.wipe(); // a new storage each run: one left by an earlier run could keep the broker from starting
            kafka.start();
        }
        PostgresServer pg = new PostgresServer(work.resolve("pgdata-" + UUID.randomUUID()), PostgresServer.freePort());
        started.add(pg);
        pg.start();
        String key = "bench-" + UUID.randomUUID();
        DemoModelServer demo = new DemoModelServer("127.0.0.1", 0, key);
        demo.setRecording(false);
        demo.setStreamDelayMillis(Long.parseLong(System.getProperty("bench.stream-delay-ms", "20")));
        started.add(demo);
        Path keyFile = work.resolve("demo.key");
        Files.writeString(keyFile, key);
        Map<String, String> settings = new java.util.HashMap<>(Map.of(
                "attest.db.url", pg.jdbcUrl(), "attest.db.user", "postgres",
                "attest.kafka.brokers", kafka == null ? "" : kafka.bootstrap(),
                "attest.upstream.llm.base-url", System.getProperty("bench.upstream", demo.baseUrl()),
                "attest.upstream.llm.credential.secret-env", "",
                "attest.upstream.llm.credential.secret-file", keyFile.toString()));
        // bench/ab.sh runs an older version's routes beside its classes (the routes are read from files)
        String routes = System.getProperty("bench.routes", "");
        if (!routes.isBlank()) {
            settings.put("camel.main.routes-include-pattern", routes);
        }
        String token = new TokenClient("http://127.0.0.1:8180/realms/attest").password("attest-cli", "alice");
        String variants = System.getProperty("bench.variants", "");
        if (!variants.isBlank()) {
            StringBuilder ready = new StringBuilder("demo_key=" + key + "\ntoken=" + token + "\n");
            for (String variant : variants.split(",")) {
                Map<String, String> p = onPorts(GuaranteeVariants.settings(variant, settings, work),
                        PostgresServer.freePort());
                p.put("attest.db.url", pg.createDatabase("bench_" + variant));
                Gateway g = started.add(new Gateway(p, GuaranteeVariants.configuration(variant)));
                g.start();
                GuaranteeVariants.apply(variant, g.context());
                ready.append("gateway_").append(variant).append("=http://127.0.0.1:").append(p.get("attest.data.port"))
                        .append('\n');
                System.out.println("[bench] gateway " + variant + " on port " + p.get("attest.data.port"));
            }
            Files.writeString(work.resolve("ready.properties"), ready.toString());
            System.out.println("[bench] ready");
            while (System.in.read() >= 0) {
                // run until stdin closes
            }
            // what each gateway left in its database: the switches did what they say
            for (String variant : variants.split(",")) {
                System.out.println("[bench] store of " + variant + ": " + GuaranteeVariants.store(
                        pg.jdbcUrl().replace("/postgres", "/bench_" + variant)));
            }
            System.exit(0);
        }
        int port = PostgresServer.freePort();
        Gateway gateway = new Gateway(onPorts(settings, port));
        started.add(gateway);
        gateway.start();
        // the same gateway with masking off, to measure what masking adds to a stream's first byte
        Path noRules = work.resolve("no-masking-rules");
        Files.createDirectories(noRules);
        int plainPort = PostgresServer.freePort();
        Map<String, String> unmaskedSettings = onPorts(settings, plainPort);
        unmaskedSettings.put("attest.masking.rules-dir", noRules.toString());
        Gateway unmasked = new Gateway(unmaskedSettings);
        started.add(unmasked);
        unmasked.start();
        Files.writeString(work.resolve("ready.properties"), String.join("\n",
                "direct=" + demo.baseUrl(), "gateway=http://127.0.0.1:" + port,
                "gateway_unmasked=http://127.0.0.1:" + plainPort, "demo_key=" + key,
                "token=" + token, "jdbc=" + pg.jdbcUrl(), "") );
        System.out.println("[bench] ready");
        while (System.in.read() >= 0) {
            // run until stdin closes
        }
        System.exit(0);
    }
}
