package attest.http;

import attest.Exchanges;
import org.apache.camel.Exchange;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The headers of the response the gateway sends, as the gateway itself decided them. Held in the exchange
 * property {@link Exchanges#RESPONSE_HEADERS}, never in message headers: camel-netty-http puts the request's
 * headers (and would put query and form parameters) into message headers, so nothing read back from there may
 * become a response header. {@link GatewayHttpBinding} writes the response head from this holder alone.
 * A stage that relays an upstream's header (its content type, say) copies it in here on purpose.
 *
 * <p>The static allow-lists are the second fence: a name not allowed on a plane is not written even if a
 * stage put it here.
 */
public final class ResponseHeaders {
    public static final String REQUEST_ID = "X-Request-Id";
    /** The call's evidence record id, which a caller keeps as a receipt (GET /evidence/{id}/proof). */
    public static final String EVIDENCE_ID = "Attest-Evidence-Id";
    public static final String CONTENT_TYPE = "Content-Type";
    public static final String CACHE_CONTROL = "Cache-Control";
    /** The default of every response the gateway produces: payloads, tokens and CSRF tokens are never cached. */
    public static final String NO_STORE = "no-store";
    private static final Set<String> ALLOWED = Set.of("content-type", "x-request-id", "attest-evidence-id", "www-authenticate",
            "retry-after", "location", "cache-control", "content-language", "openai-model", "openai-processing-ms",
            "openai-version");
    private static final Pattern ALLOWED_PREFIX = Pattern.compile("^x-ratelimit-[a-z0-9-]+$");
    /** The control plane's pages may also set their session cookie and security headers, and a 405 its Allow. */
    private static final Set<String> CONTROL_EXTRA = Set.of("set-cookie", "content-security-policy",
            "x-frame-options", "x-content-type-options", "referrer-policy", "x-more-pages", "allow");

    private final List<Map.Entry<String, String>> entries = new ArrayList<>();

    /** This exchange's response headers, created empty on first use. */
    public static ResponseHeaders of(Exchange exchange) {
        ResponseHeaders h = exchange.getProperty(Exchanges.RESPONSE_HEADERS, ResponseHeaders.class);
        if (h == null) {
            h = new ResponseHeaders();
            exchange.setProperty(Exchanges.RESPONSE_HEADERS, h);
        }
        return h;
    }

    /** This exchange's response headers, or null if no stage set any. */
    public static ResponseHeaders peek(Exchange exchange) {
        return exchange.getProperty(Exchanges.RESPONSE_HEADERS, ResponseHeaders.class);
    }

    /** Replaces every header of that name with one value. */
    public synchronized ResponseHeaders set(String name, String value) {
        check(name, value);
        entries.removeIf(e -> e.getKey().equalsIgnoreCase(name));
        entries.add(Map.entry(name, value));
        return this;
    }

    public synchronized ResponseHeaders remove(String name) {
        entries.removeIf(e -> e.getKey().equalsIgnoreCase(name));
        return this;
    }

    public synchronized ResponseHeaders clear() {
        entries.clear();
        return this;
    }

    /** The first value of a header, by case-insensitive name, or null. */
    public synchronized String get(String name) {
        for (Map.Entry<String, String> e : entries) {
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    public synchronized List<Map.Entry<String, String>> entries() {
        return List.copyOf(entries);
    }

    /** A name must be an RFC 9110 token, a value visible characters, spaces and tabs only (no CR, LF, NUL). */
    private static void check(String name, String value) {
        if (name == null || name.isEmpty() || value == null) {
            throw new IllegalArgumentException("invalid response header");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= 0x20 || c >= 0x7f || "()<>@,;:\\\"/[]?={}".indexOf(c) >= 0) {
                throw new IllegalArgumentException("invalid response header name");
            }
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
                throw new IllegalArgumentException("invalid response header value");
            }
        }
    }

    public static boolean allowedOnControlPlane(String name) {
        return allowed(name) || CONTROL_EXTRA.contains(name.toLowerCase(Locale.ROOT));
    }

    public static boolean allowed(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return ALLOWED.contains(lower) || ALLOWED_PREFIX.matcher(lower).matches();
    }
}
