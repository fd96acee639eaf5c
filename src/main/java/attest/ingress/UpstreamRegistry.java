package attest.ingress;

import attest.Settings;
import attest.http.GatewayException;
import attest.upstream.UpstreamCredential;
import attest.upstream.UpstreamCredentials;

import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The configured upstreams, matched by path prefix only: the longest prefix wins, on a segment boundary.
 * Host, absolute URIs, the body's {@code model} and every other part of the request play no part.
 */
public final class UpstreamRegistry {
    private final List<Upstream> upstreams;
    /**
     * Per upstream (same index), the last forwarded path and query and its URI: calls mostly repeat a handful of
     * targets, and parsing the URI again ({@link URI#create}) was a per-call cost. Equal text gives an equal URI.
     */
    private final AtomicReferenceArray<Built> last;

    /** A forwarded path and query (after the upstream's base path) and the URI built from it. */
    private record Built(String raw, URI uri) {
    }

    public UpstreamRegistry(List<Upstream> upstreams) {
        List<Upstream> sorted = new ArrayList<>(upstreams);
        sorted.sort(Comparator.comparingInt((Upstream u) -> u.prefix().length()).reversed());
        this.upstreams = List.copyOf(sorted);
        this.last = new AtomicReferenceArray<>(this.upstreams.size());
    }

    /** Reads {@code attest.upstreams} and each {@code attest.upstream.<name>.*} block. */
    public static UpstreamRegistry fromSettings(Settings settings, UpstreamCredentials credentials) {
        List<Upstream> list = new ArrayList<>();
        for (String name : settings.list("attest.upstreams")) {
            String p = "attest.upstream." + name + ".";
            String prefix = settings.required(p + "prefix");
            if (!prefix.startsWith("/") || prefix.endsWith("/") || prefix.contains("..")) {
                throw new IllegalStateException(p + "prefix must start with / and not end with /: " + prefix);
            }
            URI base = URI.create(settings.required(p + "base-url"));
            if (base.getScheme() == null || !(base.getScheme().equals("http") || base.getScheme().equals("https"))
                    || base.getHost() == null || base.getRawQuery() != null) {
                throw new IllegalStateException(p + "base-url must be an http(s) URL without a query: " + base);
            }
            UpstreamCredential credential = credentials.forUpstream(name, settings);
            int maxConnections = settings.integer(p + "max-connections", Upstream.DEFAULT_MAX_CONNECTIONS);
            if (maxConnections < 1) {
                throw new IllegalStateException(p + "max-connections must be at least 1: " + maxConnections);
            }
            int maxWaiting = settings.integer(p + "max-waiting", Upstream.DEFAULT_MAX_WAITING);
            if (maxWaiting < 0) {
                throw new IllegalStateException(p + "max-waiting must not be negative: " + maxWaiting);
            }
            list.add(new Upstream(name, prefix, base, credential,
                    settings.millis(p + "connect-timeout-ms", 2000),
                    settings.millis(p + "timeout-ms", 30000),
                    settings.millis(p + "idle-timeout-ms", 30000),
                    maxConnections, maxWaiting));
        }
        if (list.isEmpty()) {
            throw new IllegalStateException("no upstreams configured: set attest.upstreams");
        }
        return new UpstreamRegistry(list);
    }

    public List<Upstream> all() {
        return upstreams;
    }

    public Optional<Upstream> byName(String name) {
        return upstreams.stream().filter(u -> u.name().equals(name)).findFirst();
    }

    /**
     * Resolves a request-target to its upstream.
     *
     * @throws GatewayException 400 for a target that is not a plain absolute path, 404 for no match
     */
    public UpstreamTarget resolve(String requestTarget) {
        PathNormalizer.Split split = PathNormalizer.normalize(requestTarget);
        for (int i = 0; i < upstreams.size(); i++) {
            Upstream u = upstreams.get(i);
            String path = split.path();
            int p = u.prefix().length();
            if (path.startsWith(u.prefix()) && (path.length() == p || path.charAt(p) == '/')) { // the prefix, or below it
                String rest = path.substring(u.prefix().length());
                if (rest.isEmpty()) {
                    rest = "/";
                }
                String basePath = u.baseUri().getRawPath() == null ? "" : u.baseUri().getRawPath();
                if (basePath.endsWith("/")) {
                    basePath = basePath.substring(0, basePath.length() - 1);
                }
                String raw = basePath + split.rawPathAfter(u.prefix().length());
                String query = attest.upstream.CredentialStripper.stripQuery(split.rawQuery()); // no api_key=...
                if (query != null) {
                    raw += "?" + query;
                }
                Built built = last.get(i);
                if (built == null || !built.raw().equals(raw)) {
                    built = new Built(raw, URI.create(u.baseUri().getScheme() + "://" + u.baseUri().getRawAuthority()
                            + raw));
                    last.set(i, built);
                }
                return new UpstreamTarget(u, rest, built.uri());
            }
        }
        throw GatewayException.notFound("no upstream is configured for this path");
    }
}
