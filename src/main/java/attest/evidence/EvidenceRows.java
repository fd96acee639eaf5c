package attest.evidence;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.UUID;

/**
 * The evidence writer's rows in plain JDBC: {@code evidence_record} inserts and updates and {@code evidence_outbox}
 * inserts, bound in batches on the writer's connection. The column map is the entities' ({@link EvidenceRecord},
 * {@link OutboxEvent}), which stay the mapping for reads: every column Hibernate wrote is written with the same
 * value (EvidenceRowsTest compares the rows both write), the outbox id is left to the database (no generated key
 * is read back, so inserts batch).
 */
final class EvidenceRows {
    /**
     * Every column of evidence_record but the id, in binding order, with its SQL type (EvidenceRowsTest compares
     * them with the table's; the types are those of the typed rows of {@link #updateRows}).
     */
    private static final String[] DEFINITIONS = {
        "request_id text", "instance_id text", "state text", "outcome text", "received_at timestamptz",
        "forwarded_at timestamptz", "first_byte_at timestamptz", "completed_at timestamptz", "duration_ms bigint",
        "source_address text", "subject text", "username text", "principal_type text", "client_id text",
        "realm_roles text[]", "groups text[]", "token_id text", "issuer text", "auth_error text", "method text",
        "path text", "upstream text", "model text", "streamed boolean", "decision text", "rule_id text",
        "rules_version text", "reason text", "status integer", "upstream_status integer", "error_code text",
        "request_body bytea", "request_size bigint", "request_sha256 text", "response_body bytea",
        "response_size bigint", "response_sha256 text", "response_truncated boolean", "masking_rule_set text",
        "masking_exempt boolean", "masking_report text", "raw_response_size bigint", "raw_response_sha256 text",
        "approval_id uuid", "raw_response_body bytea", "forwarded_sha256 text", "correlation_id text",
        "stream_timings text", "payload_key_id text", "key_id uuid", "usage_status text", "prompt_tokens bigint",
        "completion_tokens bigint", "total_tokens bigint", "cached_tokens bigint", "reasoning_tokens bigint",
        "estimated_tokens bigint", "payload_purged boolean", "request_truncated boolean", "request_stored_size bigint",
        "request_stored_sha256 text"};
    /** Every column of evidence_record but the id, in binding order. */
    static final String[] COLUMNS = java.util.Arrays.stream(DEFINITIONS).map(d -> d.split(" ")[0])
            .toArray(String[]::new);
    /** The SQL type of each of {@link #COLUMNS}. */
    static final String[] TYPES = java.util.Arrays.stream(DEFINITIONS).map(d -> d.split(" ")[1])
            .toArray(String[]::new);

    static final String INSERT_RECORD = "INSERT INTO evidence_record (id, " + String.join(", ", COLUMNS)
            + ") VALUES (?" + ", ?".repeat(COLUMNS.length) + ")";
    static final String UPDATE_RECORD = "UPDATE evidence_record SET " + String.join(" = ?, ", COLUMNS)
            + " = ? WHERE id = ?";
    /** {@link #UPDATE_RECORD} that fails its transaction unless it finds its row (migration V24). */
    static final String UPDATE_ONE_RECORD = expectingOne(UPDATE_RECORD);
    /**
     * {@link #UPDATE_RECORD} for a record whose request body is the one already stored
     * ({@link EvidenceRecord#requestStored()}): every column but {@code request_body}, which keeps its value
     * (PostgreSQL then keeps a large body's TOAST pointer instead of storing the body again). Only while the row's
     * payloads are still under the data key this write names and not purged: a row that another write sealed under
     * another key, or that retention purged meanwhile, is not found, and the write fails instead of naming a key
     * that does not open the request body (or undoing a purge). The check is wrapped in {@code coalesce} so that
     * no index serves it: the row is found by its id alone (the partial index on {@code payload_key_id} of unpurged
     * rows would match it, and a plan that took it read every row of the day's key, about 10 ms a call).
     */
    static final String UPDATE_RECORD_KEEP_REQUEST = "UPDATE evidence_record SET "
            + String.join(" = ?, ", java.util.Arrays.stream(COLUMNS).filter(c -> !c.equals("request_body")).toList())
            + " = ? WHERE id = ? AND coalesce(payload_key_id = ? AND NOT payload_purged, false)";
    /** {@link #UPDATE_RECORD_KEEP_REQUEST} that fails its transaction unless it finds its row. */
    static final String UPDATE_ONE_RECORD_KEEP_REQUEST = expectingOne(UPDATE_RECORD_KEEP_REQUEST);

    /** An update that fails its transaction unless it finds exactly one row (attest_expect_one, migration V24). */
    private static String expectingOne(String update) {
        return "WITH updated AS (" + update + " RETURNING 1) SELECT attest_expect_one(count(*)) FROM updated";
    }

    /** The update for this record: {@link #UPDATE_RECORD}, or without the request body when it is the stored one. */
    static String update(EvidenceRecord r) {
        return r.requestStored() ? UPDATE_RECORD_KEEP_REQUEST : UPDATE_RECORD;
    }

