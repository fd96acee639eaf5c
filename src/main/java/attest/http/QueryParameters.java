package attest.http;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The decoded {@code name=value} pairs of a request target's query (or of a form, behind a {@code ?}), in order. */
public final class QueryParameters {
    private QueryParameters() {
    }

    /**
     * The pairs after the first {@code ?} (none without one); a part without {@code =} or with an empty name is
     * skipped. A broken percent escape ({@code %zz}, a lone {@code %}) is an {@link IllegalArgumentException}, which
     * every caller answers with 400, never a 500.
     */
    public static List<Map.Entry<String, String>> of(String uri) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        int q = uri.indexOf('?');
        if (q < 0) {
            return out;
        }
        for (String part : uri.substring(q + 1).split("&")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                try {
                    out.add(Map.entry(URLDecoder.decode(part.substring(0, eq), StandardCharsets.UTF_8),
                            URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("a malformed percent escape");
                }
            }
        }
        return out;
    }
}
