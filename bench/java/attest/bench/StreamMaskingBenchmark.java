package attest.bench;

import attest.masking.Action;
import attest.masking.AnswerMasker;
import attest.masking.Masker;
import attest.masking.MaskingEngine;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
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
 * CPU per streamed event of the answer masker on one core: a chat-completions stream of {@value #EVENTS} chunks
 * of a few words each, pushed one event at a time as a relay does, then {@code [DONE]}. The figure is per event.
 * {@code shape=bare} is the bench stand-in upstream's event; {@code shape=full} carries what real servers send
 * beside the text (created, system_fingerprint, logprobs, finish_reason, usage), with the space before each word
 * as a model's tokens have it (so the last word of an event waits for the next event); {@code shape=logprobs}
 * has per-token logprobs as well. One entity per 40 words, as in {@link MaskingBenchmark}. Run with bench/masking.sh.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
public class StreamMaskingBenchmark {
    static final int EVENTS = 200;

    @Param({"bare", "full", "logprobs"})
    public String shape;

    private byte[][] events;
    private Masker masker;

    @Setup
    public void setup() {
        masker = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
                "bench-key-bench-key-bench-key-32".getBytes(StandardCharsets.UTF_8));
        events = stream(shape);
    }

    static byte[][] stream(String shape) {
        String[] words = MaskingBenchmark.payload(EVENTS * 24).split(" ");
        Random r = new Random(11);
        byte[][] out = new byte[EVENTS + 1][];
        int w = 0;
        for (int i = 0; i < EVENTS; i++) {
            StringBuilder piece = new StringBuilder();
            int n = 1 + r.nextInt(3);
            for (int k = 0; k < n && w < words.length; k++) {
                if (shape.equals("bare")) {
                    piece.append(words[w++]).append(' ');
                } else {
                    piece.append(' ').append(words[w++]); // as a model's tokens come: the space first
                }
            }
            String text = piece.toString().replace("\\", "\\\\").replace("\"", "\\\"");
            String chunk = switch (shape) {
                case "bare" -> "{\"id\":\"chatcmpl-slow\",\"object\":\"chat.completion.chunk\",\"model\":\"slow\","
                        + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"}}]}";
                case "full" -> "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\","
                        + "\"created\":1732963200,\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\","
                        + "\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                        + text + "\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}";
                default -> "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\","
                        + "\"created\":1732963200,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
                        + "\"delta\":{\"content\":\"" + text + "\"},\"logprobs\":{\"content\":[{\"token\":\"" + text
                        + "\",\"logprob\":-0.0012,\"bytes\":[119,111],\"top_logprobs\":[]}],\"refusal\":null},"
                        + "\"finish_reason\":null}]}";
            };
            out[i] = ("data: " + chunk + "\n\n").getBytes(StandardCharsets.UTF_8);
        }
        out[EVENTS] = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
        return out;
    }

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public int stream() {
        AnswerMasker.Streaming s = AnswerMasker.streaming("text/event-stream", masker, x -> { });
        int n = 0;
        for (byte[] e : events) {
            n += s.push(e).length;
        }
        return n + s.finish().length;
    }
}
