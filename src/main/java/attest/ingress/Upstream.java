package attest.ingress;

import attest.upstream.UpstreamCredential;

import java.net.URI;
import java.time.Duration;

/**
 * One configured inference endpoint. Calls reach it only through its path prefix; nothing in a
 * request can change {@link #baseUri()}.
 *
 * @param name           the upstream's name, used in policy rules and evidence
 * @param prefix         the path prefix on the data plane, for example {@code /llm}
 * @param baseUri        where calls go, for example {@code http://127.0.0.1:8000}
 * @param credential     what the gateway presents to the upstream in place of the caller's credential
 * @param connectTimeout time allowed to connect
 * @param responseTimeout time allowed until the response headers (and, for a buffered call, the whole body)
 * @param idleTimeout    longest silence allowed inside a stream
 * @param maxConnections most connections open to it at once (the Netty client): a call past them waits its turn
 * @param maxWaiting     most calls waiting for a connection: one past them is refused at once (503)
 */
public record Upstream(String name, String prefix, URI baseUri, UpstreamCredential credential,
                       Duration connectTimeout, Duration responseTimeout, Duration idleTimeout,
                       int maxConnections, int maxWaiting) {
    /** The default of {@code attest.upstream.<name>.max-connections} and of {@code .max-waiting}. */
    public static final int DEFAULT_MAX_CONNECTIONS = 1024;
    public static final int DEFAULT_MAX_WAITING = 1024;

    public Upstream {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("an upstream's max-connections must be at least 1");
        }
        if (maxWaiting < 0) {
            throw new IllegalArgumentException("an upstream's max-waiting must not be negative");
        }
    }

    /** With the default connection cap and queue ({@link #DEFAULT_MAX_CONNECTIONS}, {@link #DEFAULT_MAX_WAITING}). */
    public Upstream(String name, String prefix, URI baseUri, UpstreamCredential credential, Duration connectTimeout,
                    Duration responseTimeout, Duration idleTimeout) {
        this(name, prefix, baseUri, credential, connectTimeout, responseTimeout, idleTimeout,
                DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_WAITING);
    }
}
