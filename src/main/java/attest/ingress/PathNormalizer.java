package attest.ingress;

import attest.http.GatewayException;

import java.nio.charset.StandardCharsets;

/**
 * Checks and normalises a request-target before it is matched against upstream prefixes.
 * Refuses, rather than repairs, anything that could steer a call elsewhere: absolute-form targets,
 * dot segments (plain or percent-encoded), encoded slashes and backslashes, empty segments,
 * {@code ;} path parameters (plain or percent-encoded),
 * double encoding, control characters and invalid UTF-8.
 */
public final class PathNormalizer {
    /** The characters a raw path may hold: RFC 3986 unreserved, sub-delims, ':', '@', '/' and '%' (escapes). */
    private static final boolean[] ALLOWED_RAW = new boolean[128];

    static {
        for (char c : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/%".toCharArray()) {
            ALLOWED_RAW[c] = true;
        }
    }
    private static final int MAX_TARGET = 8192;

    /** A checked path: its decoded form for matching, its raw form for forwarding, and the raw query. */
    public record Split(String path, String rawPath, String rawQuery) {
        /** The raw path after the first {@code decodedPrefixLength} decoded characters (the prefix has no escapes). */
        String rawPathAfter(int decodedPrefixLength) {
            return rawPath.substring(decodedPrefixLength);
        }
    }

    private PathNormalizer() {
    }

    /** The normalized path of a request target, or "" when it is not one (matches no route of the control plane). */
    public static String pathOrEmpty(String target) {
        try {
            return normalize(target).path();
        } catch (RuntimeException e) {
            return "";
        }
    }

    public static Split normalize(String target) {
        if (target == null || target.isEmpty() || target.length() > MAX_TARGET) {
            throw GatewayException.badRequest("invalid request target");
        }
        if (target.charAt(0) != '/') {
            // absolute-form (http://host/...) or authority-form: the request never chooses a host
            throw GatewayException.badRequest("request target must be an absolute path");
        }
        int q = target.indexOf('?');
        String rawPath = q < 0 ? target : target.substring(0, q);
        String rawQuery = q < 0 ? null : target.substring(q + 1);
        int hash = rawQuery == null ? rawPath.indexOf('#') : rawQuery.indexOf('#');
        if (hash >= 0) {
            throw GatewayException.badRequest("fragment not allowed in request target");
        }
        boolean escaped = false;
        for (int i = 0; i < rawPath.length(); i++) {
            char c = rawPath.charAt(i);
            if (c >= 128 || !ALLOWED_RAW[c]) {
                throw GatewayException.badRequest("invalid characters in path");
            }
            escaped |= c == '%';
        }
        if (rawQuery != null && (rawQuery.chars().anyMatch(c -> c < 0x21 || c == 0x7f)
                || !isUriQuery(rawQuery))) {
            // only RFC 3986 query characters and well-formed escapes: anything else cannot become a URI
            throw GatewayException.badRequest("invalid characters in query");
        }
        // without an escape the path is its own decoded form (ASCII only, checked above)
        String decoded = escaped ? decode(rawPath) : rawPath;
        if (decoded.indexOf(';') >= 0) {
            // path parameters (raw or %3B): an upstream that strips them would see another path than policy did
            throw GatewayException.badRequest("path parameters (;) refused");
        }
        if (decoded.contains("\\") || decoded.contains("//") || decoded.contains("%")) {
            // encoded slashes/backslashes, empty segments or double encoding
            throw GatewayException.badRequest("ambiguous path");
        }
        // a decoded '/' that was encoded as %2F would change segmentation: refuse
        if (escaped && (rawPath.toLowerCase().contains("%2f") || rawPath.toLowerCase().contains("%5c"))) {
            throw GatewayException.badRequest("encoded path separator");
        }
        if (hasDotSegment(decoded)) {
            throw GatewayException.badRequest("path traversal refused");
        }
        // the raw form may only differ from the decoded one by escapes of unreserved characters,
        // so matching on the decoded form and forwarding the raw form agree on prefix length only
        // when the prefix part carries no escapes; require that by re-encoding check below.
        if (!decoded.equals(rawPath)) {
            // forward the decoded (canonical) form, re-encoded strictly
            rawPath = encode(decoded);
        }
        return new Split(decoded, rawPath, rawQuery);
    }

    /** RFC 3986 query characters and well-formed escapes only (a loop: no regex recursion on long input). */
    /** Whether a segment between slashes (or the ends) is "." or "..". */
    static boolean hasDotSegment(String path) {
        int start = 0;
        int n = path.length();
        while (start <= n) {
            int end = path.indexOf('/', start);
            if (end < 0) {
                end = n;
            }
            int len = end - start;
            if ((len == 1 || len == 2) && path.charAt(start) == '.' && (len == 1 || path.charAt(start + 1) == '.')) {
                return true;
            }
            start = end + 1;
        }
        return false;
    }

    private static boolean isUriQuery(String q) {
        for (int i = 0; i < q.length(); i++) {
            char c = q.charAt(i);
            if (c == '%') {
                if (i + 2 >= q.length() || Character.digit(q.charAt(i + 1), 16) < 0
                        || Character.digit(q.charAt(i + 2), 16) < 0) {
                    return false;
                }
                i += 2;
            } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || "-._~!$&'()*+,;=:@/?".indexOf(c) >= 0)) {
                return false;
            }
        }
        return true;
    }

    private static String decode(String raw) {
        byte[] out = new byte[raw.length()];
        int n = 0;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length()) {
                    throw GatewayException.badRequest("malformed percent-encoding");
                }
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw GatewayException.badRequest("malformed percent-encoding");
                }
                int b = (hi << 4) | lo;
                if (b < 0x20 || b == 0x7f) {
                    throw GatewayException.badRequest("control character in path");
                }
                out[n++] = (byte) b;
                i += 2;
            } else {
                out[n++] = (byte) c;
            }
        }
        var decoder = StandardCharsets.UTF_8.newDecoder();
        try {
            return decoder.decode(java.nio.ByteBuffer.wrap(out, 0, n)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw GatewayException.badRequest("path is not valid UTF-8");
        }
    }

    private static String encode(String decoded) {
        StringBuilder sb = new StringBuilder();
        for (byte b : decoded.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || "-._~!$&'()*+,;=:@/".indexOf(c) >= 0) {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return sb.toString();
    }
}
