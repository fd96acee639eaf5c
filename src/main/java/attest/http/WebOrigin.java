package attest.http;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A web origin as RFC 6454 defines it: scheme, host and port, with the scheme and host compared without regard to
 * case and a missing port taken as the scheme's default (80 for http, 443 for https), so that
 * {@code https://Attest.Example:443/} and {@code https://attest.example} are one origin. Only http and https are
 * origins here; anything else (and {@code null}, the opaque origin) is none.
 */
public record WebOrigin(String scheme, String host, int port) {
    /** What an {@code Origin} header holds: scheme, host (a name or a bracketed IPv6 literal) and an optional port. */
    private static final Pattern SERIALIZED = Pattern.compile(
            "(?i)(https?)://([a-z0-9._-]+|\\[[0-9a-f:.]+\\])(?::([0-9]{1,5}))?");

    public WebOrigin {
        scheme = scheme.toLowerCase(Locale.ROOT);
        host = host.toLowerCase(Locale.ROOT);
    }

    /**
     * The origin of a configured absolute URL (such as {@code attest.control.public-url}); its path, if any, is not
     * part of it. Throws {@link IllegalArgumentException} for anything that is not an http or https URL with a host.
     */
    public static WebOrigin ofUrl(String url) {
        return parseUrl(url).orElseThrow(() -> new IllegalArgumentException("not an http or https URL with a host: "
                + url));
    }

    /**
     * The origin an {@code Origin} header names: exactly {@code scheme://host[:port]}, as browsers serialize it.
     * Empty for {@code null} (an opaque origin), a path, user info, a query, a port out of range, or any other
     * scheme: none of these is a web page's origin that could be ours.
     */
    public static Optional<WebOrigin> ofHeader(String value) {
        if (value == null) {
            return Optional.empty();
        }
        var m = SERIALIZED.matcher(strip(value));
        if (!m.matches()) {
            return Optional.empty();
        }
        String scheme = m.group(1);
        int port = m.group(3) == null ? defaultPort(scheme) : Integer.parseInt(m.group(3));
        if (port < 1 || port > 65535) {
            return Optional.empty();
        }
        return Optional.of(new WebOrigin(scheme, m.group(2), port));
    }

    /** The origin of a {@code Referer} (an absolute http or https URL); empty for anything else. */
    public static Optional<WebOrigin> ofReferer(String value) {
        return value == null ? Optional.empty() : parseUrl(strip(value));
    }

    private static Optional<WebOrigin> parseUrl(String url) {
        URI u;
        try {
            u = new URI(url);
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
        // the authority as written, read as an Origin header reads it: user info ('@'), an empty port or anything
        // else that a browser's origin never holds is no origin
        if (u.getScheme() == null || u.getRawAuthority() == null) {
            return Optional.empty();
        }
        return ofHeader(u.getScheme() + "://" + u.getRawAuthority());
    }

    private static int defaultPort(String scheme) {
        return scheme.equalsIgnoreCase("https") ? 443 : 80;
    }

    /** Optional white space (RFC 9110 OWS) around a field value; nothing else is trimmed. */
    private static String strip(String value) {
        int from = 0;
        int to = value.length();
        while (from < to && (value.charAt(from) == ' ' || value.charAt(from) == '\t')) {
            from++;
        }
        while (to > from && (value.charAt(to - 1) == ' ' || value.charAt(to - 1) == '\t')) {
            to--;
        }
        return value.substring(from, to);
    }
}
