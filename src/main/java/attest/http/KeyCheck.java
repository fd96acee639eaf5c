package attest.http;

/** The early check of a virtual key on the connection's thread: why it is refused, or null when it is live. */
@FunctionalInterface
public interface KeyCheck {
    /** Refuses every key (a data plane without virtual keys). */
    KeyCheck NONE = (secret, source) -> "virtual keys are not enabled";

    String check(String secret, String source);
}
