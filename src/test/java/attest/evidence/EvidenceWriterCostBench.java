package attest.evidence;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Not a test: a measurement of the evidence writer's cost, run on demand against an embedded PostgreSQL.
 * {@code mvn -B -q -o test -Dtest=EvidenceWriterCostBench -Dattest.bench=true [-Dattest.bench.calls=20000]
 * [-Dattest.bench.request-bytes=8192]} (the request body's size; by default a 70-byte chat completion).
 * Each forwarded call is an open insert and a terminal update with its event, from 32 callers at once, as the
 * gateway does; it prints the writer thread's CPU per write (ThreadMXBean), the PostgreSQL processes' CPU per
 * call (/proc, the postmaster's children) and the commits.
 */
@EnabledIfSystemProperty(named = "attest.bench", matches = "true")
class EvidenceWriterCostBench {
    @Test
    void measure() throws Exception {
        int calls = Integer.getInteger("attest.bench.calls", 20_000);
        int callers = 32;
        Path dir = Files.createTempDirectory("attest-bench-pg");
        Database db = Database.open("", "", "", dir, 0, 4, Duration.ofSeconds(5));
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(),
                new attest.evidence.chain.EvidenceChain("bench"), 10_000, 200, Duration.ofMillis(1),
                Duration.ofSeconds(30));
        byte[] key = new byte[32];
        writer.encryptWith(new attest.evidence.crypto.PayloadCipher(db.dataSource(),
                attest.evidence.crypto.MasterKey.fromBase64(Base64.getEncoder().encodeToString(key)),
                Duration.ofDays(1), Clock.systemUTC()));
        Thread writerThread = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("attest-evidence-writer")).findFirst().orElseThrow();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            run(writer, pool, 2_000, callers); // warm-up
            long cpu0 = mx.getThreadCpuTime(writerThread.getId());
            long pg0 = postgresTicks(dir);
            long commits0 = writer.commits();
            long written0 = writer.written();
            long t0 = System.nanoTime();
            run(writer, pool, calls, callers);
            long wall = System.nanoTime() - t0;
            long cpu = mx.getThreadCpuTime(writerThread.getId()) - cpu0;
            long pg = postgresTicks(dir) - pg0;
            long commits = writer.commits() - commits0;
            long written = writer.written() - written0;
            System.out.printf("BENCH calls=%d writes=%d commits=%d writes/commit=%.1f wall=%.2fs calls/s=%.0f "
                            + "writerCpu/write=%.1fus writerCpu/call=%.1fus postgresCpu/call=%.1fus%n",
                    calls, written, commits, (double) written / commits, wall / 1e9, calls / (wall / 1e9),
                    cpu / 1e3 / written, cpu / 1e3 / calls, pg * 10_000.0 / calls);
        } finally {
            pool.shutdownNow();
            writer.close();
            db.close();
        }
    }

    static void run(EvidenceWriter writer, ExecutorService pool, int calls, int callers) throws Exception {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        int per = calls / callers;
        for (int k = 0; k < callers; k++) {
            all.add(CompletableFuture.runAsync(() -> {
                for (int i = 0; i < per; i++) {
                    call(writer);
                }
            }, pool));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
    }

    /** The request body: a chat completion of {@code attest.bench.request-bytes} (70 by default). */
    static final byte[] REQUEST = request(Integer.getInteger("attest.bench.request-bytes", 70));

    static byte[] request(int size) {
        String head = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"";
        String tail = "\"}]}";
        String words = "The quarterly report covers revenue, churn and the roadmap. ";
        int n = Math.max(2, size - head.length() - tail.length());
        return (head + words.repeat(n / words.length() + 1).substring(0, n) + tail).getBytes();
    }

    static void call(EvidenceWriter writer) {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.randomUUID());
        r.setRequestId(UUID.randomUUID().toString());
        r.setInstanceId("bench");
        r.setState(EvidenceRecord.OPEN);
        r.setReceivedAt(Instant.now());
        r.setSourceAddress("127.0.0.1");
        r.setSubject("s-1");
        r.setUsername("alice");
        r.setPrincipalType("user");
        r.setClientId("attest-cli");
        r.setRealmRoles(new String[]{"llm-user"});
        r.setGroups(new String[0]);
        r.setTokenId("t-1");
        r.setIssuer("http://127.0.0.1:8180/realms/attest");
        r.setMethod("POST");
        r.setPath("/llm/v1/chat/completions");
        r.setUpstream("openai");
        r.setModel("gpt-4o-mini");
        r.setStreamed(false);
        r.setDecision("allow");
        r.setRuleId("default");
        r.setReason("ok");
        r.setRulesVersion("9".repeat(64));
        r.setRequestBody(REQUEST.clone());
        r.setRequestSize((long) REQUEST.length);
        r.setRequestSha256("a".repeat(64));
        r.setForwardedAt(Instant.now());
        writer.insert(r, null);
        r.setState(EvidenceRecord.TERMINAL);
        r.setOutcome("completed");
        r.setStatus(200);
        r.setUpstreamStatus(200);
        r.setFirstByteAt(Instant.now());
        r.setCompletedAt(Instant.now());
        r.setDurationMs(1L);
        r.setResponseBody("{\"choices\":[{\"message\":{\"content\":\"hello\"}}]}".getBytes());
        r.setResponseSize(46L);
        r.setResponseSha256("b".repeat(64));
        r.setResponseTruncated(false);
        r.setForwardedSha256("c".repeat(64));
        r.setUsage(new attest.usage.UsageMeter());
        writer.update(r, EvidenceEvents.terminal(r, "attest.evidence.v1", Instant.now()));
    }

    /** utime + stime (clock ticks) of the postmaster and its children. */
    static long postgresTicks(Path dataDir) throws Exception {
        String postmaster = Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).strip();
        long ticks = 0;
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    // after the comm: state(0) ppid(1) ... utime(11) stime(12)
                    if (f[1].equals(postmaster) || p.getFileName().toString().equals(postmaster)) {
                        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                    }
                } catch (java.io.IOException gone) {
                    // a process that ended meanwhile
                }
            }
        }
        return ticks;
    }
}
