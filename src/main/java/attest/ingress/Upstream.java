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
 */
public record Upstream(String name, String prefix, URI baseUri, UpstreamCredential credential,
                       Duration connectTimeout, Duration responseTimeout, Duration idleTimeout) {
}
