package attest.approval;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * What an approver asks of {@code GET /approvals}: filters ({@code status}, {@code upstream}, {@code requester},
 * {@code rule}, {@code since}), order ({@code order=oldest|newest}) and a page ({@code limit}, at most
 * {@link #MAX_LIMIT}; {@code cursor} from the previous page). Anything unknown, repeated or out of range is
 * refused ({@link IllegalArgumentException}: 400), never ignored, so a misspelt filter never widens a list.
 *
 * @param after the position after which the page starts (from the cursor), or null for the first page
 */
public record ApprovalQuery(String status, String upstream, String requester, String rule, Instant since,
                            boolean newestFirst, int limit, Position after) {
    public static final int DEFAULT_LIMIT = 50;
    public static final int MAX_LIMIT = 200;
    private static final int MAX_VALUE = 200;
    private static final Set<String> PARAMS = Set.of("status", "upstream", "requester", "rule", "since", "order",
            "limit", "cursor");
    private static final Set<String> STATUSES = Set.of("pending", "approved", "denied", "expired", "cancelled",
            "executing", "executed", "failed", "all");

    /** A keyset position: the last call of the previous page. */
    public record Position(Instant createdAt, UUID id) {
    }

    public static ApprovalQuery parse(String uri) {
        Map<String, String> q = new HashMap<>();
        int i = uri == null ? -1 : uri.indexOf('?');
        if (i >= 0 && i < uri.length() - 1) {
            for (String part : uri.substring(i + 1).split("&", -1)) {
                if (part.isEmpty()) {
                    continue;
                }
                int eq = part.indexOf('=');
                String name = decode(eq < 0 ? part : part.substring(0, eq));
                String value = eq < 0 ? "" : decode(part.substring(eq + 1));
                if (!PARAMS.contains(name)) {
                    throw new IllegalArgumentException("unknown parameter: use status, upstream, requester, rule, "
                            + "since, order, limit or cursor");
                }
                if (q.put(name, value) != null) {
                    throw new IllegalArgumentException("a parameter is repeated");
                }
                if (value.isEmpty() || value.length() > MAX_VALUE || value.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f)) {
                    throw new IllegalArgumentException("a parameter's value is empty, too long or has control characters");
                }
            }
        }
        String status = q.getOrDefault("status", "pending").toLowerCase(Locale.ROOT);
        if (!STATUSES.contains(status)) {
            throw new IllegalArgumentException("status must be one of " + String.join(", ", new java.util.TreeSet<>(STATUSES)));
        }
        String order = q.getOrDefault("order", "oldest");
        if (!order.equals("oldest") && !order.equals("newest")) {
            throw new IllegalArgumentException("order must be oldest or newest");
        }
        int limit = DEFAULT_LIMIT;
        if (q.containsKey("limit")) {
            String l = q.get("limit");
            if (!l.matches("[0-9]{1,4}") || Integer.parseInt(l) < 1 || Integer.parseInt(l) > MAX_LIMIT) {
                throw new IllegalArgumentException("limit must be 1 to " + MAX_LIMIT);
            }
            limit = Integer.parseInt(l);
        }
        Instant since = null;
        if (q.containsKey("since")) {
            try {
                since = attest.http.QueryParameters.instant(q.get("since"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("since must be an ISO-8601 instant in the years 1 to 9999, such "
                        + "as 2026-01-31T12:00:00Z");
            }
        }
        Position after = q.containsKey("cursor") ? position(q.get("cursor")) : null;
        return new ApprovalQuery(status, q.get("upstream"), q.get("requester"), q.get("rule"), since,
                order.equals("newest"), limit, after);
    }

    /** The opaque cursor that continues after a call. */
    public static String cursor(Instant createdAt, UUID id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString((createdAt + "|" + id)
                .getBytes(StandardCharsets.US_ASCII));
    }

    static Position position(String cursor) {
        try {
            String s = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
            int bar = s.indexOf('|');
            UUID id = UUID.fromString(s.substring(bar + 1));
            if (!id.toString().equals(s.substring(bar + 1))) {
                throw new IllegalArgumentException("bad id");
            }
            return new Position(attest.http.QueryParameters.instant(s.substring(0, bar)), id);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cursor is not one this gateway issued");
        }
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("a parameter is not URL-encoded correctly");
        }
    }
}
