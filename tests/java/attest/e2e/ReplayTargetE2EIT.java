package attest.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 10, item 1: an unauthenticated caller must not be able to steer an auditor's replay (and so the
 * auditor's token) anywhere. Each request-target shape that is not origin-form is refused with 400 on both
 * planes, and a recorded call carrying such a target is never re-executed: a listener on a free loopback port,
 * named in the target, receives nothing, and neither does the upstream.
 */
class ReplayTargetE2EIT {
    static ServerSocket listener;
    static final AtomicInteger ACCEPTED = new AtomicInteger();
    static final List<String> RECEIVED = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void up() throws Exception {
        stack();
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!listener.isClosed()) {
                try (Socket s = listener.accept()) {
                    ACCEPTED.incrementAndGet();
                    s.setSoTimeout(2000);
                    byte[] buf = new byte[4096];
                    InputStream in = s.getInputStream();
                    int n = in.read(buf);
                    RECEIVED.add(n > 0 ? new String(buf, 0, n, StandardCharsets.ISO_8859_1) : "");
                } catch (Exception e) {
                    // closed, or the peer went away
                }
            }
        }, "replay-target-listener");
        t.setDaemon(true);
        t.start();
    }

    @AfterAll
    static void down() throws Exception {
        listener.close();
    }

    /** Every shape of request-target that could become a URL's authority, aimed at the listener. */
    static Stream<String> shapes() {
        String at = "127.0.0.1:" + listener.getLocalPort();
        return Stream.of("@" + at + "/x", "@" + at + "/llm/v1/chat/completions", "@" + at, "u@" + at + "/x",
                "//" + at + "/x", "//" + at + "/llm/v1/chat/completions", "///" + at + "/x",
                "http://" + at + "/llm/v1/chat/completions", "HTTP://" + at + "/x", "http://" + at,
                at, "localhost:" + listener.getLocalPort(), "/\\" + at + "/x", "\\\\" + at + "\\x", "\\" + at,
                "*", "%40" + at + "/x");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void should_refuse_a_target_that_is_not_origin_form_with_400_on_both_planes(String target) throws Exception {
        int before = stack().demo.calls();
        for (int port : new int[] {stack().dataPort, stack().controlPort}) {
            Instant start = Instant.now();
            RawHttp.Answer a = RawHttp.send(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                    + "Bearer " + stack().userToken("alice") + "\r\n\r\n", 1, Duration.ofSeconds(5));
            assertThat(a.status()).as(port + " " + a.text()).isEqualTo(400);
            assertThat(a.closed()).as("connection closed").isTrue();
            assertThat(a.text()).doesNotContain("Bearer").doesNotContain(target.length() > 3 ? target : "\u0000");
            await().atMost(Duration.ofSeconds(10)).until(() -> HttpHardeningE2EIT.refusalsSince(start, 400) >= 1);
        }
        assertThat(stack().demo.calls()).isEqualTo(before);
        assertThat(ACCEPTED.get()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void should_never_send_the_replay_of_a_record_with_such_a_target_anywhere(String target) throws Exception {
        Instant start = Instant.now();
        String body = E2E.CHAT;
        RawHttp.send(stack().dataPort, "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                + "application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body, 1, Duration.ofSeconds(5));
        String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
        String[] id = new String[1];
        await().atMost(Duration.ofSeconds(10)).until(() -> (id[0] = recordId(path, start)) != null);
        int accepted = ACCEPTED.get();
        int upstream = stack().demo.calls();
        String carol = stack().userToken("carol");
        HttpResponse<String> r = PayloadsE2EIT.postEmpty("http://127.0.0.1:" + stack().controlPort + "/audit/records/"
                + id[0] + "/replay", carol);
        assertThat(r.statusCode()).as(r.body()).isIn(409, 422);
        JsonNode error = E2E.JSON.readTree(r.body()).path("error");
        assertThat(error.path("code").asText()).isEqualTo("not_replayable");
        assertThat(r.body()).doesNotContain(carol).doesNotContain("Bearer");
        assertThat(ACCEPTED.get()).as("connections to the listener named in the target: %s", RECEIVED)
                .isEqualTo(accepted).isZero();
        assertThat(stack().demo.calls()).isEqualTo(upstream);
        assertThat(E2E.count("SELECT count(*) FROM evidence_chain WHERE subject_id = '" + id[0]
                + "' AND kind = 'audit.replay_refused'")).isEqualTo(1);
        assertThat(E2E.count("SELECT count(*) FROM evidence_chain WHERE subject_id = '" + id[0]
                + "' AND kind = 'audit.replay'")).isZero();
    }

    static String recordId(String path, Instant since) throws Exception {
        try (Connection c = stack().db(); PreparedStatement ps = c.prepareStatement(
                "SELECT id FROM evidence_record WHERE path = ? AND received_at >= ? ORDER BY received_at DESC LIMIT 1")) {
            ps.setString(1, path);
            ps.setTimestamp(2, Timestamp.from(since.minusMillis(50)));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
