package attest.http;

import attest.evidence.Outcome;

import java.util.Map;

/**
 * A call that ends with a definite HTTP answer. Thrown by any stage; the route configuration
 * {@code inference-errors} renders it as the one JSON error shape and records the evidence.
 * The message is shown to the caller, so it must never contain a token, secret or body.
 */
public class GatewayException extends RuntimeException {
    private final int status;
    private final String code;
    private final Outcome outcome;
    private final Map<String, String> headers;
    private final Map<String, String> fields;

    public GatewayException(int status, String code, String message, Outcome outcome) {
        this(status, code, message, outcome, Map.of());
    }

    public GatewayException(int status, String code, String message, Outcome outcome, Map<String, String> headers) {
        this(status, code, message, outcome, headers, Map.of());
    }

    /**
     * @param fields more members of the JSON error object (such as a refusal's {@code reason}): fixed words only,
     *               never anything of the request
     */
    public GatewayException(int status, String code, String message, Outcome outcome, Map<String, String> headers,
                            Map<String, String> fields) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.outcome = outcome;
        this.headers = Map.copyOf(headers);
        this.fields = Map.copyOf(fields);
    }

    /** More members of the JSON error object, besides type, code, message and ids. */
    public Map<String, String> fields() {
        return fields;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    /** The evidence outcome for this error: denied, unauthenticated, upstream_error, timeout... */
    public Outcome outcome() {
        return outcome;
    }

    /** Extra response headers, such as WWW-Authenticate or Retry-After. */
    public Map<String, String> headers() {
        return headers;
    }

    public static GatewayException badRequest(String message) {
        return new GatewayException(400, "bad_request", message, Outcome.DENIED);
    }

    public static GatewayException notFound(String message) {
        return new GatewayException(404, "no_route", message, Outcome.DENIED);
    }

    public static GatewayException tooLarge(String message) {
        return new GatewayException(413, "payload_too_large", message, Outcome.DENIED);
    }

    public static GatewayException upstreamError(String message) {
        return new GatewayException(502, "upstream_error", message, Outcome.UPSTREAM_ERROR);
    }

    public static GatewayException upstreamTimeout(String message) {
        return new GatewayException(504, "upstream_timeout", message, Outcome.TIMEOUT);
    }

    /**
     * 503 with Retry-After: every connection the upstream may have is in use and the queue of calls waiting for one is
     * full ({@code attest.upstream.<name>.max-connections}, {@code .max-waiting}); nothing was sent to it.
     */
    public static GatewayException upstreamBusy(String message) {
        return new GatewayException(503, "upstream_busy", message, Outcome.UPSTREAM_ERROR, Map.of("Retry-After", "1"));
    }

    /** 503 with Retry-After: the gateway cannot take the call now (a bounded pool is full); nothing was forwarded. */
    public static GatewayException busy(String message) {
        return new GatewayException(503, "busy", message, Outcome.ABORTED, Map.of("Retry-After", "1"));
    }

    public static GatewayException evidenceUnavailable() {
        return new GatewayException(503, "evidence_unavailable",
                "the evidence store is unavailable; the call was not forwarded", Outcome.EVIDENCE_UNAVAILABLE);
    }
}
