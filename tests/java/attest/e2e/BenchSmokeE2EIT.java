package attest.e2e;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The benchmark scripts still run: bench/run.sh and bench/concurrency.sh with short settings complete and print
 * every figure they promise. The figures' values are not judged here (a benchmark is not a timed test); their
 * presence, as numbers, is.
 */
class BenchSmokeE2EIT {
    static final Path REPO = Path.of("").toAbsolutePath();

    static String run(String script, Map<String, String> env) throws IOException, InterruptedException {
        Path log = Files.createTempFile("bench-smoke", ".log");
        ProcessBuilder pb = new ProcessBuilder("bash", script).directory(REPO.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(env);
        // the classpath this test runs on: the scripts then need no Maven of their own
        pb.environment().put("BENCH_CLASSPATH", System.getProperty("java.class.path"));
        Process p = pb.start();
        boolean ended = p.waitFor(5, TimeUnit.MINUTES);
        if (!ended) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(ended).as("%s ended within 5 minutes; its output:%n%s", script, out).isTrue();
        assertThat(p.exitValue()).as("%s exit status; its output:%n%s", script, out).isZero();
        return out;
    }

    static final String NUM = "-?[0-9]+(\\.[0-9]+)?";

    @Test
    void should_run_the_data_path_bench_against_direct_nginx_and_attest_and_print_its_figures() throws Exception {
        String out = run("bench/run.sh", Map.of("DURATION", "1s", "WARMUP", "1s", "STREAM_WARMUP", "1s",
                "STREAMS", "3", "CONNECTIONS", "4", "KAFKA", "false"));

        for (String figure : List.of(
                "\\| direct \\(static nginx upstream\\) \\| " + NUM + " \\|",
                "\\| nginx reverse proxy \\| " + NUM + " \\|",
                "\\| through Attest \\| " + NUM + " \\|",
                "\\| through Attest, 1 connection \\| " + NUM + " \\| " + NUM + " \\| " + NUM + " \\| 0 \\|",
                "saturated throughput: Attest / nginx proxy " + NUM,
                "added latency at 1 connection: nginx proxy p50 \\+" + NUM + " ms, p99 \\+" + NUM
                        + " ms; Attest p50 \\+" + NUM + " ms, p99 \\+" + NUM + " ms",
                "streams on one kept-alive connection, whole one-event stream p50: direct " + NUM
                        + " ms, nginx proxy " + NUM + " ms .*Attest " + NUM + " ms .*non-200 0",
                "stream time to first byte, new connection each \\(median of 3\\): direct " + NUM
                        + " ms, nginx proxy " + NUM + " ms .*Attest " + NUM + " ms")) {
            assertThat(out).as("run.sh prints %s", figure).containsPattern(figure);
        }
    }

    @Test
    void should_run_the_guarantees_bench_with_each_guarantee_off_alone_and_print_its_figures() throws Exception {
        String out = run("bench/guarantees.sh", Map.of("DURATION", "1s", "WARMUP", "1s", "ROUNDS", "1",
                "CONNECTIONS", "4", "KAFKA", "false"));

        List<String> variants = List.of("all", "identity", "policy", "masking", "evidence", "encryption", "relay",
                "tracing");
        // requests/s [range over the rounds] | p50 | p99
        String figures = " \\| [^|]+ \\| " + NUM + " \\[" + NUM + "-" + NUM + "\\] \\| " + NUM + " \\| " + NUM;
        for (String title : List.of("saturated, 4 connections", "1 connection")) {
            assertThat(out).as("guarantees.sh prints its %s table", title).contains(title + " (medians of 1 round(s)");
            String table = out.substring(out.indexOf(title + " (medians of 1 round(s)"));
            assertThat(table).as("guarantees.sh prints the nginx anchor (%s)", title)
                    .containsPattern("\\| nginx" + figures);
            for (String v : variants) {
                String diff = "all".equals(v) ? "- \\| -"
                        : "[+-]?" + NUM + " \\([+-]?" + NUM + "%\\)( within noise)? \\| [+-]?" + NUM;
                assertThat(table).as("guarantees.sh prints %s (%s)", v, title)
                        .containsPattern("\\| " + v + figures + " \\| " + diff + " \\| [0-9]+ \\| [0-9]+ \\|");
            }
        }
        assertThat(out).containsPattern("\\[guarantees\\] load before: .*load average")
                .containsPattern("\\[guarantees\\] load after: .*load average")
                .containsPattern("non-200 answers in all measured runs: [0-9]+")
                .containsPattern("\\[guarantees\\] a call with a bogus token, HTTP status per variant:( [a-z]+ [0-9]{3})+")
                .containsPattern("\\[guarantees\\] store of evidence: records [0-9]+, with encrypted payloads [0-9]+");
    }

    @Test
    void should_run_the_concurrency_bench_streamed_and_not_and_print_its_figures() throws Exception {
        // outcomes are printed, not judged: on a loaded machine some calls may rightly fail closed (503)
        String out = run("bench/concurrency.sh", Map.of("CALLS", "100", "ANSWER_MS", "1000", "STREAM_MS", "1500",
                "EVENT_MS", "250", "PROBES", "3", "RAMP", "500", "KAFKA", "false", "WARMUP_S", "1"));

        assertThat(out).containsPattern(
                "(?m)^warm-up: [0-9]+ short calls answered \\(streams of ten events and non-streamed\\) in 1 s$");

        for (String mode : List.of("non-streamed", "streamed")) {
            assertThat(out).containsPattern("(?m)^" + mode + ": 100 calls, launched in " + NUM
                    + " s, all ended " + NUM + " s after the first; outcomes \\{(HTTP [0-9]{3}|[A-Za-z]+)=[0-9]+"
                    + "(, (HTTP [0-9]{3}|[A-Za-z]+)=[0-9]+)*\\}");
        }
        for (String figure : List.of(
                "time to first byte: p50 " + NUM + " ms, p99 " + NUM + " ms, max " + NUM + " ms",
                "call duration: p50 " + NUM + " ms, slowest " + NUM + " ms \\(upstream time 1000 ms",
                "call duration: p50 " + NUM + " ms, slowest " + NUM + " ms \\(upstream time 1500 ms",
                "new call meanwhile \\(3 probes, [0-9]+ calls in flight\\): time to first byte p50 " + NUM
                        + " ms vs idle " + NUM + " ms",
                "the same probes straight to the upstream, made alternately with them: p50 " + NUM + " ms meanwhile vs "
                        + NUM + " ms idle; the gateway's share \\(through minus straight\\): " + NUM
                        + " ms meanwhile vs " + NUM + " ms idle",
                "gateway: peak heap used " + NUM + " MiB \\(after GC " + NUM + " MiB\\), peak threads [1-9][0-9]*",
                "CPU from the launch to the last call's end, in cores: gateway " + NUM + ", upstream " + NUM
                        + ", load generator \\(with the probes\\) " + NUM + ", the whole machine " + NUM + " of [0-9]+",
                "TCP, the whole machine \\(/proc/net/netstat\\), over the run: listen queues overflowed [0-9]+, SYNs "
                        + "dropped at a listener [0-9]+, SYNs retransmitted [0-9]+; peak accept queue \\(ss, each "
                        + "second\\): gateway [0-9]+ of -?[0-9]+, upstream [0-9]+ of -?[0-9]+")) {
            assertThat(out).as("concurrency.sh prints %s", figure).containsPattern(figure);
        }
    }
}
