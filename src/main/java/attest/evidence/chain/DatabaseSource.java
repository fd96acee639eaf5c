package attest.evidence.chain;

import attest.evidence.EvidenceAssembler;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Reads chains, checkpoints and payload digests over a (read-only) database connection. */
public final class DatabaseSource implements Verifier.Source {
    private final Connection c;
    private final attest.evidence.crypto.MasterKey master;
    private boolean encryptedSkipped;
    private boolean payloadsUnreadable;
    private boolean recordsUnreadable;
    private final List<String> readPathFaults = new ArrayList<>();
    private final List<String> readPathUnchecked = new ArrayList<>();

    public DatabaseSource(Connection c) throws SQLException {
        this(c, null);
    }

    /** @param master the master key, to check encrypted payloads too (null: they are skipped, with a note) */
    public DatabaseSource(Connection c, attest.evidence.crypto.MasterKey master) throws SQLException {
        this.c = c;
        this.master = master;
        try (java.sql.Statement st = c.createStatement()) {
            // the store's own objects, never a look-alike a DBA put first on this login's search path (a schema named
            // after the login, "$user", holding a frozen audit_record_columns): pg_catalog first, then public; and a
            // row-level security policy that would filter a read fails it instead (row_security off)
            st.execute("SET search_path = pg_catalog, public");
            st.execute("SET row_security = off");
        }
        // the views, tables, functions and casts the reads go through, as the migrations made them (ReadPath)
        ReadPath.Result path = ReadPath.check(c);
        readPathFaults.addAll(path.faults());
        readPathUnchecked.addAll(path.unchecked());
        c.setReadOnly(true);
    }

    @Override
    public List<String> readPathFaults() {
        return readPathFaults;
    }

    @Override
    public List<String> readPathUnchecked() {
        return readPathUnchecked;
    }

