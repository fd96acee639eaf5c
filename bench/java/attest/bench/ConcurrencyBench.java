package attest.bench;

import attest.stack.KafkaBroker;
import attest.stack.KeycloakServer;
import attest.stack.PostgresServer;
import attest.stack.Started;
import attest.stack.TokenClient;
import attest.stack.Waits;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * bench/concurrency.sh: many calls in flight at once through one gateway, each held by a slow upstream
 * ({@link SlowUpstream}, in a JVM of its own): non-streamed calls answered after {@code answer-ms}, then streams
 * that last {@code stream-ms}. The gateway runs in a JVM of its own (its heap and threads are its own) with every
 * guarantee of the data path on (identity, policy, masking, evidence committed before the answer, chain,
 * encryption, outbox to Kafka). For each run it reports how many calls were answered, the time to first byte and
 * the slowest call, the time to first byte of a new call made meanwhile against the same call made idle, and the
 * gateway's peak heap (used, after any collection) and peak thread count.
 * <p>
 * It measures, it does not judge: the figures are printed, and a run that could not be made says why.
 */
public final class ConcurrencyBench {
    private ConcurrencyBench() {
    }

    record Call(long startNanos, long headNanos, long endNanos, int status, String error) {
    }

    public static void main(String[] args) throws Exception {
        if (System.getProperty("jdk.httpclient.keepalive.timeout") == null) {
            // before any HttpClient exists: idle connections close after 2 s (JDK 17, where a client cannot be closed)
            System.setProperty("jdk.httpclient.keepalive.timeout", "2");
        }
        int calls = Integer.getInteger("calls", 10_000);
        long answerMs = Long.getLong("answer-ms", 10_000);
        long streamMs = Long.getLong("stream-ms", 25_000);
        long eventMs = Long.getLong("event-ms", 500);
        int rampPerSecond = Integer.getInteger("ramp-per-second", 2_000);
        int probes = Integer.getInteger("probes", 20);
        String modes = System.getProperty("modes", "plain,stream");
        Path repo = Path.of("").toAbsolutePath();
        Path work = repo.resolve("target/bench-concurrency");
        Files.createDirectories(work);
        StringBuilder report = new StringBuilder();
        // this run's database, deleted when the stack has stopped (each run left about 250 MB in target/)
        Path pgdata = work.resolve("pgdata-" + UUID.randomUUID());
        try (Started started = new Started("concurrency-bench")) {
            KeycloakServer.reuseOrStart(started, repo, work, 8180);
            // -Dkafka=false (the CI smoke): no broker; the outbox keeps the events, the relay is off
            KafkaBroker kafka = null;
            if (Boolean.parseBoolean(System.getProperty("kafka", "true"))) {
                kafka = started.add(new KafkaBroker(repo, work.resolve("kafka"), KafkaBroker.freePortPair()));
                kafka.wipe(); // a new storage each run: one left by an earlier run could keep the broker from starting
                kafka.start();
            }
            PostgresServer pg = started.add(new PostgresServer(pgdata, PostgresServer.freePort()));
            pg.start();
            Child upstream = started.add(Child.java(work.resolve("upstream.log"), Map.of("port", "0", "threads", "2",
                    "answer-ms", String.valueOf(answerMs), "stream-ms", String.valueOf(streamMs),
                    "event-ms", String.valueOf(eventMs)), "attest.bench.SlowUpstream"));
            String upstreamUrl = "http://127.0.0.1:" + upstream.awaitLine("port=", Duration.ofSeconds(60));
            Files.writeString(work.resolve("upstream.key"), "concurrency-bench");
            int port = PostgresServer.freePort();
            Map<String, String> p = new LinkedHashMap<>();
            p.put("attest.instance-id", "concurrency-bench");
            p.put("attest.data.port", String.valueOf(port));
            p.put("attest.control.port", String.valueOf(PostgresServer.freePort()));
            p.put("attest.db.url", pg.jdbcUrl());
            p.put("attest.db.user", "postgres");
            p.put("attest.kafka.brokers", kafka == null ? "" : kafka.bootstrap());
            p.put("attest.upstream.llm.base-url", upstreamUrl);
            p.put("attest.upstream.llm.credential.secret-env", "");
            p.put("attest.upstream.llm.credential.secret-file", work.resolve("upstream.key").toString());
            p.put("attest.upstream.llm.timeout-ms", String.valueOf(answerMs + 60_000));
            p.put("attest.evidence.signing-key-file", work.resolve("signing.key").toString());
            p.put("attest.evidence.master-key-file", work.resolve("master.key").toString());
            // one source address (loopback) holds every connection of the run: the caps must let it
            p.put("attest.http.max-connections", String.valueOf(calls + 1_000));
            p.put("attest.http.max-connections-per-source", String.valueOf(calls + 1_000));
            // and every call is in flight to the one upstream at once: its connection cap must let them too (past
            // it a call would wait for a connection, which is what this run measures the absence of)
            p.put("attest.upstream.llm.max-connections", String.valueOf(calls + 1_000));
            p.put("attest.evidence.queue-capacity", String.valueOf(Math.max(10_000, 2 * calls)));
            Child gateway = started.add(Child.java(work.resolve("gateway.log"), p, "attest.App",
                    System.getProperty("gateway.jvm", "-Xmx1g").split(" ")));
            Waits.until("the gateway on port " + port + " (log: " + work.resolve("gateway.log") + ")",
                    Duration.ofMinutes(3), () -> Waits.portOpen("127.0.0.1", port), gateway.process);
            String base = "http://127.0.0.1:" + port + "/llm/v1/chat/completions";
            report.append(String.format("concurrency bench: %d calls per run, launched at %d/s, "
                            + "non-streamed answered after %d ms, streams of %d ms (an event every %d ms)%n",
                    calls, rampPerSecond, answerMs, streamMs, eventMs));
            Sampler sampler = new Sampler(gateway.process.pid(), port,
                    Integer.parseInt(upstreamUrl.substring(upstreamUrl.lastIndexOf(':') + 1)));
            sampler.start();
            long warmup = Long.getLong("warmup-seconds", 20);
            if (warmup > 0) {
                String token = new TokenClient("http://127.0.0.1:8180/realms/attest").password("attest-cli", "alice");
                long warmed = warmUp(base, token, warmup);
                String line = String.format("warm-up: %d short calls answered (streams of ten events and non-streamed) "
                        + "in %d s", warmed, warmup);
                report.append(line).append(System.lineSeparator());
                System.out.println(line);
            }
            for (String mode : modes.split(",")) {
                boolean stream = mode.equals("stream");
                String token = new TokenClient("http://127.0.0.1:8180/realms/attest").password("attest-cli", "alice");
                String result = run(base, upstreamUrl + "/v1/chat/completions", token, stream, calls, rampPerSecond,
                        probes, stream ? streamMs : answerMs, sampler,
                        new long[]{gateway.process.pid(), upstream.process.pid(), ProcessHandle.current().pid()});
                report.append(result);
                System.out.println(result);
            }
            sampler.stop();
        }
        attest.stack.Dirs.delete(pgdata);
        Files.writeString(work.resolve("concurrency.txt"), report.toString());
        System.out.println("[concurrency] results in " + work.resolve("concurrency.txt"));
        System.exit(0);
    }