    /** {@link #update} that fails its transaction unless it finds its row. */
    static String updateOne(EvidenceRecord r) {
        return r.requestStored() ? UPDATE_ONE_RECORD_KEEP_REQUEST : UPDATE_ONE_RECORD;
    }

    /** Rows in one statement of {@link #updateRows} at most (a batch's run of updates is cut in powers of two). */
    static final int MAX_ROWS_PER_UPDATE = 64;

    /**
     * One statement that updates {@code rows} records (at least two), as {@link #UPDATE_RECORD} (or, with
     * {@code keepRequest}, {@link #UPDATE_RECORD_KEEP_REQUEST}) would each: every column from a typed row of
     * {@code VALUES}, joined on the id. One execution instead of one per record (issue #12: the terminal updates of
     * a group commit were PostgreSQL's largest statement per call, each paying its own executor start). It updates
     * fewer rows than it was given when a record is not found (or, keeping the request body, its data key or purge
     * changed), or when two rows name one record; the writer then fails the batch as for a record not found, and
     * commits its writes one by one. Bound by {@link #addRow}.
     */
    static String updateRows(boolean keepRequest, int rows) {
        if (rows < 2 || rows > MAX_ROWS_PER_UPDATE) {
            throw new IllegalArgumentException("rows: " + rows);
        }
        StringBuilder set = new StringBuilder();
        StringBuilder names = new StringBuilder("id");
        StringBuilder row = new StringBuilder("(?::uuid");
        for (int k = 0; k < COLUMNS.length; k++) {
            if (keepRequest && COLUMNS[k].equals("request_body")) {
                continue;
            }
            set.append(set.isEmpty() ? "" : ", ").append(COLUMNS[k]).append(" = v.").append(COLUMNS[k]);
            names.append(", ").append(COLUMNS[k]);
            row.append(", ?::").append(TYPES[k]);
        }
        row.append(')');
        StringBuilder sql = new StringBuilder("UPDATE evidence_record AS r SET ").append(set).append(" FROM (VALUES ");
        for (int i = 0; i < rows; i++) {
            sql.append(i == 0 ? "" : ", ").append(row);
        }
        sql.append(") AS v(").append(names).append(") WHERE r.id = v.id");
        if (keepRequest) {
            // as UPDATE_RECORD_KEEP_REQUEST: the row's payloads still under the data key this write names, not
            // purged; in coalesce, so that no index serves it (the record is found by its id alone)
            sql.append(" AND coalesce(r.payload_key_id = v.payload_key_id AND NOT r.payload_purged, false)");
        }
        return sql.toString();
    }

    /**
     * Binds one record's row of {@link #updateRows}{@code (r.requestStored(), n)} from {@code i}: its id, then its
     * columns (without the request body when it is the stored one); returns the next index.
     */
    static int addRow(Connection c, PreparedStatement ps, int i, EvidenceRecord r) throws SQLException {
        ps.setObject(i, r.getId());
        return bind(c, ps, i + 1, r, !r.requestStored());
    }

    static final String INSERT_OUTBOX = "INSERT INTO evidence_outbox (event_id, topic, event_key, payload, "
            + "created_at, published_at) VALUES (?, ?, ?, ?, ?, ?)";

    private EvidenceRows() {
    }

    /** Adds a record's insert to the batch of {@link #INSERT_RECORD}. */
    static void addInsert(Connection c, PreparedStatement ps, EvidenceRecord r) throws SQLException {
        bindInsert(c, ps, 1, r);
        ps.addBatch();
    }

    /**
     * Adds a record's update (every column, as Hibernate's update of the entity, but the request body when it is
     * the stored one) to the batch of {@link #update}{@code (r)}.
     */
    static void addUpdate(Connection c, PreparedStatement ps, EvidenceRecord r) throws SQLException {
        bindUpdate(c, ps, 1, r);
        ps.addBatch();
    }

    /** Adds an event to the batch of {@link #INSERT_OUTBOX}. */
    static void addEvent(PreparedStatement ps, OutboxEvent e) throws SQLException {
        bindEvent(ps, 1, e);
        ps.addBatch();
    }

    /** Binds the parameters of {@link #INSERT_RECORD} from {@code i}; returns the next index. */
    static int bindInsert(Connection c, PreparedStatement ps, int i, EvidenceRecord r) throws SQLException {
        ps.setObject(i, r.getId());
        return bind(c, ps, i + 1, r, true);
    }

    /** Binds the parameters of {@link #update} (and {@link #updateOne}) of this record from {@code i}. */
    static int bindUpdate(Connection c, PreparedStatement ps, int i, EvidenceRecord r) throws SQLException {
        int next = bind(c, ps, i, r, !r.requestStored());
        ps.setObject(next, r.getId());
        if (r.requestStored()) {
            ps.setString(next + 1, r.getPayloadKeyId());
            return next + 2;
        }
        return next + 1;
    }

