package attest.e2e;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The HTTP layer refuses what could smuggle a request or tie up the gateway: each refusal is answered,
 * the connection is closed, nothing reaches the upstream, and the refusal is recorded as evidence.
 */
class HttpHardeningE2EIT {
    static final String PATH = "/llm/v1/chat/completions";

    @BeforeAll
    static void up() {
        stack();
    }

    /** Sends raw bytes; returns what came back and whether the server closed the connection. */
    static String[] raw(String request, Duration wait) throws Exception {
        try (Socket s = new Socket("127.0.0.1", stack().dataPort)) {
            s.setSoTimeout((int) wait.toMillis());
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            boolean closed = false;
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                }
                closed = true;
            } catch (SocketTimeoutException e) {
                closed = false;
            }
            return new String[] {out.toString(StandardCharsets.ISO_8859_1), String.valueOf(closed)};
        }
    }

    static Stream<Arguments> refused() {
        String token = stack().userToken("alice");
        String auth = "Authorization: Bearer " + token + "\r\n";
        String head = "POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth;
        return Stream.of(
                Arguments.of("Content-Length then Transfer-Encoding", head
                        + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("Transfer-Encoding then Content-Length", head
                        + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("obfuscated Transfer-Encoding", head + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("Transfer-Encoding list", head + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("Transfer-Encoding twice", head
                        + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("space before colon", head + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("control character in a header", head + "X-A: a\u0001b\r\nContent-Length: 2\r\n\r\n{}", 400),
                Arguments.of("two Content-Lengths", head + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x", 400),
                Arguments.of("oversized headers", head + "X-A: " + "a".repeat(20_000) + "\r\nContent-Length: 2\r\n\r\n{}",
                        431),
                Arguments.of("oversized request line", "GET /llm/" + "a".repeat(9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414));
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("refused")
    void should_refuse_and_close_and_call_no_upstream(String name, String request, int status) throws Exception {
        Instant start = Instant.now();
        int before = stack().demo.calls();
        String[] got = raw(request, Duration.ofSeconds(5));
        assertThat(got[0]).startsWith("HTTP/1.1 " + status);
        assertThat(got[1]).as("connection closed").isEqualTo("true");
        assertThat(got[0]).doesNotContain("Exception").doesNotContain("Bearer");
        assertThat(stack().demo.calls()).isEqualTo(before);
        await().atMost(Duration.ofSeconds(10)).until(() -> refusalsSince(start, status) >= 1);
    }

    @Test
    void should_cut_off_a_client_that_sends_its_request_too_slowly() throws Exception {
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        String[] got = raw("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n", Duration.ofSeconds(10));
        long elapsed = (System.nanoTime() - t0) / 1_000_000;
        assertThat(got[0]).startsWith("HTTP/1.1 408");
        assertThat(got[1]).isEqualTo("true");
        assertThat(elapsed).isBetween(1500L, 8000L);
        await().atMost(Duration.ofSeconds(10)).until(() -> refusalsSince(start, 408) >= 1);
    }

    @Test
    void should_keep_a_well_formed_chunked_request_working() throws Exception {
        String body = E2E.CHAT;
        String chunked = Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n";
        String[] got = raw("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                + stack().userToken("alice") + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                + "Connection: close\r\n\r\n" + chunked, Duration.ofSeconds(10));
        assertThat(got[0]).startsWith("HTTP/1.1 200").contains("You said: hello");
    }

    static long refusalsSince(Instant since, int status) throws Exception {
        try (Connection c = stack().db(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM evidence_record WHERE rule_id = 'ingress' AND outcome = 'denied'"
                        + " AND status = ? AND received_at >= ?")) {
            ps.setInt(1, status);
            ps.setTimestamp(2, Timestamp.from(since.minusMillis(50)));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
