package attest.upstream;

import java.util.Optional;

/** A fixed secret read from an environment variable or a file at start-up; never from the repository. */
public final class StaticSecretCredential implements UpstreamCredential {
    private final String header;
    private final String value;
    private final String source;

    public StaticSecretCredential(String header, String scheme, String secret, String source) {
        if (secret == null || secret.isBlank()) {
            throw new IllegalStateException("upstream secret from " + source + " is empty");
        }
        this.header = header;
        this.value = (scheme == null || scheme.isEmpty() ? "" : scheme + " ") + secret.strip();
        this.source = source;
    }

    @Override
    public Optional<String> headerName() {
        return Optional.of(header);
    }

    @Override
    public String headerValue() {
        return value;
    }

    @Override
    public String describe() {
        return "static secret in header " + header + " from " + source;
    }
}
