package attest.e2e;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Raw HTTP/1.1 over a socket, for requests no client library would send: writes the bytes as given and reads
 * until the server closed the connection, or the expected number of whole responses arrived, or the wait ran out.
 */
final class RawHttp {
    private static final Pattern STATUS = Pattern.compile("(?m)^HTTP/1\\.[01] (\\d{3})");

    /** What came back: the bytes (ISO-8859-1), whether the server closed, and each response's status. */
    record Answer(String text, boolean closed, List<Integer> statuses) {
        int status() {
            return statuses.isEmpty() ? -1 : statuses.get(0);
        }

        /** The header block of the first response, lower-cased names, for header assertions. */
        String head() {
            int end = text.indexOf("\r\n\r\n");
            return end < 0 ? text : text.substring(0, end);
        }
    }

    private RawHttp() {
    }

    static Answer send(int port, String request, int responses, Duration wait) throws Exception {
        return send(port, request.getBytes(StandardCharsets.ISO_8859_1), responses, wait);
    }

    static Answer send(int port, byte[] request, int responses, Duration wait) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout((int) wait.toMillis());
            try {
                s.getOutputStream().write(request);
                s.getOutputStream().flush();
            } catch (java.io.IOException e) {
                // the server may refuse and close before the whole request is written; read what it said
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            boolean closed = false;
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    if (complete(out.toString(StandardCharsets.ISO_8859_1)) >= responses) {
                        // all answers are in: did the server also close? (a refusal closes at once)
                        s.setSoTimeout(1500);
                        n = in.read(buf);
                        while (n > 0) {
                            out.write(buf, 0, n);
                            n = in.read(buf);
                        }
                        break;
                    }
                }
                closed = n < 0;
            } catch (SocketTimeoutException e) {
                closed = false;
            } catch (java.net.SocketException e) {
                closed = true; // reset by the server
            }
            String text = out.toString(StandardCharsets.ISO_8859_1);
            List<Integer> statuses = new ArrayList<>();
            Matcher m = STATUS.matcher(text);
            while (m.find()) {
                statuses.add(Integer.parseInt(m.group(1)));
            }
            return new Answer(text, closed, statuses);
        }
    }

    /** How many whole responses (head plus Content-Length body) the text holds. */
    private static int complete(String text) {
        int count = 0;
        int at = 0;
        while (true) {
            int end = text.indexOf("\r\n\r\n", at);
            if (end < 0) {
                return count;
            }
            String head = text.substring(at, end).toLowerCase(Locale.ROOT);
            Matcher cl = Pattern.compile("(?m)^content-length:\\s*(\\d+)").matcher(head);
            int length = cl.find() ? Integer.parseInt(cl.group(1)) : 0;
            if (head.contains("transfer-encoding: chunked")) {
                int last = text.indexOf("\r\n0\r\n\r\n", end);
                if (last < 0) {
                    return count;
                }
                at = last + 7;
            } else {
                if (text.length() < end + 4 + length) {
                    return count;
                }
                at = end + 4 + length;
            }
            count++;
        }
    }
}
