package attest.identity;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The one credential a data-plane request presents: a Keycloak access token ({@code Authorization: Bearer ...})
 * or a virtual key ({@code Authorization: Bearer atk_...}, {@code api-key: atk_...} or {@code x-api-key: atk_...},
 * as OpenAI, Azure and Anthropic SDKs send them). Exactly one is accepted: none, two different ones, a header
 * given twice, a key header spelt with {@code _} ({@code X_API_KEY}), or an {@code api-key} that is not a virtual
 * key is 401, so that no header can smuggle a second
 * identity past the one that was checked.
 *
 * @param kind  {@link #TOKEN} or {@link #KEY}
 * @param value the {@code Authorization} header (for a token) or the key's secret
 */
public record Credential(String kind, String value) {
    public static final String TOKEN = "token";
    public static final String KEY = "key";
    public static final String KEY_PREFIX = "atk_";
    public static final List<String> KEY_HEADERS = List.of("api-key", "x-api-key");
    /**
     * The key headers spelt with {@code _}: the stripping reads a name with {@code _} as {@code -} (and drops these),
     * so a key under one of them would be a second credential that was never counted. Such a header is 401.
     */
    static final List<String> UNDERSCORED_KEY_HEADERS = List.of("api_key", "x_api_key", "x-api_key", "x_api-key");

    /** Reads the credential from the request's headers (all values of a header, by case-insensitive name). */
    public static Credential read(Function<String, List<String>> headers) {
        List<String> auth = headers.apply("Authorization");
        if (auth.size() > 1) {
            throw new InvalidTokenException("more than one Authorization header");
        }
        List<String> keys = new ArrayList<>();
        String bearer = null;
        if (auth.size() == 1) {
            String a = auth.get(0);
            if (a.regionMatches(true, 0, "Bearer ", 0, 7) && a.substring(7).trim().startsWith(KEY_PREFIX)) {
                keys.add(a.substring(7).trim());
            } else {
                bearer = a;
            }
        }
        for (String h : UNDERSCORED_KEY_HEADERS) {
            if (!headers.apply(h).isEmpty()) {
                throw new InvalidTokenException(h + " is a key header spelt with '_': send api-key or x-api-key");
            }
        }
        for (String h : KEY_HEADERS) {
            List<String> v = headers.apply(h);
            if (v.size() > 1) {
                throw new InvalidTokenException("more than one " + h + " header");
            }
            if (v.size() == 1) {
                String k = v.get(0).trim();
                if (!k.startsWith(KEY_PREFIX)) {
                    throw new InvalidTokenException(h + " is not a virtual key");
                }
                keys.add(k);
            }
        }
        if (!keys.isEmpty()) {
            if (bearer != null) {
                throw new InvalidTokenException("a bearer token and a virtual key together");
            }
            if (keys.stream().distinct().count() > 1) {
                throw new InvalidTokenException("more than one virtual key");
            }
            return new Credential(KEY, keys.get(0));
        }
        if (bearer == null) {
            throw new InvalidTokenException("no bearer token");
        }
        return new Credential(TOKEN, bearer);
    }

    /**
     * The secret as a caller could copy it elsewhere in its request: the key, or the token without its scheme; null
     * when it is too short to look for (a token or key is far longer, so a short common value never matches).
     */
    public String secret() {
        if (value == null) {
            return null;
        }
        String v = value.strip();
        if (TOKEN.equals(kind)) {
            int space = v.indexOf(' ');
            v = space < 0 ? v : v.substring(space + 1).strip();
        }
        return v.length() < 16 ? null : v;
    }

    /**
     * The headers without any whose value carries this credential's secret ({@link #secret()}), as it is, base64
     * encoded ({@link #encodedForms}: {@code Basic user:secret}, the token encoded beside other bytes) or hex encoded
     * in any letter case ({@link #hexForm}), whatever the name:
     * what the name lists of the stripping miss (the token copied under another name, inside a longer value, folded
     * into another header) must reach neither an upstream nor a held call's stored request. A null credential keeps
     * every header.
     */
    public static List<java.util.Map.Entry<String, String>> withoutSecret(Credential c,
                                                                        List<java.util.Map.Entry<String, String>> headers) {
        String secret = c == null ? null : c.secret();
        if (secret == null) {
            return headers;
        }
        List<String> encoded = null; // made only when a value is long enough to hold one (most headers are short)
        String hex = null;
        List<java.util.Map.Entry<String, String>> kept = new java.util.ArrayList<>(headers.size());
        for (java.util.Map.Entry<String, String> e : headers) {
            String v = e.getValue();
            if (v != null && v.length() >= MIN_ENCODED) {
                if (v.contains(secret)) {
                    continue;
                }
                if (encoded == null) {
                    encoded = encodedForms(secret);
                    hex = hexForm(secret);
                }
                if (containsAny(v, encoded) || containsHex(v, hex)) {
                    continue;
                }
            }
            kept.add(e);
        }
        return kept.size() == headers.size() ? headers : List.copyOf(kept);
    }

    /** The shortest encoded form looked for (a secret is at least 16 characters; see {@link #encodedForms}). */
    private static final int MIN_ENCODED = 12;

    /**
     * The secret's base64 as it appears inside a longer base64 text (Basic {@code user:secret}, a copy of the token
     * encoded beside other bytes), standard and URL-safe: for each of the three offsets the secret may start at
     * within base64's 3-byte groups, the characters that only the secret's bytes decide (the first group, which may
     * mix in bytes before it, and the last, which may mix in bytes after it, are left out).
     */
    static List<String> encodedForms(String secret) {
        byte[] s = secret.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        List<String> forms = new java.util.ArrayList<>(6);
        for (int offset = 0; offset < 3; offset++) {
            byte[] b = new byte[offset + s.length];
            System.arraycopy(s, 0, b, offset, s.length);
            String e = java.util.Base64.getEncoder().withoutPadding().encodeToString(b);
            int from = offset == 0 ? 0 : 4;
            int to = e.length() - 4;
            if (to - from >= MIN_ENCODED) {
                String core = e.substring(from, to);
                forms.add(core);
                String urlSafe = core.replace('+', '-').replace('/', '_');
                if (!urlSafe.equals(core)) {
                    forms.add(urlSafe);
                }
            }
        }
        return forms;
    }

    /** The secret's bytes in hex (RFC 4648 base16), lower case; looked for in any letter case ({@link #containsHex}). */
    static String hexForm(String secret) {
        return java.util.HexFormat.of().formatHex(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Whether the text carries that hex, in upper, lower or mixed case (lower-cased only when long enough). */
    static boolean containsHex(String text, String hex) {
        return text.length() >= hex.length() && text.toLowerCase(java.util.Locale.ROOT).contains(hex);
    }

    /** Whether the text carries the secret, as it is, base64-encoded ({@link #encodedForms}) or hex-encoded. */
    public static boolean carries(String text, String secret) {
        return text != null && secret != null && (text.contains(secret) || containsAny(text, encodedForms(secret))
                || containsHex(text, hexForm(secret)));
    }

    private static boolean containsAny(String v, List<String> needles) {
        for (String n : needles) {
            if (v.contains(n)) {
                return true;
            }
        }
        return false;
    }
}
