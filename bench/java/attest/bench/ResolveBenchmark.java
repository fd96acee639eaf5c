package attest.bench;

import attest.ingress.Upstream;
import attest.ingress.UpstreamRegistry;
import attest.ingress.UpstreamTarget;
import attest.upstream.UpstreamCredential;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The upstream's resolution of a request target, once per call (ResolveUpstreamProcessor): the path checked and
 * normalised (PathNormalizer), the upstream chosen by prefix and the upstream's URI built.
 * Run: {@code java -cp <test classpath> org.openjdk.jmh.Main ResolveBenchmark -f 1 -wi 3 -w 2s -i 5 -r 2s}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class ResolveBenchmark {
    @Param({"/llm/v1/chat/completions", "/llm/v1/chat/completions?api-version=2024-10-21", "/llm/v1/%63hat/completions"})
    public String target;

    private final UpstreamRegistry registry = new UpstreamRegistry(List.of(
            new Upstream("llm", "/llm", URI.create("http://127.0.0.1:8000"), UpstreamCredential.NONE,
                    Duration.ofSeconds(2), Duration.ofSeconds(30), Duration.ofSeconds(30)),
            new Upstream("other", "/other", URI.create("https://models.example:8443/base/"), UpstreamCredential.NONE,
                    Duration.ofSeconds(2), Duration.ofSeconds(30), Duration.ofSeconds(30))));

    @Benchmark
    public UpstreamTarget resolve() {
        return registry.resolve(target);
    }
}
