package attest.bench;

import attest.masking.Action;
import attest.masking.Masker;
import attest.masking.MaskingEngine;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * The masking cost of {@link MaskingBenchmark}'s payload in thread CPU time rather than wall-clock time, for a
 * machine shared with other work (where JMH's wall-clock samples measure preemption). Prints p50 and p90.
 * <pre>java -cp target/classes:target/test-classes:$(deps) attest.bench.MaskingCpuTime 10240</pre>
 */
public final class MaskingCpuTime {
    private MaskingCpuTime() {
    }

    public static void main(String[] args) {
        String text = MaskingBenchmark.payload(args.length > 0 ? Integer.parseInt(args[0]) : 10240);
        Masker masker = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
                "bench-key-bench-key-bench-key-32".getBytes(StandardCharsets.UTF_8));
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 3000; i++) {
            masker.mask(text, null, x -> { });
        }
        int n = 4000;
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            long c = mx.getCurrentThreadCpuTime();
            masker.mask(text, null, x -> { });
            t[i] = mx.getCurrentThreadCpuTime() - c;
        }
        Arrays.sort(t);
        System.out.printf("cpu p50 %.3f ms, p90 %.3f ms (n=%d)%n", t[n / 2] / 1e6, t[n * 9 / 10] / 1e6, n);
    }
}
