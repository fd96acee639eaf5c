package attest.http;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The decoded {@code name=value} pairs of a request target's query (or of a form, behind a {@code ?}), in order. */
public final class QueryParameters {
    /** The earliest and latest instants a query may name (PostgreSQL's timestamps end in year 294276). */
    public static final Instant EARLIEST = Instant.parse("0001-01-01T00:00:00Z");
    public static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

    private QueryParameters() {
    }

    /**
     * An ISO-8601 instant within the years 1 to 9999. Anything else is an {@link IllegalArgumentException} (a 400):
     * an instant past PostgreSQL's range would fail the query as if the store were down (503, Retry-After).
     */
    public static Instant instant(String s) {
        Instant t;
        try {
            t = Instant.parse(s);
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException("not an ISO-8601 instant");
        }
        if (t.isBefore(EARLIEST) || t.isAfter(LATEST)) {
            throw new IllegalArgumentException("an instant outside the years 1 to 9999");
        }
        return t;
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
