package attest.masking;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/** The loaded rule sets, and the time budget that every masking pass must meet. */
public final class MaskingService {
    private volatile List<MaskingRuleSet> ruleSets;
    private final PassClock clock;
    private final int streamLimit;

    public MaskingService(List<MaskingRuleSet> ruleSets, Duration budget) {
        this(ruleSets, budget, Masker.DEFAULT_STREAM_LIMIT);
    }

    /**
     * {@code streamLimit}: the most a live stream's masker holds at a time, in bytes ({@code attest.masking.max-held-bytes},
     * see {@link Masker#DEFAULT_STREAM_LIMIT}); past it the stream is cut.
     */
    public MaskingService(List<MaskingRuleSet> ruleSets, Duration budget, int streamLimit) {
        if (streamLimit <= 0) {
            throw new IllegalArgumentException("attest.masking.max-held-bytes must be positive: " + streamLimit);
        }
        this.ruleSets = List.copyOf(ruleSets);
        this.clock = new PassClock(budget.toNanos());
        this.streamLimit = streamLimit;
        warmUp(this.ruleSets);
    }

    /** The most a live stream's masker holds at a time, in bytes. */
    public int streamLimit() {
        return streamLimit;
    }

    /** Puts new rule sets in force (a reload), warmed up first so that the first calls under them meet the budget. */
    public void replace(List<MaskingRuleSet> next) {
        List<MaskingRuleSet> copy = List.copyOf(next);
        warmUp(copy);
        this.ruleSets = copy;
    }

    /** Answers of every shape with every entity type, masked once at start (not counted against the budget). */
    private static final String WARM_UP_TEXT = "Card 4111 1111 1111 1111, SSN 536-90-4399, jane.doe@example.com, "
            + "+1 415 555 2671, DE89 3704 0044 0532 0130 00, 192.168.10.7, 2001:db8::1, ts 1719557306044, v1.2.3.4";

    /**
     * The first pass of a fresh JVM (class loading, pattern compilation, JIT) can take longer than the budget on
     * a busy machine, and would fail the first calls closed: so every rule set masks a sample of each answer
     * shape once here. Block rules and failures are ignored: this output goes nowhere.
     */
    private static void warmUp(List<MaskingRuleSet> ruleSets) {
        String json = "{\"choices\":[{\"message\":{\"content\":\"" + WARM_UP_TEXT + "\"},\"logprobs\":"
                + "{\"content\":[{\"token\":\"x\",\"bytes\":[120],\"top_logprobs\":[]}]}}]}";
        String sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + WARM_UP_TEXT
                + "\"},\"finish_reason\":\"stop\"}]}\n\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"x\"}"
                + "\n\ndata: [DONE]\n\n";
        // a clean binary answer, read to its end by every pass of BinaryScan (UTF-8, UTF-16, base64, structures)
        String clean = "plain warm-up text, order 1234567, build v1.2.3";
        java.nio.charset.Charset utf8 = java.nio.charset.StandardCharsets.UTF_8;
        byte[] binary = concat(("\u0000\u0001" + clean + "\u0000").getBytes(utf8),
                clean.getBytes(java.nio.charset.StandardCharsets.UTF_16LE),
                java.util.Base64.getEncoder().encode(clean.getBytes(utf8)));
        for (MaskingRuleSet r : ruleSets) {
            for (int i = 0; i < 3; i++) {
                try {
                    AnswerMasker.mask(json.getBytes(java.nio.charset.StandardCharsets.UTF_8), "application/json",
                            r.masker(), x -> { });
                    AnswerMasker.mask(sse.getBytes(java.nio.charset.StandardCharsets.UTF_8), "text/event-stream",
                            r.masker(), x -> { });
                } catch (RuntimeException e) {
                    // a block rule refuses the sample; a failing detector fails real calls closed later
                }
                try {
                    AnswerMasker.mask(binary, "application/octet-stream", r.masker(), x -> { });
                } catch (RuntimeException e) {
                    // not expected (the sample is clean); real calls fail closed if it recurs
                }
            }
        }
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }

    public List<MaskingRuleSet> ruleSets() {
        return ruleSets;
    }

    /** The first rule set whose scope matches the call, if any. */
    public Optional<MaskingRuleSet> ruleSetFor(String upstream, String path) {
        return ruleSets.stream().filter(r -> r.appliesTo(upstream, path)).findFirst();
    }

    /**
     * Runs one masking pass. A block rule's {@link BlockedException} passes through; any other failure,
     * or a pass over the time budget, becomes {@link MaskingFailedException}: the caller must fail closed. The budget
     * is CPU time on the thread that runs the pass ({@link PassClock}): time spent waiting for a core or in a
     * collector's pause does not count against it.
     */
    public <T> T run(Supplier<T> pass) {
        long start = clock.start();
        long charged = clock.baseline();
        T result;
        try {
            result = pass.get();
        } catch (BlockedException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            throw new MaskingFailedException("a detector failed: " + e.getClass().getSimpleName());
        }
        if (clock.over(start, charged)) {
            throw new MaskingFailedException("masking exceeded its time budget");
        }
        return result;
    }
}
