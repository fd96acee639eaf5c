package attest.stack;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The distribution that {@code mvn package} builds ({@code target/attest-<version>/attest-<version>/}), run as an
 * operator runs it: {@code bin/attest ...} in a process of its own, with no Maven and no test class path, and an
 * environment without any {@code ATTEST_*} variable of the test JVM.
 */
public final class Artifact {
    private final Path home;

    private Artifact(Path home) {
        this.home = home;
    }

    /** The unpacked distribution of the current build; fails clearly when {@code mvn package} has not run. */
    public static Artifact built(Path repo) throws IOException {
        Path target = repo.resolve("target");
        try (Stream<Path> s = Files.list(target)) {
            Path home = s.filter(p -> p.getFileName().toString().startsWith("attest-") && Files.isDirectory(p))
                    .map(p -> p.resolve(p.getFileName()))
                    .filter(p -> Files.isExecutable(p.resolve("bin/attest")))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("no distribution under " + target
                            + ": run mvn package (failsafe runs after it in mvn verify)"));
            return new Artifact(home);
        }
    }

    public Path home() {
        return home;
    }

    /** Starts {@code bin/attest args...} in {@code workDir}, its output going to {@code log}. */
    public Process start(Path workDir, Path log, Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("bin/attest").toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("ATTEST_") || k.equals("JAVA_OPTS")
                || k.startsWith("MAVEN_"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.environment().putAll(env);
        return pb.start();
    }

    /** Runs {@code bin/attest args...} to its end (at most two minutes) and returns its exit code and output. */
    public Run run(Path workDir, Map<String, String> env, String... args) throws IOException, InterruptedException {
        Path log = Files.createTempFile(workDir, "attest-run", ".log");
        Process p = start(workDir, log, env, args);
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("bin/attest " + String.join(" ", args) + " did not end in 2 minutes: "
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
        return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }

    /** Stops a started gateway as an orchestrator does (SIGTERM), then hard after a while. */
    public static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(Duration.ofSeconds(30).toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
        }
    }

    public record Run(int code, String output) {
    }
}
