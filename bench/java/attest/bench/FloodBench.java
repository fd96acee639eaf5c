package attest.bench;

import attest.demo.DemoModelServer;
import attest.stack.Gateway;
import attest.stack.KeycloakServer;
import attest.stack.PostgresServer;
import attest.stack.Started;
import attest.stack.TokenClient;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * bench/flood.sh: an authenticated call's latency, idle and then during a flood of token-less 1 MiB requests at
 * the machine's capacity (loopback, bounded in time and count), side by side in one run against one gateway
 * with its default settings; and how much the evidence store grows per 1,000 refused requests.
 */
public final class FloodBench {
    static final int MIB = 1024 * 1024;

    private FloodBench() {
    }

    public static void main(String[] args) throws Exception {
        int calls = Integer.getInteger("flood.calls", 300);
        int flooders = Integer.getInteger("flood.threads", 2 * Runtime.getRuntime().availableProcessors());
        long floodSeconds = Long.getLong("flood.seconds", 20);
        long floodMax = Long.getLong("flood.max-requests", 50_000);
        Path repo = Path.of("").toAbsolutePath();
        Path work = repo.resolve("target/bench-flood");
        Files.createDirectories(work);
        try (Started started = new Started("flood-bench")) {
            // a Keycloak already serving realm attest on 8180 (mvn -Pdev, the test suite) is reused; else one is
            // started here from the Maven distribution and stopped at the end, as the test harness does
            if (!KeycloakServer.running(8180)) {
                started.add(new KeycloakServer(repo, work, 8180)).start();
            }
            PostgresServer pg = started.add(new PostgresServer(work.resolve("pgdata-" + UUID.randomUUID()),
                    PostgresServer.freePort()));
            pg.start();
            String key = "bench-" + UUID.randomUUID();
            DemoModelServer demo = started.add(new DemoModelServer("127.0.0.1", 0, key));
            demo.setRecording(false);
            Files.writeString(work.resolve("demo.key"), key);
            int port = PostgresServer.freePort();
            Map<String, String> p = new HashMap<>();
            p.put("attest.instance-id", "flood-bench");
            p.put("attest.data.port", String.valueOf(port));
            p.put("attest.control.port", String.valueOf(PostgresServer.freePort()));
            p.put("attest.db.url", pg.jdbcUrl());
            p.put("attest.db.user", "postgres");
            p.put("attest.kafka.brokers", "");
            p.put("attest.upstream.llm.base-url", demo.baseUrl());
            p.put("attest.upstream.llm.credential.secret-env", "");
            p.put("attest.upstream.llm.credential.secret-file", work.resolve("demo.key").toString());
            p.put("attest.evidence.signing-key-file", work.resolve("signing.key").toString());
            p.put("attest.evidence.master-key-file", work.resolve("master.key").toString());
            started.add(new Gateway(p)).start();
            String token = new TokenClient("http://127.0.0.1:8180/realms/attest").password("attest-cli", "alice");
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String base = "http://127.0.0.1:" + port;

            measure(http, base, token, 100); // warm-up
            List<Long> idle = measure(http, base, token, calls);
            long storeBefore = storeBytes(pg.jdbcUrl());

            AtomicBoolean flooding = new AtomicBoolean(true);
            AtomicLong sent = new AtomicLong();
            AtomicLong answered401 = new AtomicLong();
            ExecutorService pool = Executors.newFixedThreadPool(flooders);
            long deadline = System.nanoTime() + Duration.ofSeconds(floodSeconds).toNanos();
            for (int t = 0; t < flooders; t++) {
                pool.submit(() -> {
                    while (flooding.get() && System.nanoTime() < deadline && sent.incrementAndGet() <= floodMax) {
                        if (floodOne(port)) {
                            answered401.incrementAndGet();
                        }
                    }
                });
            }
            List<Long> underFlood = new ArrayList<>();
            while (System.nanoTime() < deadline && underFlood.size() < calls) {
                underFlood.addAll(measure(http, base, token, 1));
            }
            flooding.set(false);
            pool.shutdown();
            pool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES);
            long refused = Math.min(sent.get(), floodMax);
            Thread.sleep(Duration.ofSeconds(70).toMillis()); // the refusal window ends, its summaries are written
            long storeAfter = storeBytes(pg.jdbcUrl());
            String report = String.format("""
                    flood bench (%d flood threads, %d s at most, loopback, 1 MiB token-less requests)
                    authenticated chat p50 idle:         %.2f ms (%d calls)
                    authenticated chat p50 under flood:  %.2f ms (%d calls)   ratio %.2f
                    token-less requests sent: %d (answered 401: %d, %.0f/s)
                    evidence store growth: %d bytes in all, %.0f bytes per 1,000 refused requests
                    """, flooders, floodSeconds, p50(idle), idle.size(), p50(underFlood), underFlood.size(),
                    p50(underFlood) / p50(idle), refused, answered401.get(), refused / (double) floodSeconds,
                    storeAfter - storeBefore, (storeAfter - storeBefore) * 1000.0 / Math.max(1, refused));
            System.out.println(report);
            Files.writeString(work.resolve("flood.txt"), report);
        }
        System.exit(0);
    }

    static List<Long> measure(HttpClient http, String base, String token, int n) throws Exception {
        List<Long> micros = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/llm/v1/chat/completions"))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\","
                            + "\"content\":\"hello\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
            long us = (System.nanoTime() - t0) / 1000;
            if (r.statusCode() != 200) {
                throw new IllegalStateException("authenticated call answered " + r.statusCode());
            }
            micros.add(us);
        }
        return micros;
    }

    static double p50(List<Long> micros) {
        List<Long> s = new ArrayList<>(micros);
        Collections.sort(s);
        return s.isEmpty() ? Double.NaN : s.get(s.size() / 2) / 1000.0;
    }

    static final byte[] FLOOD;

    static {
        byte[] head = ("POST /llm/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + MIB + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        FLOOD = new byte[head.length + MIB];
        System.arraycopy(head, 0, FLOOD, 0, head.length);
    }

    /** One token-less 1 MiB request, sent whole as a flooding client does; true if it was answered 401. */
    static boolean floodOne(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            try {
                out.write(FLOOD);
            } catch (java.io.IOException closed) {
                // answered on the headers and closed: the rest of the body goes nowhere
            }
            InputStream in = s.getInputStream();
            byte[] status = in.readNBytes(12);
            return new String(status, StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 401");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Bytes of the evidence tables (rows, TOAST and indexes). */
    static long storeBytes(String jdbc) throws Exception {
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", "");
             ResultSet rs = c.createStatement().executeQuery("SELECT sum(pg_total_relation_size(t)) FROM unnest("
                     + "ARRAY['evidence_record','evidence_chain','evidence_chain_head','evidence_outbox',"
                     + "'refusal_summary']::regclass[]) t")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
