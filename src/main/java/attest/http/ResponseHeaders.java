package attest.http;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The only headers a caller may get back. Everything else on the exchange (above all the request's own
 * headers, which camel-netty-http would otherwise echo) is dropped.
 */
public final class ResponseHeaders {
    public static final String REQUEST_ID = "X-Request-Id";
    /** The call's evidence record id, which a caller keeps as a receipt (GET /evidence/{id}/proof). */
    public static final String EVIDENCE_ID = "Attest-Evidence-Id";
    private static final Set<String> ALLOWED = Set.of("content-type", "x-request-id", "attest-evidence-id", "www-authenticate",
            "retry-after", "location", "cache-control", "content-language", "openai-model", "openai-processing-ms",
            "openai-version");
    private static final Pattern ALLOWED_PREFIX = Pattern.compile("^x-ratelimit-[a-z0-9-]+$");

    private ResponseHeaders() {
    }

    /** The control plane's pages may also set their session cookie and security headers. */
    private static final Set<String> CONTROL_EXTRA = Set.of("set-cookie", "content-security-policy",
            "x-frame-options", "x-content-type-options", "referrer-policy", "x-more-pages");

    public static boolean allowedOnControlPlane(String name) {
        return allowed(name) || CONTROL_EXTRA.contains(name.toLowerCase(Locale.ROOT));
    }

    public static boolean allowed(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return ALLOWED.contains(lower) || ALLOWED_PREFIX.matcher(lower).matches();
    }
}
