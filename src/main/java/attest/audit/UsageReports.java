package attest.audit;

import attest.evidence.EvidenceUnavailableException;
import attest.usage.Prices;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Token usage and cost, from the view {@code usage_records} (migration V18): one row per user, group, key, model,
 * upstream or day, with the sums of the usage in the evidence records and the cost from usage/prices.yaml (per
 * million tokens; cached prompt tokens at the cached price). A call counts once under each of its groups. The SQL
 * is fixed per dimension, never built from the request.
 */
public final class UsageReports {
    /** The dimensions, each a fixed SQL expression. */
    static final Map<String, String> BY = Map.of(
            "user", "r.identity",
            "group", "coalesce(g.name, '(none)')",
            "key", "coalesce(r.key_id::text, '(none)')",
            "model", "coalesce(r.model, '(none)')",
            "upstream", "coalesce(r.upstream, '(none)')",
            "day", "to_char(r.day, 'YYYY-MM-DD')");

    public static final List<String> COLUMNS_AFTER_KEY = List.of("calls", "unknown_usage_calls", "prompt_tokens",
            "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens", "cost", "currency", "unpriced_calls");

    /** What to report. */
    public record Query(String by, Instant from, Instant to, String identity, String upstream, String key, String model,
                        boolean csv) {
    }

    /** The report: its rows in order of the dimension's value, and the totals. */
    public record Report(List<String> columns, List<Map<String, Object>> rows, Map<String, Object> totals) {
    }

    private final DataSource dataSource;
    private final Prices prices;

    public UsageReports(DataSource dataSource, Prices prices) {
        this.dataSource = dataSource;
        this.prices = prices;
    }

    public Report run(Query q) {
        String dim = BY.get(q.by());
        if (dim == null) {
            throw new IllegalArgumentException("unknown dimension " + q.by());
        }
        StringBuilder sql = new StringBuilder("SELECT ").append(dim).append(" AS dim, r.model, count(*), ")
                .append("sum(CASE WHEN r.usage_status = 'unknown' THEN 1 ELSE 0 END), coalesce(sum(r.prompt_tokens), 0), ")
                .append("coalesce(sum(r.completion_tokens), 0), coalesce(sum(r.total_tokens), 0), ")
                .append("coalesce(sum(r.cached_tokens), 0), coalesce(sum(r.reasoning_tokens), 0) FROM usage_records r");
        if (q.by().equals("group")) {
            sql.append(" LEFT JOIN LATERAL unnest(coalesce(r.groups, '{}'::text[])) AS g(name) ON true");
        }
        sql.append(" WHERE true");
        List<Object> args = new ArrayList<>();
        if (q.from() != null) {
            sql.append(" AND r.received_at >= ?");
            args.add(Timestamp.from(q.from()));
        }
        if (q.to() != null) {
            sql.append(" AND r.received_at < ?");
            args.add(Timestamp.from(q.to()));
        }
        filter(sql, args, "r.identity", q.identity());
        filter(sql, args, "r.upstream", q.upstream());
        filter(sql, args, "r.key_id::text", q.key());
        filter(sql, args, "r.model", q.model());
        sql.append(" GROUP BY 1, 2");
        Map<String, long[]> sums = new TreeMap<>();
        long[] total = new long[10];
        // read as verify reads (ReadPathWatch.pinned): pg_catalog then public, and a row-level security policy fails the
        // read instead of filtering it; one SELECT, in a transaction that the pool rolls back
        try (Connection c = ReadPathWatch.pinned(dataSource.getConnection());
             PreparedStatement ps = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < args.size(); i++) {
                ps.setObject(i + 1, args.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String key = rs.getString(1) == null ? "(none)" : rs.getString(1);
                    String model = rs.getString(2);
                    long[] row = new long[10];
                    for (int i = 0; i < 7; i++) {
                        row[i] = rs.getLong(3 + i);
                    }
                    Long cost = prices.costMicros(model, row[2], row[3], row[5]);
                    row[7] = cost == null ? 0 : cost;
                    row[8] = cost == null ? row[0] : 0;
                    long[] acc = sums.computeIfAbsent(key, k -> new long[10]);
                    for (int i = 0; i < 10; i++) {
                        acc[i] += row[i];
                        total[i] += row[i];
                    }
                }
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("evidence store unavailable");
        }
        List<String> columns = new ArrayList<>();
        columns.add(q.by());
        columns.addAll(COLUMNS_AFTER_KEY);
        List<Map<String, Object>> rows = new ArrayList<>();
        sums.forEach((k, v) -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put(q.by(), k);
            row.putAll(values(v));
            rows.add(row);
        });
        return new Report(columns, rows, values(total));
    }

    private Map<String, Object> values(long[] v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("calls", v[0]);
        m.put("unknown_usage_calls", v[1]);
        m.put("prompt_tokens", v[2]);
        m.put("completion_tokens", v[3]);
        m.put("total_tokens", v[4]);
        m.put("cached_tokens", v[5]);
        m.put("reasoning_tokens", v[6]);
        m.put("cost", Prices.amount(v[7]));
        m.put("currency", prices.currency());
        m.put("unpriced_calls", v[8]);
        return m;
    }

    private static void filter(StringBuilder sql, List<Object> args, String column, String value) {
        if (value != null && !value.isBlank()) {
            sql.append(" AND ").append(column).append(" = ?");
            args.add(value);
        }
    }
}