    @Override
    public Map<String, String> approvalDecisions() {
        if (recordsUnreadable) {
            return null;
        }
        Map<String, String> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT approval_id::text, decisions FROM public.audit_approvals");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        } catch (SQLException e) {
            recordsUnreadable = true;
            return null;
        }
        return out;
    }

    @Override
    public List<Map<String, String>> keyColumns() {
        return viewRows("public.audit_key_columns", Verifier.KEY_COLUMNS);
    }

    @Override
    public List<Map<String, String>> refusalSummaryColumns() {
        return viewRows("public.audit_refusal_summary_columns", Verifier.SUMMARY_COLUMNS);
    }

    /**
     * Every row of a view as text, {@code id} and the given columns; null (and the store's rows then unverified,
     * {@link #recordsUnreadable}) when the view cannot be read: refused to this login, dropped or narrowed.
     */
    private List<Map<String, String>> viewRows(String view, List<String> columns) {
        if (recordsUnreadable) {
            return null;
        }
        StringBuilder sql = new StringBuilder("SELECT id::text");
        columns.forEach(col -> sql.append(", ").append(col).append("::text"));
        List<Map<String, String>> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql + " FROM " + view); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Map<String, String> row = new HashMap<>();
                row.put("id", rs.getString(1));
                for (int i = 0; i < columns.size(); i++) {
                    row.put(columns.get(i), rs.getString(i + 2));
                }
                out.add(row);
            }
        } catch (SQLException e) {
            recordsUnreadable = true;
            return null;
        }
        return out;
    }

    @Override
    public List<Map<String, String>> approvalColumns() {
        if (recordsUnreadable) {
            return null;
        }
        List<Map<String, String>> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT approval_id::text, record_id::text, request_id, requester, "
                + "rule_id, reason, state, (extract(epoch FROM created_at) * 1000000)::bigint::text, "
                + "(extract(epoch FROM decided_at) * 1000000)::bigint::text, approvals_required::text, "
                + "(extract(epoch FROM executed_at) * 1000000)::bigint::text, flagged FROM public.audit_approvals");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Map<String, String> row = new HashMap<>();
                row.put("id", rs.getString(1));
                for (int i = 0; i < Verifier.APPROVAL_COLUMNS.size(); i++) {
                    row.put(Verifier.APPROVAL_COLUMNS.get(i), rs.getString(i + 2));
                }
                out.add(row);
            }
        } catch (SQLException e) {
            recordsUnreadable = true;
            return null;
        }
        return out;
    }

    @Override
    public Long headSize(String chainId) {
        try (PreparedStatement ps = c.prepareStatement("SELECT size FROM public.evidence_chain_head "
                + "WHERE chain_id = ?")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : null;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the chain head: " + e.getSQLState(), e);
        }
    }

    @Override
    public boolean terminatedSince(String recordId) {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM public.evidence_chain WHERE subject_id = ? "
                + "AND kind = 'call.terminal' LIMIT 1")) {
            ps.setObject(1, UUID.fromString(recordId));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException | IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public List<String> unchainedRecords(java.util.Set<UUID> named) {
        if (recordsUnreadable) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT id::text FROM public.audit_record_columns GROUP BY id "
                + "HAVING count(*) > 1 ORDER BY id LIMIT 10"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add("record " + rs.getString(1) + ": record_duplicated (the store holds more than one record under "
                        + "this id)");
            }
        } catch (SQLException e) {
            recordsUnreadable = true;
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT id FROM public.audit_record_columns");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next() && out.size() < 10) {
                UUID id = rs.getObject(1, UUID.class);
                if (!named.contains(id)) {
                    out.add("record " + id + ": record_unchained (a stored record that no chain entry names: it was "
                            + "not written by the gateway)");
                }
            }
        } catch (SQLException e) {
            recordsUnreadable = true;
        }
        return out;
    }

    /** Whether some encrypted payloads could not be checked (no master key given). */
    public boolean encryptedSkipped() {
        return encryptedSkipped;
    }

    /** True when this login may not read the payload columns (auditor_ro): payloads were not checked at all. */
    public boolean payloadsUnreadable() {
        return payloadsUnreadable;
    }

    @Override
    public List<String> chains() {
        // every chain the store knows of: with entries, with checkpoints, with a head, or registered; a chain
        // whose entries were all deleted is still named (and then a finding)
        List<String> out = new ArrayList<>(new java.util.TreeSet<>(strings("SELECT DISTINCT chain_id "
                + "FROM public.evidence_chain UNION SELECT chain_id FROM public.evidence_checkpoint "
                + "UNION SELECT chain_id FROM public.evidence_chain_head "
                + "UNION SELECT chain_id FROM public.evidence_instance")));
        return out;
    }

    @Override
    public boolean holdsPosition(String chainId, long position) {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM public.evidence_chain WHERE chain_id = ? "
                + "AND position = ?")) {
            ps.setString(1, chainId);
            ps.setLong(2, position);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the chain: " + e.getSQLState(), e);
        }
    }

    @Override
    public Long lastRegistryAtMicros(String chainId) {
        try (PreparedStatement ps = c.prepareStatement("SELECT (extract(epoch FROM max(at)) * 1000000)::bigint "
                + "FROM public.evidence_instance WHERE chain_id = ?")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                long at = rs.getLong(1);
                return rs.wasNull() ? null : at;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the registry: " + e.getSQLState(), e);
        }
    }

    @Override
    public String lastRegistryEvent(String chainId) {
        try (PreparedStatement ps = c.prepareStatement("SELECT event FROM public.evidence_instance WHERE chain_id = ? "
                + "ORDER BY at DESC, event DESC LIMIT 1")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the registry: " + e.getSQLState(), e);
        }
    }

    @Override
    public Iterable<Verifier.Row> rows(String chainId) {
        List<Verifier.Row> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT position, canonical, hash, kind, subject_id::text "
                + "FROM public.evidence_chain WHERE chain_id = ? ORDER BY position")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Verifier.Row(rs.getLong(1), rs.getBytes(2), rs.getBytes(3), rs.getString(4),
                            rs.getString(5)));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the chain: " + e.getSQLState(), e);
        }
        return out;
    }

    @Override
    public List<Verifier.StoredCheckpoint> checkpoints(String chainId) {
        List<Verifier.StoredCheckpoint> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT size, canonical, signature, key_id, hash, "
                + "(extract(epoch FROM signed_at) * 1000000)::bigint "
                + "FROM public.evidence_checkpoint WHERE chain_id = ? ORDER BY size, signed_at")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long signedAt = rs.getLong(6);
                    out.add(new Verifier.StoredCheckpoint(rs.getLong(1), rs.getBytes(2), rs.getBytes(3),
                            rs.getString(4), rs.getBytes(5), rs.wasNull() ? null : signedAt));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the checkpoints: " + e.getSQLState(), e);
        }
        return out;
    }

    @Override
    public Map<String, String> payloadDigests(String recordId) {
        Map<String, String> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT r.request_body, r.response_body, r.response_truncated, "
                + "r.payload_key_id, k.wrapped, r.raw_response_body FROM public.evidence_record r "
                + "LEFT JOIN public.evidence_data_key k ON k.id = r.payload_key_id WHERE r.id = ?")) {
            ps.setObject(1, UUID.fromString(recordId));
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    byte[] req = rs.getBytes(1);
                    byte[] res = rs.getBytes(2);
                    byte[] raw = rs.getBytes(6);
                    String keyId = rs.getString(4);
                    if (keyId != null) {
                        byte[] wrapped = rs.getBytes(5);
                        if (master == null || wrapped == null) {
                            encryptedSkipped |= master == null && (req != null || res != null);
                            return out; // no key given, or the data key was destroyed (purged)
                        }
                        req = req == null ? null : attest.evidence.crypto.PayloadCipher.open(master, wrapped, keyId, req,
                                recordId + ":request");
                        res = res == null ? null : attest.evidence.crypto.PayloadCipher.open(master, wrapped, keyId, res,
                                recordId + ":response");
                        raw = raw == null ? null : attest.evidence.crypto.PayloadCipher.open(master, wrapped, keyId, raw,
                                recordId + ":raw");
                    }
                    if (req != null) {
                        out.put("request", EvidenceAssembler.sha256(req));
                    }
                    if (raw != null) {
                        out.put("raw", EvidenceAssembler.sha256(raw));
                    }
                    if (res != null && !rs.getBoolean(3)) {
                        out.put("response", EvidenceAssembler.sha256(res));
                    }
                }
            }
        } catch (SQLException e) {
            payloadsUnreadable |= "42501".equals(e.getSQLState()); // insufficient privilege
            return out;
        } catch (IllegalArgumentException e) {
            out.put("request", "undecryptable"); // a ciphertext that no longer opens was changed
            return out;
        }
        return out;
    }

    /**
     * True when the records' columns could not be read: a login without the view's grant, a store older than the
     * migrations that made the view (V25, V28), or a view dropped or changed. Rows were then not checked against
     * their entries, and the report is not VALID ({@link Verifier.Source#recordsUnreadable}).
     */
    @Override
    public boolean recordsUnreadable() {
        return recordsUnreadable;
    }

    @Override
    public Map<String, String> recordColumns(String recordId) {
        if (recordsUnreadable) {
            return null;
        }
        try {
            return recordColumns(c, UUID.fromString(recordId));
        } catch (SQLException e) {
            // insufficient privilege, an undefined view or column, anything: the rows are not compared, and not
            // silently (a DBA who changed a row and dropped or narrowed the view would otherwise read VALID)
            recordsUnreadable = true;
            return null;
        } catch (IllegalArgumentException e) {
            return null; // not a record id
        }
    }

    /**
     * A call's stored record as the view {@code audit_record_columns} gives it (V25, V28): the
     * {@link Verifier#RECORD_COLUMNS} as text (null for SQL NULL), or an empty map when the store holds no such record.
     * Also read by a replay, to compare the row with its chain entry before anything is sent.
     */
    public static Map<String, String> recordColumns(Connection c, UUID recordId) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT ");
        Verifier.RECORD_COLUMNS.keySet().forEach(col -> sql.append(sql.length() > 7 ? ", " : "").append(col).append("::text"));
        // the view of these columns (V25), which the auditors' login may read as well as the owner's
        try (PreparedStatement ps = c.prepareStatement(sql + " FROM public.audit_record_columns WHERE id = ?")) {
            ps.setObject(1, recordId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Map.of(); // the chain holds the call, the store's records no longer do
                }
                Map<String, String> out = new HashMap<>();
                int i = 1;
                for (String col : Verifier.RECORD_COLUMNS.keySet()) {
                    out.put(col, rs.getString(i++));
                }
                return out;
            }
        }
    }

    private List<String> strings(String sql) {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the chains: " + e.getSQLState(), e);
        }
        return out;
    }
}
