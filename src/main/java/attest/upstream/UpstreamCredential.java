package attest.upstream;

import java.util.Optional;

/** What the gateway presents to an upstream in place of the caller's credential. */
public interface UpstreamCredential {
    /** The header name to set, for example {@code Authorization}; empty for an upstream without credential. */
    Optional<String> headerName();

    /** The header value for the next call (may fetch or refresh a token). */
    String headerValue();

    /**
     * Whether the next {@link #headerValue()} may block its thread (a token to fetch, with none usable meanwhile):
     * the step that injects it then runs off the event loop.
     */
    default boolean blocks() {
        return false;
    }

    /** A description for logs and docs that never contains the secret. */
    String describe();

    UpstreamCredential NONE = new UpstreamCredential() {
        @Override
        public Optional<String> headerName() {
            return Optional.empty();
        }

        @Override
        public String headerValue() {
            return null;
        }

        @Override
        public String describe() {
            return "none";
        }
    };
}
