package attest.ops;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * In a fresh JVM with N CPUs: after {@link JvmDefaults#apply()} the asynchronous default executor that the JDK's
 * HTTP client completes through is the common pool, not a new thread per task; an explicit setting wins.
 */
class JvmDefaultsTest {
    /** The child JVM's main: applies the defaults, then prints the common pool's parallelism and the executor. */
    public static void main(String[] args) {
        JvmDefaults.apply();
        System.out.println(java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + " "
                + new java.util.concurrent.CompletableFuture<Void>().defaultExecutor().getClass().getSimpleName());
    }

    /**
     * An explicit parallelism of 1 is kept; what the JDK then completes through is its own choice: on JDK 17 a new
     * thread per task, on JDK 25 the common pool, {@code ForkJoinPool.asyncCommonPool} ({@code 1 JDK} below stands
     * for that executor; the JDKs between were not checked here).
     */
    @ParameterizedTest(name = "{0} CPUs, explicit {1}: {2}")
    @CsvSource({"1, , 2 ForkJoinPool", "2, , 2 ForkJoinPool", "4, , 3 ForkJoinPool", "2, 1, 1 JDK",
            "2, 5, 5 ForkJoinPool"})
    void the_default_executor_is_a_pool_not_a_thread_per_task(int cpus, String explicit, String expected)
            throws Exception {
        if (expected.endsWith(" JDK")) {
            expected = expected.replace("JDK",
                    Runtime.version().feature() >= 25 ? "ForkJoinPool" : "ThreadPerTaskExecutor");
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:ActiveProcessorCount=" + cpus));
        if (explicit != null) {
            cmd.add("-D" + JvmDefaults.PARALLELISM + "=" + explicit);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), JvmDefaultsTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim()).isEqualTo(expected);
    }
}
