package attest.bench;

import attest.masking.Action;
import attest.masking.Masker;
import attest.masking.MaskingEngine;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Masking throughput on one core: a mixed payload (prose, numbers, dates, versions, and regulated data of
 * several types) masked with every built-in detector. Run with bench/masking.sh.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
public class MaskingBenchmark {
    @Param({"10240", "102400", "1048576"})
    public int size;

    private String text;
    private Masker masker;

    @Setup
    public void setup() {
        masker = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
                "bench-key-bench-key-bench-key-32".getBytes(StandardCharsets.UTF_8));
        text = payload(size);
    }

    /** Prose with, on average, one entity every 40 words. */
    public static String payload(int size) {
        Random r = new Random(7);
        String[] words = {"the", "model", "answered", "with", "some", "plain", "text", "about", "orders", "and",
            "shipping", "on", "2026-11-25", "version", "1.2.3", "order", "12345", "at", "12:00:00"};
        String[] entities = {"card 4111 1111 1111 1111", "mail jane.doe@example.com", "ssn 536-90-4399",
            "call (415) 555-2671", "IBAN DE89 3704 0044 0532 0130 00", "host 192.168.10.7",
            "key AKIAIOSFODNN7EXAMPLE"};
        StringBuilder sb = new StringBuilder(size + 64);
        while (sb.length() < size) {
            sb.append(words[r.nextInt(words.length)]).append(' ');
            if (r.nextInt(40) == 0) {
                sb.append(entities[r.nextInt(entities.length)]).append(' ');
            }
        }
        return sb.substring(0, size);
    }

    @Benchmark
    public String mask() {
        return masker.mask(text, null, x -> { });
    }
}