    /** Binds the parameters of {@link #INSERT_OUTBOX} from {@code i}; returns the next index. */
    static int bindEvent(PreparedStatement ps, int i, OutboxEvent e) throws SQLException {
        ps.setObject(i, e.getEventId());
        ps.setString(i + 1, e.getTopic());
        ps.setString(i + 2, e.getEventKey());
        ps.setString(i + 3, e.getPayload());
        time(ps, i + 4, e.getCreatedAt());
        time(ps, i + 5, e.getPublishedAt());
        return i + 6;
    }

    /** Binds the columns of {@link #COLUMNS} (without the request body unless asked) from {@code i}; returns the next index. */
    private static int bind(Connection c, PreparedStatement ps, int i, EvidenceRecord r, boolean requestBody)
            throws SQLException {
        ps.setString(i++, r.getRequestId());
        ps.setString(i++, r.getInstanceId());
        ps.setString(i++, r.getState());
        ps.setString(i++, r.getOutcome());
        time(ps, i++, r.getReceivedAt());
        time(ps, i++, r.getForwardedAt());
        time(ps, i++, r.getFirstByteAt());
        time(ps, i++, r.getCompletedAt());
        ps.setObject(i++, r.getDurationMs(), Types.BIGINT);
        ps.setString(i++, r.getSourceAddress());
        ps.setString(i++, r.getSubject());
        ps.setString(i++, r.getUsername());
        ps.setString(i++, r.getPrincipalType());
        ps.setString(i++, r.getClientId());
        texts(c, ps, i++, r.getRealmRoles());
        texts(c, ps, i++, r.getGroups());
        ps.setString(i++, r.getTokenId());
        ps.setString(i++, r.getIssuer());
        ps.setString(i++, r.getAuthError());
        ps.setString(i++, r.getMethod());
        ps.setString(i++, r.getPath());
        ps.setString(i++, r.getUpstream());
        ps.setString(i++, r.getModel());
        ps.setObject(i++, r.getStreamed(), Types.BOOLEAN);
        ps.setString(i++, r.getDecision());
        ps.setString(i++, r.getRuleId());
        ps.setString(i++, r.getRulesVersion());
        ps.setString(i++, r.getReason());
        ps.setObject(i++, r.getStatus(), Types.INTEGER);
        ps.setObject(i++, r.getUpstreamStatus(), Types.INTEGER);
        ps.setString(i++, r.getErrorCode());
        if (requestBody) {
            ps.setBytes(i++, r.getRequestBody());
        }
        ps.setObject(i++, r.getRequestSize(), Types.BIGINT);
        ps.setString(i++, r.getRequestSha256());
        ps.setBytes(i++, r.getResponseBody());
        ps.setObject(i++, r.getResponseSize(), Types.BIGINT);
        ps.setString(i++, r.getResponseSha256());
        ps.setObject(i++, r.getResponseTruncated(), Types.BOOLEAN);
        ps.setString(i++, r.getMaskingRuleSet());
        ps.setObject(i++, r.getMaskingExempt(), Types.BOOLEAN);
        ps.setString(i++, r.getMaskingReport());
        ps.setObject(i++, r.getRawResponseSize(), Types.BIGINT);
        ps.setString(i++, r.getRawResponseSha256());
        uuid(ps, i++, r.getApprovalId());
        ps.setBytes(i++, r.getRawResponseBody());
        ps.setString(i++, r.getForwardedSha256());
        ps.setString(i++, r.getCorrelationId());
        ps.setString(i++, r.getStreamTimings());
        ps.setString(i++, r.getPayloadKeyId());
        uuid(ps, i++, r.getKeyId());
        ps.setString(i++, r.getUsageStatus());
        ps.setObject(i++, r.getPromptTokens(), Types.BIGINT);
        ps.setObject(i++, r.getCompletionTokens(), Types.BIGINT);
        ps.setObject(i++, r.getTotalTokens(), Types.BIGINT);
        ps.setObject(i++, r.getCachedTokens(), Types.BIGINT);
        ps.setObject(i++, r.getReasoningTokens(), Types.BIGINT);
        ps.setObject(i++, r.getEstimatedTokens(), Types.BIGINT);
        ps.setBoolean(i++, r.isPayloadPurged());
        ps.setObject(i++, r.getRequestTruncated(), Types.BOOLEAN);
        ps.setObject(i++, r.getRequestStoredSize(), Types.BIGINT);
        ps.setString(i++, r.getRequestStoredSha256());
        return i;
    }

    private static void time(PreparedStatement ps, int i, Instant t) throws SQLException {
        if (t == null) {
            ps.setNull(i, Types.TIMESTAMP_WITH_TIMEZONE);
        } else {
            ps.setObject(i, OffsetDateTime.ofInstant(t, ZoneOffset.UTC), Types.TIMESTAMP_WITH_TIMEZONE);
        }
    }

    private static void uuid(PreparedStatement ps, int i, UUID u) throws SQLException {
        if (u == null) {
            ps.setNull(i, Types.OTHER);
        } else {
            ps.setObject(i, u);
        }
    }

    private static void texts(Connection c, PreparedStatement ps, int i, String[] values) throws SQLException {
        if (values == null) {
            ps.setNull(i, Types.ARRAY);
        } else {
            ps.setArray(i, c.createArrayOf("text", values));
        }
    }
}
