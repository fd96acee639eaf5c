package attest.stack;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The gateway in a JVM of its own ({@code attest.App}, settings as system properties), for tests that must
 * kill it hard ({@code kill -9}) in the middle of a call.
 */
public final class GatewayProcess implements AutoCloseable {
    private final Process process;
    private final Path log;

    public GatewayProcess(Path repo, Path log, Map<String, String> settings) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        if (Runtime.version().feature() >= 24) {
            // as bin/attest and the image do: no JVM warning on stderr when Netty first uses Unsafe (JEP 498)
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        settings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("attest.App");
        this.log = log;
        this.process = new ProcessBuilder(cmd).directory(repo.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        int port = Integer.parseInt(settings.get("attest.data.port"));
        Waits.until("the gateway process on port " + port + " (log: " + log + ")", Duration.ofMinutes(2),
                () -> Waits.portOpen("127.0.0.1", port), process);
    }

    /** SIGTERM, as a platform stops a replica; returns the exit code once the process has ended on its own. */
    public int terminate(Duration within) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(within.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the gateway did not exit within " + within + " of SIGTERM (log: " + log + ")");
        }
        return process.exitValue();
    }

    /** The process's own log (stdout and stderr). */
    public Path log() {
        return log;
    }

    /** SIGKILL: no shutdown hook, no flush, nothing. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
