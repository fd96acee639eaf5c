package attest.upstream;

import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scripted HTTP/1.1 upstream on a raw (optionally TLS) server socket, for the shapes a real server would not
 * produce: each accepted connection runs the script on a thread of its own (test code only).
 */
final class RawUpstream implements AutoCloseable {
    interface Script {
        void serve(Conn c) throws Exception;
    }

    record Request(String line, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    final class Conn {
        final int index;
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        private boolean closeCounted;

        Conn(int index, Socket socket) throws IOException {
            this.index = index;
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        /** The next request on this connection, or null at its end. */
        Request read() throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) {
                    return null;
                }
                head.write(b);
                matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                        ? matched + 1 : b == '\r' ? 1 : 0;
            }
            String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
            Map<String, String> headers = new TreeMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.merge(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                            lines[i].substring(colon + 1).trim(), (a, b) -> a + ", " + b);
                }
            }
            int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
            byte[] body = in.readNBytes(length);
            Request r = new Request(lines[0], headers, body);
            requests.add(r);
            return r;
        }

        void write(String s) throws IOException {
            write(s.getBytes(StandardCharsets.ISO_8859_1));
        }

        /**
         * Writes and flushes. A write that fails on loopback means the client has already closed the connection (a
         * reset answers a write to a closed peer): that is counted as its close, so a script cut short by the client
         * closing early counts the same as one that reached {@link #awaitClose()}.
         */
        void write(byte[] b) throws IOException {
            try {
                out.write(b);
                out.flush();
            } catch (IOException e) {
                countClose();
                throw e;
            }
        }

        private void countClose() {
            if (!closeCounted) {
                closeCounted = true;
                peerClosed.incrementAndGet();
            }
        }

        /** Blocks until the client closes the connection (counted in {@link #peerClosed()}). */
        void awaitClose() throws IOException {
            try {
                while (in.read() >= 0) {
                    // whatever the client still sends is ignored
                }
            } catch (IOException e) {
                // reset: closed as well
            }
            countClose();
        }
    }

    private final ServerSocket server;
    private final Script script;
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger peerClosed = new AtomicInteger();
    final List<Request> requests = new CopyOnWriteArrayList<>();
    final List<String> serverNames = new CopyOnWriteArrayList<>();
    private final ConcurrentLinkedQueue<Socket> open = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    RawUpstream(Script script) throws IOException {
        this(script, null);
    }

    RawUpstream(Script script, SSLContext tls) throws IOException {
        this.script = script;
        this.server = tls == null ? new ServerSocket(0, 512, InetAddress.getLoopbackAddress())
                : tls.getServerSocketFactory().createServerSocket(0, 512, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "raw-upstream-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Keeps answering requests on each connection until the client closes it. */
    static Script each(Answer answer) {
        return c -> {
            RawUpstream.Request r;
            while ((r = c.read()) != null) {
                answer.answer(c, r);
            }
        };
    }

    interface Answer {
        void answer(Conn c, Request r) throws Exception;
    }

    private void accept() {
        while (!closed) {
            try {
                Socket s = server.accept();
                open.add(s);
                int index = connections.incrementAndGet();
                Thread t = new Thread(() -> {
                    try {
                        if (s instanceof SSLSocket ssl) {
                            ssl.startHandshake();
                            if (ssl.getSession() instanceof ExtendedSSLSession e) {
                                for (SNIServerName n : e.getRequestedServerNames()) {
                                    if (n instanceof SNIHostName h) {
                                        serverNames.add(h.getAsciiName());
                                    }
                                }
                            }
                        }
                        script.serve(new Conn(index, s));
                    } catch (Exception e) {
                        // the client went away or refused the handshake: the test looks at what it got
                    } finally {
                        try {
                            s.close();
                        } catch (IOException e) {
                            // closed anyway
                        }
                    }
                }, "raw-upstream-" + index);
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    int port() {
        return server.getLocalPort();
    }

    int connections() {
        return connections.get();
    }

    int peerClosed() {
        return peerClosed.get();
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closed anyway
        }
        Socket s;
        while ((s = open.poll()) != null) {
            try {
                s.close();
            } catch (IOException e) {
                // closed anyway
            }
        }
    }
}
