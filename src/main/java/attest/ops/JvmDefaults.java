package attest.ops;

/**
 * JVM settings the gateway needs before anything else runs. The JDK's HTTP client completes every asynchronous
 * exchange through {@code CompletableFuture}'s default executor; on a machine with two CPUs or fewer the common
 * fork-join pool has a parallelism of 1, and that default executor then starts a new thread for every task, so
 * every upstream call started (and ended) a thread. A parallelism of at least 2 makes it the common pool. Must
 * run before the common pool is first used; an explicit {@code -Djava.util.concurrent.ForkJoinPool.common.parallelism}
 * wins. From JDK 25 on, {@code CompletableFuture} completes through the common pool whatever its parallelism
 * ({@code ForkJoinPool.asyncCommonPool}); the setting still gives that pool two threads on a small machine.
 */
public final class JvmDefaults {
    static final String PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

    private JvmDefaults() {
    }

    public static void apply() {
        if (System.getProperty(PARALLELISM) == null && Runtime.getRuntime().availableProcessors() <= 2) {
            System.setProperty(PARALLELISM, "2");
        }
    }
}
