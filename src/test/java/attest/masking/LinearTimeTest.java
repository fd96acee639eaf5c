package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Adversarial inputs that make backtracking engines explode. With RE2/J the time per character stays
 * flat: scanning 16 times more input must not cost more than about 16 times the time (we allow 48x,
 * measured as the best of several runs, to absorb a noisy machine; quadratic growth would be 256x).
 */
class LinearTimeTest {
    static final MaskingEngine ENGINE = MaskingEngine.builtIn();

    static String input(String kind, int n) {
        return switch (kind) {
            case "one-char" -> "a".repeat(n);
            case "digits" -> "1".repeat(n);
            case "digit-space" -> "1 ".repeat(n / 2);
            case "near-miss-email" -> "a.".repeat(n / 2) + "@";
            case "at-signs" -> "a@".repeat(n / 2);
            case "dashes" -> "1-".repeat(n / 2);
            case "colons" -> "a:".repeat(n / 2);
            case "jwt-ish" -> "eyJ" + "a".repeat(n) + ".";
            default -> throw new IllegalArgumentException(kind);
        };
    }

    static long bestNanos(String text) {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long t = System.nanoTime();
            ENGINE.scan(text);
            best = Math.min(best, System.nanoTime() - t);
        }
        return best;
    }

    @ParameterizedTest
    @ValueSource(strings = {"one-char", "digits", "digit-space", "near-miss-email", "at-signs", "dashes", "colons",
            "jwt-ish"})
    void should_scan_adversarial_input_in_linear_time(String kind) {
        String small = input(kind, 4_000);
        String large = input(kind, 64_000);
        bestNanos(small); // warm up
        long t1 = Math.max(bestNanos(small), 50_000);
        long t16 = bestNanos(large);
        assertThat(t16).as("%s: %d ns for 4k, %d ns for 64k", kind, t1, t16).isLessThan(t1 * 48);
    }
}
