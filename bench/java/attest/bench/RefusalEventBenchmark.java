package attest.bench;

import attest.evidence.EvidenceAssembler;
import attest.evidence.EvidenceEvents;
import attest.evidence.EvidenceRecord;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * CPU of a refusal's Kafka event (a request without a valid token, refused at the door: the flood case), written with
 * a generator ({@code streaming}, {@link EvidenceEvents#refusal}) against the way it was built before issue #12's
 * change ({@code tree}, {@code attest.evidence.RefusalEventBefore}: the call's full terminal event, read back into a
 * Jackson tree, cut, and written out again without its nulls). Run:
 * {@code java -cp <test classpath> org.openjdk.jmh.Main RefusalEventBenchmark -f 1 -wi 2 -i 3} (docs/benchmarks.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
public class RefusalEventBenchmark {
    private static final Instant NOW = Instant.parse("2026-11-30T10:15:30.123456Z");

    private EvidenceRecord refusal;

    @Setup
    public void setup() {
        EvidenceEvents.keyDigestsWith(new byte[32]);
        refusal = new EvidenceAssembler("gw-1").refusal(new attest.http.RefusedRequest(401, "invalid_token",
                "no valid token", "POST", "/llm/v1/chat/completions?x=1", "10.0.0.9", null, 1234L, "f".repeat(64),
                "expired"), NOW);
    }

    @Benchmark
    public String streaming() {
        return EvidenceEvents.refusal(refusal, "attest.evidence.v1", NOW).getPayload();
    }

    @Benchmark
    public String tree() {
        return attest.evidence.RefusalEventBefore.payload(refusal, "attest.evidence.v1", NOW, UUID.randomUUID());
    }
}
