package attest.e2e;

import attest.http.ConnectionLimits;
import attest.stack.Gateway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Floods and exhaustion, against a gateway of its own (instance {@code flood}, short idle timeout, low caps and
 * refusal threshold) on the suite's PostgreSQL, with raw sockets: a request without a token is refused on its
 * headers, stored without its body in bounded bytes and counted past the threshold; idle connections are closed;
 * connections per source are capped; a valid call is still answered during a flood.
 */
class FloodE2EIT {
    static final String INSTANCE = "flood";
    static final int MIB = 1024 * 1024;
    static final int PER_SOURCE = 12;
    static final int REFUSALS_PER_WINDOW = 5;
    static Gateway gateway;
    static int port;

    @BeforeAll
    static void up() {
        Map<String, String> p = stack().extraGatewaySettings();
        p.put("attest.instance-id", INSTANCE);
        p.put("attest.http.idle-timeout-ms", "1500");
        p.put("attest.http.max-connections-per-source", String.valueOf(PER_SOURCE));
        p.put("attest.evidence.refusals-per-source", String.valueOf(REFUSALS_PER_WINDOW));
        p.put("attest.evidence.refusal-window-ms", "2000");
        p.put("attest.evidence.refusal-flush-ms", "250");
        port = Integer.parseInt(p.get("attest.data.port"));
        gateway = new Gateway(p).start();
    }

    @AfterAll
    static void down() {
        if (gateway != null) {
            gateway.close();
        }
    }

    static ConnectionLimits connections() {
        return gateway.context().getRegistry().lookupByNameAndType("dataConnectionLimits", ConnectionLimits.class);
    }

    static String head(int length) {
        return "POST /llm/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + length + "\r\n\r\n";
    }

