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

    public DatabaseSource(Connection c) throws SQLException {
        this.c = c;
        c.setReadOnly(true);
    }

    @Override
    public List<String> chains() {
        return strings("SELECT DISTINCT chain_id FROM evidence_chain ORDER BY chain_id");
    }

    @Override
    public Iterable<Verifier.Row> rows(String chainId) {
        List<Verifier.Row> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT position, canonical, hash FROM evidence_chain "
                + "WHERE chain_id = ? ORDER BY position")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Verifier.Row(rs.getLong(1), rs.getBytes(2), rs.getBytes(3)));
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
        try (PreparedStatement ps = c.prepareStatement("SELECT size, canonical, signature, key_id, hash "
                + "FROM evidence_checkpoint WHERE chain_id = ? ORDER BY size")) {
            ps.setString(1, chainId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Verifier.StoredCheckpoint(rs.getLong(1), rs.getBytes(2), rs.getBytes(3),
                            rs.getString(4), rs.getBytes(5)));
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
        try (PreparedStatement ps = c.prepareStatement("SELECT request_body, response_body, response_truncated "
                + "FROM evidence_record WHERE id = ?")) {
            ps.setObject(1, UUID.fromString(recordId));
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    byte[] req = rs.getBytes(1);
                    byte[] res = rs.getBytes(2);
                    if (req != null) {
                        out.put("request", EvidenceAssembler.sha256(req));
                    }
                    if (res != null && !rs.getBoolean(3)) {
                        out.put("response", EvidenceAssembler.sha256(res));
                    }
                }
            }
        } catch (SQLException | IllegalArgumentException e) {
            return out;
        }
        return out;
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
