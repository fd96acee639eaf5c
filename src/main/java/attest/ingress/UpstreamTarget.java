package attest.ingress;

import java.net.URI;

/**
 * Where one call goes: the upstream, the normalised path under its prefix, and the final URI
 * (the upstream's base URI with that path and the raw query appended).
 */
public record UpstreamTarget(Upstream upstream, String path, URI uri) {
}
