package attest.bench;

import attest.masking.Action;
import attest.masking.AnswerMasker;
import attest.masking.Masker;
import attest.masking.MaskingEngine;
import attest.masking.MaskingFailedException;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * The cost of reading a binary answer for text (a clean one: read to its end, then passed), in thread CPU time per
 * answer after warm-up, for the shapes a binary answer takes: random bytes, a float32 tensor, ASCII text and base64 of
 * text labelled {@code application/octet-stream}, and a protobuf of text. Then a sweep for false refusals: random
 * 64 KiB bodies and float32 tensors over many seeds, each of which must pass. Prints p50, p90 and max per shape and
 * the refusals of the sweep; no assertion (not a test).
 * <pre>java -cp target/classes:target/test-classes:$(deps) attest.bench.BinaryScanCpuTime [seeds]</pre>
 */
public final class BinaryScanCpuTime {
    private BinaryScanCpuTime() {
    }

    public static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    public static byte[] float32(long seed, int n) {
        Random r = new Random(seed);
        ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat((float) (r.nextGaussian() * (1 + i % 1000)));
        }
        return b.array();
    }

    static byte[] text(int n) {
        String words = "The quarterly figures for order 1234567 were revised on 2024-06-28 by build v1.2.3.4 and the "
                + "model answered within 250 ms; nothing in this sentence is a card, an SSN or an address. ";
        StringBuilder b = new StringBuilder(n);
        while (b.length() < n) {
            b.append(words);
        }
        return b.substring(0, n).getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] protobuf(int n) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] t = text(100);
        while (out.size() < n) {
            out.write(0x12);
            out.write(t.length);
            out.write(t, 0, t.length);
            out.write(0x18);
            out.write(0x2a);
        }
        return out.toByteArray();
    }

    public static void main(String[] args) {
        int seeds = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        Masker masker = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
                "bench-key-bench-key-bench-key-32".getBytes(StandardCharsets.UTF_8));
        Map<String, byte[]> shapes = new LinkedHashMap<>();
        shapes.put("random 64 KiB", random(1, 64 * 1024));
        shapes.put("float32 tensor 64 KiB", float32(1, 16 * 1024));
        shapes.put("ASCII text 64 KiB", text(64 * 1024));
        shapes.put("base64 of text 64 KiB", Base64.getEncoder().encode(text(48 * 1024)));
        shapes.put("protobuf of text 64 KiB", protobuf(64 * 1024));
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (Map.Entry<String, byte[]> s : shapes.entrySet()) {
            byte[] body = s.getValue();
            for (int i = 0; i < 200; i++) {
                AnswerMasker.mask(body, "application/octet-stream", masker, x -> { });
            }
            int n = 300;
            long[] t = new long[n];
            for (int i = 0; i < n; i++) {
                long c = mx.getCurrentThreadCpuTime();
                AnswerMasker.mask(body, "application/octet-stream", masker, x -> { });
                t[i] = mx.getCurrentThreadCpuTime() - c;
            }
            Arrays.sort(t);
            System.out.printf("%-26s cpu p50 %7.3f ms, p90 %7.3f ms, max %7.3f ms (n=%d)%n", s.getKey(), t[n / 2] / 1e6,
                    t[n * 9 / 10] / 1e6, t[n - 1] / 1e6, n);
        }
        int refused = 0;
        for (long seed = 1; seed <= seeds; seed++) {
            for (byte[] body : new byte[][] {random(seed, 64 * 1024), float32(seed, 16 * 1024)}) {
                try {
                    AnswerMasker.mask(body, "application/octet-stream", masker, r -> { });
                } catch (MaskingFailedException e) {
                    refused++;
                    System.out.println("refused: seed " + seed + " (" + e.getMessage() + ")");
                }
            }
        }
        System.out.printf("false refusals: %d of %d clean bodies (random 64 KiB and float32 tensors)%n", refused,
                seeds * 2);
    }
}
