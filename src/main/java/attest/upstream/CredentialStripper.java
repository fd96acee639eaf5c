package attest.upstream;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Removes from a request everything that must not reach an upstream: the caller's credentials
 * (Authorization, Proxy-Authorization, cookies, API-key and token headers in any spelling and case),
 * hop-by-hop headers and every header that {@code Connection} names, framing headers that the client
 * recomputes, and headers that would let a caller spoof the gateway's own ({@code X-Attest-*},
 * {@code X-Request-Id}, {@code X-Forwarded-*}).
 */
public final class CredentialStripper {
    private static final Set<String> ALWAYS = Set.of(
            // credentials
            "authorization", "proxy-authorization", "cookie", "cookie2",
            // hop-by-hop (RFC 9110 7.6.1 and common extensions)
            "connection", "keep-alive", "proxy-connection", "te", "trailer", "trailers", "transfer-encoding",
            "upgrade", "proxy-authenticate",
            // framing and routing, recomputed by the gateway's client
            "host", "content-length", "expect", "forwarded", "via",
            // set by the gateway
            "x-request-id");
    private static final Pattern SECRET_LIKE = Pattern.compile(
            "(?i).*(api[-_]?key|apikey|auth[-_]?token|access[-_]?token|id[-_]?token|secret|session|credential|"
                    + "password|x-amz-security-token|signature).*");
    private static final Pattern GATEWAY_OWNED = Pattern.compile("(?i)^(x-attest-.*|x-forwarded-.*|x-real-ip)$");

    private CredentialStripper() {
    }

    public static ForwardHeaders strip(List<Map.Entry<String, String>> headers) {
        Set<String> named = new HashSet<>();
        for (Map.Entry<String, String> e : headers) {
            if (e.getKey().equalsIgnoreCase("connection")) {
                for (String token : e.getValue().split(",")) {
                    String t = token.trim().toLowerCase(Locale.ROOT);
                    if (!t.isEmpty()) {
                        named.add(t);
                    }
                }
            }
        }
        List<Map.Entry<String, String>> kept = new ArrayList<>();
        for (Map.Entry<String, String> e : headers) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            if (ALWAYS.contains(name) || named.contains(name) || SECRET_LIKE.matcher(name).matches()
                    || GATEWAY_OWNED.matcher(name).matches() || !isToken(name) || hasControl(e.getValue())) {
                continue;
            }
            kept.add(Map.entry(e.getKey(), e.getValue()));
        }
        return new ForwardHeaders(kept);
    }

    private static boolean isToken(String name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= 0x20 || c >= 0x7f || "()<>@,;:\\\"/[]?={}".indexOf(c) >= 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean hasControl(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return true;
            }
        }
        return false;
    }
}
