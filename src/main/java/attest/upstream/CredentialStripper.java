package attest.upstream;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Removes from a request everything that must not reach an upstream: the caller's credentials
 * (Authorization, Proxy-Authorization, cookies, API-key and token headers in any spelling and case),
 * hop-by-hop headers and every header that {@code Connection} names, framing headers that the client
 * recomputes, and headers that would let a caller spoof the gateway's own ({@code X-Attest-*},
 * {@code X-Request-Id}, {@code X-Forwarded-*}), and client-address headers ({@code True-Client-IP},
 * {@code CF-Connecting-IP}, {@code X-Client-IP}, {@code X-Real-IP}, {@code Forwarded}...). Names are compared
 * normalised (lower case, {@code _} as {@code -}), so {@code X_Forwarded_For} and {@code X_Attest_Subject} go too.
 * {@link #stripQuery(String)} removes credentials from the query string.
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
            // set by the gateway (the trace context names the gateway's own span, see attest.ops.Tracing)
            "x-request-id", "traceparent", "tracestate",
            // client addresses: only the gateway knows the caller's address
            "true-client-ip", "cf-connecting-ip", "x-client-ip", "x-real-ip", "x-cluster-client-ip",
            "fastly-client-ip", "x-originating-ip", "client-ip", "x-original-forwarded-for", "x-envoy-external-address",
            "cloudfront-viewer-address", "x-proxyuser-ip", "x-azure-clientip", "x-azure-socketip", "x-appengine-user-ip",
            "x-remote-ip", "x-remote-addr", "remote-addr", "x-forwarded");
    /** Query parameters that carry a credential: removed from the forwarded query, in any letter case. */
    private static final Set<String> SECRET_PARAMS = Set.of("api_key", "api-key", "apikey", "key", "access_token",
            "token");
    /**
     * Name parts that mark a header as carrying a secret, in a normalised name (lower case, {@code _} as {@code -}):
     * {@code api[-_]?key}, {@code auth[-_]?token}, {@code access[-_]?token}, {@code id[-_]?token}, {@code secret},
     * {@code session}, {@code credential}, {@code password}, {@code x-amz-security-token}, {@code signature}
     * anywhere in it. Matched with {@code contains}, not a regex: this runs for every header of every call.
     */
    private static final String[] SECRET_PARTS = {"apikey", "api-key", "authtoken", "auth-token", "accesstoken",
            "access-token", "idtoken", "id-token", "secret", "session", "credential", "password",
            "x-amz-security-token", "signature"};
    /** Name prefixes the gateway owns (and {@code x-real-ip}, in {@link #ALWAYS}), in a normalised name. */
    private static final String[] GATEWAY_OWNED = {"x-attest-", "x-forwarded-"};

    private CredentialStripper() {
    }

    /**
     * The headers as they may leave the gateway (to the upstream, or stored with a held call): {@link #strip(List)},
     * then without any header whose value carries the caller's own secret, raw or encoded
     * ({@link attest.identity.Credential#withoutSecret}); {@code credential} may be null (none was read).
     */
    public static ForwardHeaders strip(List<Map.Entry<String, String>> headers,
                                       attest.identity.Credential credential) {
        return new ForwardHeaders(attest.identity.Credential.withoutSecret(credential, strip(headers).entries()));
    }

    public static ForwardHeaders strip(List<Map.Entry<String, String>> headers) {
        Set<String> named = new HashSet<>();
        for (Map.Entry<String, String> e : headers) {
            if (e.getKey().equalsIgnoreCase("connection")) {
                for (String token : e.getValue().split(",")) {
                    String t = normalise(token.trim());
                    if (!t.isEmpty()) {
                        named.add(t);
                    }
                }
            }
        }
        List<Map.Entry<String, String>> kept = new ArrayList<>();
        for (Map.Entry<String, String> e : headers) {
            // X_Forwarded_For and X-Forwarded-For are one header to many servers: compare the normalised name
            String name = normalise(e.getKey());
            if (ALWAYS.contains(name) || named.contains(name) || !isToken(name) || secretLike(name)
                    || gatewayOwned(name) || hasControl(e.getValue())) {
                continue;
            }
            kept.add(Map.entry(e.getKey(), e.getValue()));
        }
        return new ForwardHeaders(kept);
    }

    /** Whether a normalised header name names a secret (see {@link #SECRET_PARTS}). */
    static boolean secretLike(String name) {
        for (String part : SECRET_PARTS) {
            if (name.contains(part)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a normalised header name is one the gateway sets itself ({@code x-attest-*}, {@code x-forwarded-*}). */
    static boolean gatewayOwned(String name) {
        for (String prefix : GATEWAY_OWNED) {
            if (name.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** A header name as many servers and frameworks read it: lower case, with {@code _} as {@code -}. */
    static String normalise(String name) {
        return name.toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The raw query without parameters that carry a credential ({@code api_key}, {@code key},
     * {@code access_token}, {@code token}, {@code apikey}, {@code api-key}; any letter case, plain or
     * percent-encoded name). Everything else is kept as it was, in order. Null or empty when nothing is left.
     */
    public static String stripQuery(String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return rawQuery;
        }
        StringBuilder out = new StringBuilder();
        for (String pair : rawQuery.split("&", -1)) {
            int eq = pair.indexOf('=');
            String name = decodeName(eq < 0 ? pair : pair.substring(0, eq)).toLowerCase(Locale.ROOT).strip();
            if (SECRET_PARAMS.contains(name) || SECRET_PARAMS.contains(name.replace('-', '_'))) {
                continue;
            }
            if (out.length() > 0) {
                out.append('&');
            }
            out.append(pair);
        }
        return out.length() == 0 ? null : out.toString();
    }

    private static String decodeName(String raw) {
        try {
            return java.net.URLDecoder.decode(raw, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return raw;
        }
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