    static String statusLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            line.write(b);
        }
        return line.toString(StandardCharsets.ISO_8859_1).trim();
    }

    /** Whether the server closes the connection (EOF) within the wait; false if it stays open. */
    static boolean closedWithin(Socket s, Duration wait) throws IOException {
        s.setSoTimeout((int) wait.toMillis());
        InputStream in = s.getInputStream();
        try {
            while (in.read() >= 0) {
                // drain what is left of an answer
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    /** A token-less 1 MiB request as a flooding client sends it: headers and body at once, errors ignored. */
    static String floodOne() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            byte[] head = head(MIB).getBytes(StandardCharsets.ISO_8859_1);
            byte[] all = new byte[head.length + MIB];
            System.arraycopy(head, 0, all, 0, head.length);
            try {
                out.write(all);
            } catch (IOException refusedMidBody) {
                // the gateway answered on the headers and closed: the rest of the body goes nowhere
            }
            return statusLine(s.getInputStream());
        } catch (IOException e) {
            return "reset";
        }
    }

    static long count(String sql, Instant since) throws Exception {
        try (Connection c = stack().db(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setTimestamp(1, Timestamp.from(since));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static final String REFUSED_ROWS = "FROM evidence_record r WHERE r.instance_id = 'flood' AND r.status = 401 "
            + "AND r.received_at >= ?";

    @Test
    void should_answer_401_on_the_headers_before_any_body_byte_is_sent() throws Exception {
        int before = stack().demo.calls();
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(3_000);
            s.getOutputStream().write(head(MIB).getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            // nothing of the body was sent: a gateway that waited for it (to buffer it) would time out here
            assertThat(statusLine(s.getInputStream())).startsWith("HTTP/1.1 401");
            assertThat(closedWithin(s, Duration.ofSeconds(3))).as("connection closed").isTrue();
        }
        assertThat(stack().demo.calls()).isEqualTo(before);
    }

    @Test
    void should_store_token_less_megabytes_as_bounded_metadata_and_count_them_past_the_threshold() throws Exception {
        // start at a window boundary's far side, so that the flood spans few windows
        Instant start = Instant.now().minusMillis(5);
        int n = 40;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<String>> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            answers.add(pool.submit(FloodE2EIT::floodOne));
        }
        int refused = 0;
        for (Future<String> f : answers) {
            String status = f.get();
            assertThat(status).isIn("HTTP/1.1 401 Unauthorized", "reset");
            refused++;
        }
        pool.shutdown();
        assertThat(refused).isEqualTo(n);
        // every refusal is accounted for: recorded one by one, or counted in a summary once its window ended
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
                count("SELECT count(*) " + REFUSED_ROWS, start)
                        + count("SELECT coalesce(sum(counted_total), 0) FROM refusal_summary WHERE instance_id = 'flood' "
                        + "AND window_end > ?", start)).isEqualTo(n));
        long records = count("SELECT count(*) " + REFUSED_ROWS, start);
        assertThat(records).as("recorded one by one: at most the threshold per window").isLessThan(n)
                .isLessThanOrEqualTo(REFUSALS_PER_WINDOW * 12L);
        // no body, the declared size, no digest of a body that was never read
        assertThat(count("SELECT count(*) " + REFUSED_ROWS + " AND (r.request_body IS NOT NULL OR r.response_body IS NOT "
                + "NULL OR r.request_size <> " + MIB + " OR r.request_sha256 IS NOT NULL OR r.outcome <> "
                + "'unauthenticated')", start)).isZero();
        // stored bytes: each record with its chain entry and outbox event, and in all per refused request
        String perRecord = "SELECT pg_column_size(r.*) + coalesce((SELECT sum(pg_column_size(c.*)) FROM evidence_chain c "
                + "WHERE c.chain_id = 'flood' AND c.subject_id = r.id), 0) + coalesce((SELECT sum(pg_column_size(o.*)) "
                + "FROM evidence_outbox o WHERE o.event_key = r.id::text), 0) AS bytes " + REFUSED_ROWS;
        long max = count("SELECT max(bytes) FROM (" + perRecord + ") x", start);
        long summaries = count("SELECT coalesce(sum(pg_column_size(s.*)), 0) + coalesce(sum((SELECT sum(pg_column_size(c.*)) "
                + "FROM evidence_chain c WHERE c.subject_id = s.id)), 0) + coalesce(sum((SELECT sum(pg_column_size(o.*)) "
                + "FROM evidence_outbox o WHERE o.event_key = s.id::text)), 0) FROM refusal_summary s "
                + "WHERE s.instance_id = 'flood' AND s.window_end > ?", start);
        long total = count("SELECT coalesce(sum(bytes), 0) FROM (" + perRecord + ") x", start) + summaries;
        System.out.printf("[flood] %d refused: %d records (at most %d bytes each), %d bytes of summaries, %d bytes in all,"
                + " %d bytes per refused request%n", n, records, max, summaries, total, total / n);
        assertThat(max).as("bytes stored for one refused 1 MiB request").isLessThanOrEqualTo(2048);
        assertThat(total / n).as("bytes stored per refused request in the flood").isLessThanOrEqualTo(2048);
    }

    @Test
    void should_close_an_idle_keep_alive_connection_after_the_timeout() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            String token = stack().userToken("alice");
            String body = E2E.CHAT;
            s.getOutputStream().write(("POST /llm/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                    + "Bearer " + token + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                    + "\r\n\r\n" + body).getBytes(StandardCharsets.ISO_8859_1));
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            assertThat(statusLine(in)).startsWith("HTTP/1.1 200");
            long t0 = System.nanoTime();
            // a keep-alive connection: the server does not close it after the answer, only once it has been idle
            assertThat(closedWithin(s, Duration.ofSeconds(10))).as("closed by the idle timeout").isTrue();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(ms).isBetween(1_000L, 9_000L);
        }
    }

    @Test
    void should_refuse_connections_past_the_per_source_cap_with_503() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> connections().open("127.0.0.1") == 0);
            for (int i = 0; i < PER_SOURCE; i++) {
                held.add(new Socket("127.0.0.1", port));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> connections().open("127.0.0.1") == PER_SOURCE);
            try (Socket extra = new Socket("127.0.0.1", port)) {
                extra.setSoTimeout(5_000);
                assertThat(statusLine(extra.getInputStream())).startsWith("HTTP/1.1 503");
                assertThat(closedWithin(extra, Duration.ofSeconds(3))).isTrue();
            }
            assertThat(connections().open("127.0.0.1")).isEqualTo(PER_SOURCE);
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> connections().open("127.0.0.1") == 0);
        HttpResponse<String> r = chat(E2E.newRequestId());
        assertThat(r.statusCode()).as("a freed slot serves again").isEqualTo(200);
    }

    @Test
    void should_answer_a_valid_token_during_a_flood_of_token_less_megabytes() throws Exception {
        AtomicBoolean flooding = new AtomicBoolean(true);
        AtomicInteger sent = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> floods = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            floods.add(pool.submit(() -> {
                while (flooding.get()) {
                    floodOne();
                    sent.incrementAndGet();
                }
            }));
        }
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> sent.get() >= 20);
            for (int i = 0; i < 5; i++) {
                String rid = E2E.newRequestId();
                HttpResponse<String> r = chat(rid);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(r.body()).contains("You said: hello");
                await().atMost(Duration.ofSeconds(10)).until(() -> "completed".equals(outcome(rid)));
            }
        } finally {
            flooding.set(false);
            for (Future<?> f : floods) {
                f.get();
            }
            pool.shutdown();
        }
        assertThat(sent.get()).isGreaterThanOrEqualTo(20);
    }

    /** A chat call as alice on a new connection (a pooled one may have been closed by the short idle timeout). */
    static HttpResponse<String> chat(String requestId) throws Exception {
        {
            return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port
                            + "/llm/v1/chat/completions")).timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + stack().userToken("alice")).header("X-Request-Id", requestId)
                    .header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(E2E.CHAT)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    static String outcome(String requestId) throws Exception {
        try (Connection c = stack().db(); PreparedStatement ps = c.prepareStatement(
                "SELECT outcome FROM evidence_record WHERE request_id = ? OR correlation_id = ?")) {
            ps.setString(1, requestId); // the gateway's id, or the caller's X-Request-Id kept as correlation id
            ps.setString(2, requestId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
