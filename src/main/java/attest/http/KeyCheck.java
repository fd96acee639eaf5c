package attest.http;

/** The early check of a virtual key on the connection's thread: why it is refused, or null when it is live. */
@FunctionalInterface
public interface KeyCheck {
    /** Refuses every key (a data plane without virtual keys). */
    KeyCheck NONE = (secret, source) -> "virtual keys are not enabled";

    String check(String secret, String source);

    /**
     * The same check run off the event loop when it would block this time (a look-up in the store), or null when it
     * would not (then {@link #check} runs in place). The stage never fails; what it holds is {@link #check}'s answer.
     */
    default java.util.concurrent.CompletionStage<String> checkOffLoop(String secret, String source) {
        return null;
    }

    /**
     * {@code check}, run on {@code pool} when {@code blocks} says it would block (a key not in the resolver's cache).
     * A full pool lets the request through to its route, whose own key step answers 503 {@code busy} (fail closed).
     */
    static KeyCheck offLoop(KeyCheck check, java.util.function.BiPredicate<String, String> blocks,
                            java.util.concurrent.Executor pool) {
        return new KeyCheck() {
            @Override
            public String check(String secret, String source) {
                return check.check(secret, source);
            }

            @Override
            public java.util.concurrent.CompletionStage<String> checkOffLoop(String secret, String source) {
                if (!blocks.test(secret, source)) {
                    return null;
                }
                try {
                    return java.util.concurrent.CompletableFuture.supplyAsync(() -> check.check(secret, source), pool)
                            .exceptionally(e -> null);
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    return java.util.concurrent.CompletableFuture.completedFuture(null);
                }
            }
        };
    }
}
