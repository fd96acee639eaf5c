package attest.evidence.crypto;

import attest.evidence.EvidenceUnavailableException;

import javax.crypto.spec.SecretKeySpec;
import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Envelope encryption of evidence payloads (request and delivered bodies) with AES-256-GCM: one data key per
 * period (a day by default), kept in {@code evidence_data_key} wrapped by the master key. Destroying a data
 * key (retention) makes its payloads unreadable for good, while the chain, which covers the plaintext's
 * digests, still verifies. Each payload's additional data is its record id, so a ciphertext cannot be moved
 * to another record.
 */
public final class PayloadCipher {
    /** A payload whose data key was destroyed. */
    public static final class PurgedException extends RuntimeException {
        public PurgedException() {
            super("the payload was purged (its data key was destroyed)", null, false, false);
        }
    }

    private final DataSource dataSource;
    private final MasterKey master;
    private final long periodMillis;
    private final Clock clock;
    private final Map<String, SecretKeySpec> keys = new ConcurrentHashMap<>();

    public PayloadCipher(DataSource dataSource, MasterKey master, Duration period, Clock clock) {
        this.dataSource = dataSource;
        this.master = master;
        this.periodMillis = period.toMillis();
        this.clock = clock;
    }

    /** The id of the data key for the current period. */
    public String currentKeyId() {
        return "dk-" + (clock.millis() / periodMillis);
    }

    /** When a data key's period ends. */
    public Instant periodEnd(String keyId) {
        return Instant.ofEpochMilli((Long.parseLong(keyId.substring(3)) + 1) * periodMillis);
    }

    public byte[] encrypt(byte[] plain, String keyId, String recordId) {
        return MasterKey.Gcm.seal(key(keyId, true), plain, recordId);
    }

    /**
     * Opens a payload with its data key as the store holds it now: a key destroyed since this replica cached it
     * (retention, run on any replica) opens nothing here either, and is forgotten. The store is asked at every
     * opening (an auditor's read, a replay, a held call's completion, an approval's preview: never a call's own path),
     * so that destroying a key is final at once on every replica, not at each one's next restart. A caller that holds
     * a connection opens with {@link #decrypt(Connection, byte[], String, String)} instead, on that connection.
     */
    public byte[] decrypt(byte[] sealed, String keyId, String recordId) {
        try (Connection c = dataSource.getConnection()) {
            return decrypt(c, sealed, keyId, recordId);
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("data key store unavailable");
        }
    }

    /**
     * {@link #decrypt(byte[], String, String)} on the caller's own connection: a caller that holds one (in a
     * transaction, a row locked) must not wait for a second from the pool, where as many callers as the pool has
     * connections would each hold one and wait for another (50 concurrent decisions on one held call: 503s).
     */
    public byte[] decrypt(Connection c, byte[] sealed, String keyId, String recordId) {
        return MasterKey.Gcm.open(liveKey(c, keyId), sealed, recordId);
    }

    private SecretKeySpec liveKey(Connection c, String keyId) {
        try {
            Optional<byte[]> wrapped = load(c, keyId);
            if (wrapped.isEmpty()) {
                keys.remove(keyId);
                throw new PurgedException();
            }
            SecretKeySpec k = keys.get(keyId);
            if (k == null) {
                k = new SecretKeySpec(master.unwrap(wrapped.get(), keyId), "AES");
                keys.put(keyId, k);
            }
            return k;
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("data key store unavailable");
        }
    }

    private SecretKeySpec key(String keyId, boolean create) {
        SecretKeySpec k = keys.get(keyId);
        if (k != null) {
            return k;
        }
        try (Connection c = dataSource.getConnection()) {
            Optional<byte[]> wrapped = load(c, keyId);
            if (wrapped.isEmpty() && create) {
                byte[] raw = new byte[32];
                MasterKey.RANDOM.nextBytes(raw);
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO evidence_data_key (id, master_key_id, "
                        + "wrapped, created_at) VALUES (?,?,?,?) ON CONFLICT (id) DO NOTHING")) {
                    ps.setString(1, keyId);
                    ps.setString(2, master.id());
                    ps.setBytes(3, master.wrap(raw, keyId));
                    ps.setTimestamp(4, Timestamp.from(clock.instant()));
                    ps.executeUpdate();
                }
                wrapped = load(c, keyId); // another replica may have won the race: use its key
            }
            if (wrapped.isEmpty()) {
                throw new PurgedException();
            }
            SecretKeySpec spec = new SecretKeySpec(master.unwrap(wrapped.get(), keyId), "AES");
            keys.put(keyId, spec);
            return spec;
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("data key store unavailable");
        }
    }

    private static Optional<byte[]> load(Connection c, String keyId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT wrapped FROM evidence_data_key WHERE id = ?")) {
            ps.setString(1, keyId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBytes(1) != null ? Optional.of(rs.getBytes(1)) : Optional.empty();
            }
        }
    }

    /** Decrypts a payload offline (a verifier with the master key): unwraps the data key, then opens. */
    public static byte[] open(MasterKey master, byte[] wrappedDataKey, String keyId, byte[] sealed, String aad) {
        return MasterKey.Gcm.open(new SecretKeySpec(master.unwrap(wrappedDataKey, keyId), "AES"), sealed, aad);
    }

    /**
     * Master key rotation: re-wraps every live data key that an earlier master key wrapped with the current
     * one, in one transaction. Returns how many were re-wrapped.
     */
    public int rewrap(MasterKey previous) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            int n = 0;
            try (PreparedStatement sel = c.prepareStatement("SELECT id, wrapped FROM evidence_data_key WHERE "
                    + "master_key_id = ? AND wrapped IS NOT NULL FOR UPDATE");
                 PreparedStatement upd = c.prepareStatement("UPDATE evidence_data_key SET wrapped = ?, "
                         + "master_key_id = ? WHERE id = ?")) {
                sel.setString(1, previous.id());
                try (ResultSet rs = sel.executeQuery()) {
                    while (rs.next()) {
                        String id = rs.getString(1);
                        upd.setBytes(1, master.wrap(previous.unwrap(rs.getBytes(2), id), id));
                        upd.setString(2, master.id());
                        upd.setString(3, id);
                        upd.addBatch();
                        n++;
                    }
                }
                upd.executeBatch();
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
            keys.clear();
            return n;
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("data key store unavailable");
        }
    }

    /** The ids of the master keys that wrap live data keys (a start-up check: all must be the current one). */
    public java.util.Set<String> masterKeysInUse() {
        java.util.Set<String> out = new java.util.TreeSet<>();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT DISTINCT master_key_id FROM evidence_data_key WHERE wrapped IS NOT NULL");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("data key store unavailable");
        }
        return out;
    }
}
