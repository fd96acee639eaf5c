package attest.audit;

import attest.evidence.EvidenceUnavailableException;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The auditors' reports, read from the SQL views of migration V5 (docs/reports.md) with the filters that
 * apply to each view. Column names come from this table, never from the request.
 */
public final class AuditReports {
    /** A report's view and the columns its filters use (null where a filter does not apply). */
    private record View(String name, String time, String identity, String upstream, String outcome) {
    }

    private static final Map<String, View> VIEWS = Map.of(
            "access", new View("audit_access", "hour", "identity", "upstream", "outcome"),
            "denials", new View("audit_denials", "received_at", "identity", "upstream", null),
            "approvals", new View("audit_approvals", "created_at", "requester", null, "state"),
            "redactions", new View("audit_redactions", "hour", null, "upstream", null),
            "completeness", new View("audit_completeness", null, null, null, null));

    public static final Set<String> NAMES = VIEWS.keySet();

    /** One page of a report. */
    public record Page(List<String> columns, List<Map<String, Object>> rows, boolean more) {
    }

    private final DataSource dataSource;

    public AuditReports(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public Page run(AuditQuery q) {
        View v = VIEWS.get(q.report());
        if (v == null) {
            throw new IllegalArgumentException("unknown report " + q.report());
        }
        StringBuilder sql = new StringBuilder("SELECT * FROM ").append(v.name()).append(" WHERE true");
        List<Object> args = new ArrayList<>();
        if (v.time() != null && q.from() != null) {
            sql.append(" AND ").append(v.time()).append(" >= ?");
            args.add(Timestamp.from(q.from()));
        }
        if (v.time() != null && q.to() != null) {
            sql.append(" AND ").append(v.time()).append(" < ?");
            args.add(Timestamp.from(q.to()));
        }
        filter(sql, args, v.identity(), q.identity());
        filter(sql, args, v.upstream(), q.upstream());
        filter(sql, args, v.outcome(), q.outcome());
        sql.append(" ORDER BY ").append(v.time() != null ? v.time() + " DESC, 2" : "1").append(" LIMIT ? OFFSET ?");
        args.add(q.size() + 1);
        args.add((long) q.page() * q.size());
        // read as verify reads (ReadPathWatch.pinned): pg_catalog then public, and a row-level security policy fails the
        // read instead of filtering it; one SELECT, in a transaction that the pool rolls back
        try (Connection c = ReadPathWatch.pinned(dataSource.getConnection());
             PreparedStatement ps = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < args.size(); i++) {
                ps.setObject(i + 1, args.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                ResultSetMetaData md = rs.getMetaData();
                List<String> columns = new ArrayList<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    columns.add(md.getColumnName(i));
                }
                List<Map<String, Object>> rows = new ArrayList<>();
                while (rs.next()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    for (int i = 1; i <= columns.size(); i++) {
                        Object o = rs.getObject(i);
                        row.put(columns.get(i - 1), o instanceof Timestamp t ? t.toInstant().toString()
                                : o == null || o instanceof Number || o instanceof Boolean ? o : o.toString());
                    }
                    rows.add(row);
                }
                boolean more = rows.size() > q.size();
                return new Page(columns, more ? rows.subList(0, q.size()) : rows, more);
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("reports unavailable");
        }
    }

    private static void filter(StringBuilder sql, List<Object> args, String column, String value) {
        if (column != null && value != null) {
            sql.append(" AND ").append(column).append(" = ?");
            args.add(value);
        }
    }
}
