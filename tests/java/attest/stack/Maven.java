package attest.stack;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs Maven from the harness, to fetch the Keycloak distribution and the Kafka broker's classpath. */
final class Maven {
    private Maven() {
    }

    static void run(Path workDir, Path log, String... args) {
        List<String> cmd = new ArrayList<>();
        String mavenHome = System.getProperty("maven.home");
        String mvn = mavenHome != null && new File(mavenHome, "bin/mvn").canExecute() ? mavenHome + "/bin/mvn" : "mvn";
        cmd.add(mvn);
        cmd.add("-q");
        cmd.add("-B");
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IllegalStateException("mvn " + String.join(" ", args) + " failed (" + rc + "); see " + log);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run mvn: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
