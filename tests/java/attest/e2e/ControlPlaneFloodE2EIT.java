package attest.e2e;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/security.md, Principles: "Refusals are cheap. A request without a valid token is refused on its headers.
 * Its body is never buffered or stored." The data plane keeps it (FloodE2EIT); this asks the control plane's
 * POST routes, with raw sockets: the head of a token-less request declaring a megabyte must be answered before
 * any byte of the body is sent.
 */
class ControlPlaneFloodE2EIT {
    static final int MIB = 1024 * 1024;

    static String statusLine(InputStream in) throws Exception {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            line.write(b);
        }
        return line.toString(StandardCharsets.ISO_8859_1).trim();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"POST /approvals/00000000-0000-0000-0000-000000000001/decision",
            "POST /approvals/00000000-0000-0000-0000-000000000001/review", "POST /keys",
            "POST /audit/records/00000000-0000-0000-0000-000000000001/replay", "POST /rules/reload"})
    void should_refuse_a_token_less_megabyte_on_its_headers(String route) throws Exception {
        try (Socket s = new Socket("127.0.0.1", stack().controlPort)) {
            s.setSoTimeout(3_000);
            s.getOutputStream().write((route + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + MIB + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            String status;
            try {
                status = statusLine(s.getInputStream());
            } catch (java.net.SocketTimeoutException waitingForTheBody) {
                status = "no answer: the control plane waits to buffer the body";
            }
            // nothing of the body was sent: a plane that waited for it (to buffer it) times out here
            System.out.printf("[control] %s: %s%n", route, status);
            // 401 (no token), 403 (no session) or 404: a 408 means the plane waited for the body until it timed out
            assertThat(status).matches("HTTP/1\\.1 40[134] .*");
        }
    }
}
