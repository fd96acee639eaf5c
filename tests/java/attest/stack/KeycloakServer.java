package attest.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

/**
 * A real Keycloak from the Maven Central distribution ({@code org.keycloak:keycloak-quarkus-dist:zip}),
 * started in dev mode with the realm from {@code keycloak-realm/} imported afresh on every start.
 * The unpacked distribution is cached in {@code ~/.cache/attest}; its data is wiped before each start.
 */
public final class KeycloakServer implements AutoCloseable {
    public static final String VERSION = "26.4.7";
    private final Path repo;
    private final Path work;
    private final int port;
    private Process process;

    public KeycloakServer(Path repo, Path work, int port) {
        this.repo = repo;
        this.work = work;
        this.port = port;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public String issuer() {
        return baseUrl() + "/realms/attest";
    }

    public static boolean running(int port) {
        return Waits.httpOk("http://127.0.0.1:" + port + "/realms/attest/.well-known/openid-configuration");
    }

    /**
     * For the benches: a Keycloak already listening on the port (the shared one, {@code mvn -Pdev}) is reused, even
     * when it is slow to answer on a loaded machine; otherwise one is started and added to {@code started}.
     */
    public static void reuseOrStart(Started started, Path repo, Path work, int port) throws IOException {
        if (Waits.portOpen("127.0.0.1", port)) {
            Waits.until("Keycloak's realm attest on " + port, Duration.ofMinutes(2), () -> running(port), null);
            return;
        }
        started.add(new KeycloakServer(repo, work, port)).start();
    }

    public void start() throws IOException {
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "attest");
        Path home = cache.resolve("keycloak-" + VERSION);
        Files.createDirectories(work);
        if (!Files.isExecutable(home.resolve("bin/kc.sh"))) {
            System.out.println("[stack] unpacking Keycloak " + VERSION + " (first run only)");
            Files.createDirectories(cache);
            Maven.run(repo, work.resolve("keycloak-fetch.log"), "dependency:unpack",
                    "-Dartifact=org.keycloak:keycloak-quarkus-dist:" + VERSION + ":zip",
                    "-DoutputDirectory=" + cache.toAbsolutePath());
        }
        Path data = home.resolve("data");
        Dirs.delete(data);
        Path imports = data.resolve("import");
        Files.createDirectories(imports);
        Files.copy(repo.resolve("keycloak-realm/attest-realm.json"), imports.resolve("attest-realm.json"),
                StandardCopyOption.REPLACE_EXISTING);
        System.out.println("[stack] starting Keycloak on port " + port + " (about 20-40 s)");
        ProcessBuilder pb = new ProcessBuilder(List.of(home.resolve("bin/kc.sh").toString(), "start-dev",
                "--import-realm", "--http-host=127.0.0.1", "--http-port=" + port, "--hostname-strict=false",
                "--health-enabled=false", "--metrics-enabled=false", "--cache=local"))
                .redirectErrorStream(true).redirectOutput(work.resolve("keycloak.log").toFile());
        pb.environment().put("KC_BOOTSTRAP_ADMIN_USERNAME", "admin");
        pb.environment().put("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin");
        pb.environment().put("JAVA_OPTS_APPEND", "-Xms64m -Xmx768m");
        process = pb.start();
        // about 40 s on an idle 2-core machine; a loaded one (a build beside it) has taken over 4 minutes, and the wait
        // ends at once if the process exits, so a generous limit costs a healthy run nothing
        Waits.until("Keycloak realm 'attest' on port " + port + " (log: " + work.resolve("keycloak.log") + ")",
                Duration.ofMinutes(8), () -> running(port), process);
        System.out.println("[stack] Keycloak is up: " + issuer());
    }

    @Override
    public void close() {
        Waits.stop(process, Duration.ofSeconds(20));
    }
}
