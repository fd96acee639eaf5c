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
     * The headers without any whose value carries this credential's secret ({@link #secret()}), whatever the name:
     * what the name lists of the stripping miss (the token copied under another name, inside a longer value, folded
     * into another header) must reach neither an upstream nor a held call's stored request. A null credential keeps
     * every header.
     */
    public static List<java.util.Map.Entry<String, String>> withoutSecret(Credential c,
                                                                        List<java.util.Map.Entry<String, String>> headers) {
        String secret = c == null ? null : c.secret();
        return secret == null ? headers : headers.stream().filter(e -> e.getValue() == null
                || !e.getValue().contains(secret)).toList();
    }
}