    /**
     * Short calls from 16 callers for {@code seconds}: non-streamed ones the upstream answers at once, and streams
     * of ten events 20 ms apart. The gateway's JIT-compiled code is then that of a gateway that has been serving,
     * as in production, rather than compiled while the run is measured (a cold gateway spent a third of a core on
     * compilation during the run). Returns the calls answered 200.
     */
    static long warmUp(String base, String token, long seconds) throws Exception {
        AtomicLong answered = new AtomicLong();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(16);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try {
            List<java.util.concurrent.Future<?>> running = new ArrayList<>();
            for (int c = 0; c < 16; c++) {
                boolean stream = c % 2 == 0;
                running.add(callers.submit(() -> {
                    while (System.nanoTime() < deadline) {
                        HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create(base))
                                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(stream ? WARM_STREAM : body(false, true)))
                                .build(),
                                HttpResponse.BodyHandlers.discarding());
                        if (r.statusCode() == 200) {
                            answered.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : running) {
                f.get(seconds + 120, TimeUnit.SECONDS);
            }
        } finally {
            callers.shutdownNow();
            if (client instanceof AutoCloseable closeable) {
                closeable.close();
            }
        }
        return answered.get();
    }

    /** A warm-up's stream: ten events 20 ms apart (SlowUpstream's model "warm"). */
    static final String WARM_STREAM = "{\"model\":\"warm\",\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"think about it\"}]}";

    static String body(boolean stream, boolean probe) {
        return "{\"model\":\"" + (probe ? "probe" : "slow") + "\"," + (stream ? "\"stream\":true," : "")
                + "\"messages\":[{\"role\":\"user\",\"content\":\"think about it\"}]}";
    }

    /**
     * @param direct the upstream itself: each probe through the gateway is paired with the same call made straight to
     *               the upstream at the same moment, so that what the machine's load adds (the upstream, the load
     *               generator and the gateway share two cores) is told apart from what the gateway adds
     */
    static String run(String base, String direct, String token, boolean stream, int calls, int rampPerSecond,
                      int probes, long upstreamMs, Sampler sampler, long[] pids) throws Exception {
        String name = stream ? "streamed" : "non-streamed";
        HttpClient probeClient = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpClient load = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(30)).build();
        for (int i = 0; i < 20; i++) {
            probe(probeClient, base, token); // warm-up
            probe(probeClient, direct, null);
        }
        List<Double> idle = new ArrayList<>();
        List<Double> idleDirect = new ArrayList<>();
        for (int i = 0; i < probes; i++) {
            idle.add(probe(probeClient, base, token));
            idleDirect.add(probe(probeClient, direct, null));
        }
        sampler.reset();
        double[] cpuBefore = cpu(pids);
        long[] tcpBefore = tcp();
        Map<Integer, Call> results = new ConcurrentHashMap<>();
        AtomicInteger heads = new AtomicInteger();
        AtomicLong firstByteWithin5s = new AtomicLong();
        List<CompletableFuture<?>> all = new ArrayList<>(calls);
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            long due = t0 + TimeUnit.SECONDS.toNanos(i) / rampPerSecond;
            long now = System.nanoTime();
            if (due > now) {
                TimeUnit.NANOSECONDS.sleep(due - now); // pacing the launch, not waiting for an outcome
            }
            int id = i;
            long start = System.nanoTime();
            long[] head = new long[1];
            HttpRequest req = HttpRequest.newBuilder(URI.create(base)).timeout(Duration.ofMillis(upstreamMs + 120_000))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body(stream, false))).build();
            all.add(load.sendAsync(req, info -> {
                head[0] = System.nanoTime();
                heads.incrementAndGet();
                if (head[0] - start <= TimeUnit.SECONDS.toNanos(5)) {
                    firstByteWithin5s.incrementAndGet();
                }
                return HttpResponse.BodySubscribers.discarding();
            }).whenComplete((r, err) -> results.put(id, new Call(start, head[0], System.nanoTime(),
                    r == null ? -1 : r.statusCode(), err == null ? null : cause(err)))));
        }
        long launched = System.nanoTime();
        // a new call made while all of them are in flight
        List<Double> busy = new ArrayList<>();
        List<Double> busyDirect = new ArrayList<>();
        for (int i = 0; i < probes; i++) {
            busy.add(probe(probeClient, base, token));
            busyDirect.add(probe(probeClient, direct, null));
        }
        int inFlightDuringProbes = calls - results.size();
        // and once more midway between the launch's end and the first call's end, where there are 2 s or more: every
        // call in flight, none starting (the set above is made as the last launched calls are still opening)
        List<Double> steady = new ArrayList<>();
        List<Double> steadyDirect = new ArrayList<>();
        long firstEnds = t0 + TimeUnit.MILLISECONDS.toNanos(upstreamMs);
        long mid = System.nanoTime() + (firstEnds - System.nanoTime()) / 2;
        int inFlightDuringSteady = -1;
        if (firstEnds - System.nanoTime() >= TimeUnit.SECONDS.toNanos(2)) {
            TimeUnit.NANOSECONDS.sleep(Math.max(0, mid - System.nanoTime())); // pacing the bench, not a wait for an outcome
            for (int i = 0; i < probes; i++) {
                steady.add(probe(probeClient, base, token));
                steadyDirect.add(probe(probeClient, direct, null));
            }
            inFlightDuringSteady = calls - results.size();
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
                .handle((v, e) -> null).get(upstreamMs + 300_000, TimeUnit.MILLISECONDS);
        long ended = System.nanoTime();
        double[] cpuAfter = cpu(pids);
        long[] tcpAfter = tcp();
        // this run's connections must not outlive it: left open (the JDK client keeps idle ones for 20 minutes),
        // they held most of the gateway's connection cap (attest.http.max-connections) during the next run, whose
        // calls were then refused (503) or reset. HttpClient closes from JDK 21 on; on 17, main shortened the
        // client's keep-alive instead.
        for (HttpClient c : List.of(load, probeClient)) {
            if (c instanceof AutoCloseable closeable) {
                closeable.close();
            }
        }
        Map<String, Integer> outcomes = new java.util.TreeMap<>();
        List<Double> totals = new ArrayList<>();
        List<Double> ttfb = new ArrayList<>();
        for (Call c : results.values()) {
            outcomes.merge(c.error() != null ? c.error() : "HTTP " + c.status(), 1, Integer::sum);
            totals.add((c.endNanos() - c.startNanos()) / 1e6);
            if (c.headNanos() > 0) {
                ttfb.add((c.headNanos() - c.startNanos()) / 1e6);
            }
        }
        Collections.sort(totals);
        Collections.sort(ttfb);
        return String.format("""

                %s: %d calls, launched in %.1f s, all ended %.1f s after the first; outcomes %s
                  time to first byte: p50 %.0f ms, p99 %.0f ms, max %.0f ms; first byte within 5 s: %d
                  call duration: p50 %.0f ms, slowest %.0f ms (upstream time %d ms: slowest minus upstream %+.0f ms)
                  new call meanwhile (%d probes, %d calls in flight): time to first byte p50 %.2f ms vs idle %.2f ms \
                (ratio %.2f; probes not answered 200: %d)
                  the same probes straight to the upstream, made alternately with them: p50 %.2f ms meanwhile vs \
                %.2f ms idle; the gateway's share (through minus straight): %.2f ms meanwhile vs %.2f ms idle
                %s  gateway: peak heap used %.0f MiB (after GC %.0f MiB), peak threads %d
                  CPU from the launch to the last call's end, in cores: gateway %.2f, upstream %.2f, load generator \
                (with the probes) %.2f, the whole machine %.2f of %d
                  TCP, the whole machine (/proc/net/netstat), over the run: listen queues overflowed %d, SYNs dropped \
                at a listener %d, SYNs retransmitted %d; peak accept queue (ss, each second): gateway %d of %d, \
                upstream %d of %d
                """, name, calls, (launched - t0) / 1e9, (ended - t0) / 1e9, outcomes, pct(ttfb, 50), pct(ttfb, 99),
                pct(ttfb, 100), firstByteWithin5s.get(), pct(totals, 50), pct(totals, 100), upstreamMs,
                pct(totals, 100) - upstreamMs, probes, inFlightDuringProbes, median(busy), median(idle),
                median(busy) / median(idle), failed(idle) + failed(busy), median(busyDirect), median(idleDirect),
                median(busy) - median(busyDirect), median(idle) - median(idleDirect),
                steady.isEmpty() ? "" : String.format("""
                          new call midway (%d probes, %d calls in flight, none starting): time to first byte p50 %.2f ms \
                        (ratio %.2f to idle; probes not answered 200: %d); straight to the upstream %.2f ms; the \
                        gateway's share %.2f ms
                        """, probes, inFlightDuringSteady, median(steady), median(steady) / median(idle), failed(steady),
                        median(steadyDirect), median(steady) - median(steadyDirect)),
                sampler.peakHeapMiB(), sampler.peakOldMiB(), sampler.peakThreads(),
                cores(cpuBefore, cpuAfter, 0, ended - t0), cores(cpuBefore, cpuAfter, 1, ended - t0),
                cores(cpuBefore, cpuAfter, 2, ended - t0), cores(cpuBefore, cpuAfter, 3, ended - t0),
                Runtime.getRuntime().availableProcessors(), tcpAfter[0] - tcpBefore[0], tcpAfter[1] - tcpBefore[1],
                tcpAfter[2] - tcpBefore[2], sampler.peakQueue(0), sampler.queueLimit(0), sampler.peakQueue(1),
                sampler.queueLimit(1));
    }

    /** A new streamed call that the upstream answers at once: milliseconds to the response head. */
    static double probe(HttpClient client, String base, String token) throws Exception {
        long t0 = System.nanoTime();
        long[] head = new long[1];
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base)).header("Content-Type", "application/json");
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = client.send(request.POST(HttpRequest.BodyPublishers.ofString(body(true, true)))
                .build(), info -> {
            head[0] = System.nanoTime();
            return HttpResponse.BodySubscribers.ofString(StandardCharsets.UTF_8);
        });
        if (r.statusCode() != 200) {
            System.out.println("[concurrency] a probe call answered " + r.statusCode() + ": " + r.body());
            return Double.NaN;
        }
        return (head[0] - t0) / 1e6;
    }

    /**
     * CPU seconds so far (user and system) of each process, from /proc/PID/stat, and last the whole machine's busy
     * seconds (/proc/stat: every state but idle and iowait); NaN where it cannot be read (not Linux).
     */
    static double[] cpu(long[] pids) {
        double tick = 100.0; // USER_HZ, 100 on every Linux that runs here (getconf CLK_TCK)
        double[] out = new double[pids.length + 1];
        for (int i = 0; i < pids.length; i++) {
            try {
                String stat = Files.readString(Path.of("/proc/" + pids[i] + "/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                out[i] = (Long.parseLong(f[11]) + Long.parseLong(f[12])) / tick; // utime, stime (fields 14 and 15)
            } catch (IOException | RuntimeException e) {
                out[i] = Double.NaN;
            }
        }
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i < f.length && i <= 7; i++) { // user, nice, system, idle, iowait, irq, softirq (not steal)
                if (i != 4 && i != 5) { // idle, iowait
                    busy += Long.parseLong(f[i]);
                }
            }
            out[pids.length] = busy / tick;
        } catch (IOException | RuntimeException e) {
            out[pids.length] = Double.NaN;
        }
        return out;
    }

    /**
     * The machine's TCP counters (/proc/net/netstat, TcpExt): listen queue overflows, SYNs dropped at a listener, SYNs
     * retransmitted; -1 each where they cannot be read. A connect whose SYN a full listen queue dropped is retried a
     * second later, then three: the stand-in upstream's overflowing queue is one way a call's upstream connect goes
     * past its limit (504) that the gateway has no part in.
     */
    static long[] tcp() {
        long[] out = {-1, -1, -1};
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/net/netstat"));
            for (int i = 0; i + 1 < lines.size(); i++) {
                if (lines.get(i).startsWith("TcpExt:") && lines.get(i + 1).startsWith("TcpExt:")) {
                    String[] names = lines.get(i).split("\\s+");
                    String[] values = lines.get(i + 1).split("\\s+");
                    List<String> wanted = List.of("ListenOverflows", "ListenDrops", "TCPSynRetrans");
                    for (int k = 0; k < names.length && k < values.length; k++) {
                        int at = wanted.indexOf(names[k]);
                        if (at >= 0) {
                            out[at] = Long.parseLong(values[k]);
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: -1
        }
        return out;
    }

    /** The cores one process (or the machine, last) used on average over {@code nanos}. */
    static double cores(double[] before, double[] after, int i, long nanos) {
        return (after[i] - before[i]) / (nanos / 1e9);
    }

    static double pct(List<Double> sorted, int p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    /** What ended a call without an answer, as its innermost exception's class (no message: it may hold a URL). */
    static String cause(Throwable err) {
        Throwable c = err;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.getClass().getSimpleName();
    }

    static long failed(List<Double> probes) {
        return probes.stream().filter(v -> v.isNaN()).count();
    }

    static double median(List<Double> values) {
        List<Double> s = new ArrayList<>(values.stream().filter(v -> !v.isNaN()).toList());
        Collections.sort(s);
        return pct(s, 50);
    }

    /** Samples the gateway's heap (jstat) and threads (/proc) every second. */
    static final class Sampler {
        private final long pid;
        private final String jstat = Path.of(System.getProperty("java.home"), "bin", "jstat").toString();
        private volatile boolean running = true;
        private volatile double peakHeap;
        private volatile double peakOld;
        private volatile int peakThreads;
        private Thread thread;
        private volatile Process jstatProcess;
        /** The listening ports watched (gateway, upstream), their peak accept queue and its limit (ss). */
        private final int[] ports;
        private final int[] peakQueue;
        private final int[] queueLimit;

        Sampler(long pid, int... ports) {
            this.pid = pid;
            this.ports = ports;
            this.peakQueue = new int[ports.length];
            this.queueLimit = new int[ports.length];
            java.util.Arrays.fill(queueLimit, -1);
        }

        int peakQueue(int i) {
            return peakQueue[i];
        }

        int queueLimit(int i) {
            return queueLimit[i];
        }

        /** Each watched listener's accept queue now (ss -Hltn: Recv-Q, and its limit Send-Q). */
        private void sampleQueues() {
            try {
                Process ss = new ProcessBuilder("ss", "-Hltn").redirectErrorStream(true).start();
                String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                ss.waitFor(5, TimeUnit.SECONDS);
                for (String line : out.split("\n")) {
                    String[] f = line.trim().split("\\s+"); // State Recv-Q Send-Q Local Peer
                    if (f.length < 4) {
                        continue;
                    }
                    for (int i = 0; i < ports.length; i++) {
                        if (f[3].endsWith(":" + ports[i])) {
                            peakQueue[i] = Math.max(peakQueue[i], Integer.parseInt(f[1]));
                            queueLimit[i] = Integer.parseInt(f[2]);
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                // no ss here: the queues are not reported (-1)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void start() {
            // one jstat for the whole run, printing a line a second: a jstat started per sample was a JVM launch a
            // second, 15-30% of a core taken from the machine the gateway runs on
            thread = new Thread(() -> {
                Process p = null;
                try {
                    p = new ProcessBuilder(jstat, "-gc", String.valueOf(pid), "1000").redirectErrorStream(true).start();
                    jstatProcess = p;
                    BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                    String[] names = null;
                    String line;
                    while (running && (line = r.readLine()) != null) {
                        String[] fields = line.trim().split("\\s+");
                        if (names == null || fields.length > 0 && fields[0].equals(names[0])) {
                            names = fields; // the header (printed once, or again if jstat repeats it)
                        } else {
                            sample(names, fields);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // the gateway may be gone at the end of a run
                } finally {
                    if (p != null) {
                        p.destroy();
                    }
                }
            }, "gateway-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        void reset() {
            java.util.Arrays.fill(peakQueue, 0);
            peakHeap = 0;
            peakOld = 0;
            peakThreads = 0;
        }

        void stop() {
            running = false;
            Process p = jstatProcess;
            if (p != null) {
                p.destroy();
            }
            thread.interrupt();
        }

        double peakHeapMiB() {
            return peakHeap;
        }

        double peakOldMiB() {
            return peakOld;
        }

        int peakThreads() {
            return peakThreads;
        }

        private void sample(String[] names, String[] values) {
            sampleQueues();
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                    if (line.startsWith("Threads:")) {
                        peakThreads = Math.max(peakThreads, Integer.parseInt(line.substring(8).trim()));
                    }
                }
                double used = 0;
                double old = 0;
                for (int i = 0; i < names.length && i < values.length; i++) {
                    if (names[i].equals("S0U") || names[i].equals("S1U") || names[i].equals("EU")
                            || names[i].equals("OU")) {
                        used += Double.parseDouble(values[i]) / 1024;
                    }
                    if (names[i].equals("OU")) {
                        old = Double.parseDouble(values[i]) / 1024;
                    }
                }
                peakHeap = Math.max(peakHeap, used);
                peakOld = Math.max(peakOld, old);
            } catch (IOException | RuntimeException e) {
                // the gateway may be gone at the end of a run
            }
        }
    }

    /** A JVM of its own on this classpath, its output in a log file. */
    static final class Child implements AutoCloseable {
        final Process process;
        final Path log;

        private Child(Process process, Path log) {
            this.process = process;
            this.log = log;
        }

        static Child java(Path log, Map<String, String> props, String main, String... jvm) throws IOException {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            if (Runtime.version().feature() >= 24) {
                cmd.add("--sun-misc-unsafe-memory-access=allow"); // as bin/attest: no Unsafe warning from Netty
            }
            for (String j : jvm) {
                if (!j.isBlank()) {
                    cmd.add(j);
                }
            }
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            props.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
            cmd.add(main);
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.PIPE).start();
            return new Child(p, log);
        }

        /** The rest of the first log line that starts with {@code prefix}. */
        String awaitLine(String prefix, Duration within) {
            String[] found = new String[1];
            Waits.until(prefix + " in " + log, within, () -> {
                try {
                    for (String line : Files.readAllLines(log)) {
                        if (line.startsWith(prefix)) {
                            found[0] = line.substring(prefix.length()).trim();
                            return true;
                        }
                    }
                } catch (IOException e) {
                    return false;
                }
                return false;
            }, process);
            return found[0];
        }

        @Override
        public void close() throws Exception {
            process.getOutputStream().close();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        }
    }
}
