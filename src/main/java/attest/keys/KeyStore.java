package attest.keys;

import attest.evidence.EvidenceTransactions;
import attest.evidence.chain.EvidenceChain;
import attest.usage.Budget;
import com.fasterxml.jackson.databind.ObjectMapper;

import javax.sql.DataSource;
import java.security.MessageDigest;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Virtual keys in PostgreSQL, the one truth every replica reads. Each change of a key (created, revoked,
 * expired) is written in one transaction with its entry in this instance's evidence chain and its Kafka outbox
 * event, so it is evidence like a call. Revocation and expiry are conditional updates: a repeat changes nothing
 * and records nothing.
 */
public final class KeyStore implements KeyRecords {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String COLUMNS = "id, name, hint, owner_subject, owner_username, principal_type, client_id, "
            + "upstreams, models, budget, limits, created_at, created_by, expires_at, revoked_at, revoked_by";

    /** What a caller asked for, checked. */
    public record Draft(String name, String ownerSubject, String ownerUsername, String principalType, String clientId,
                        List<String> upstreams, List<String> models, Budget budget, Instant expiresAt) {
    }

    /** A created key, with the secret (shown once). */
    public record Created(VirtualKey key, String secret) {
    }

    private final EvidenceTransactions evidence;
    private final Clock clock;

    public KeyStore(DataSource dataSource, String instanceId, String topic, Clock clock) {
        this.evidence = new EvidenceTransactions(dataSource, new EvidenceChain(instanceId), topic,
                "key store unavailable");
        this.clock = clock;
    }

    public Created create(Draft d, String actor) {
        String secret = KeySecrets.generate();
        Instant now = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        UUID id = UUID.randomUUID();
        VirtualKey key = new VirtualKey(id, d.name(), KeySecrets.hint(secret), d.ownerSubject(), d.ownerUsername(),
                d.principalType(), d.clientId(), List.copyOf(d.upstreams()), List.copyOf(d.models()), d.budget(), now,
                actor, d.expiresAt().truncatedTo(java.time.temporal.ChronoUnit.MILLIS), null, null);
        return evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO api_key (id, secret_sha256, hint, name, "
                    + "owner_subject, owner_username, principal_type, client_id, upstreams, models, budget, limits, "
                    + "created_at, created_by, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
                ps.setObject(1, id);
                ps.setBytes(2, KeySecrets.digest(secret));
                ps.setString(3, key.hint());
                ps.setString(4, key.name());
                ps.setString(5, key.ownerSubject());
                ps.setString(6, key.ownerUsername());
                ps.setString(7, key.principalType());
                ps.setString(8, key.clientId());
                ps.setArray(9, c.createArrayOf("text", key.upstreams().toArray()));
                ps.setArray(10, c.createArrayOf("text", key.models().toArray()));
                ps.setString(11, KeyJson.budget(key.budget()));
                ps.setString(12, KeyJson.limits(key.budget()));
                ps.setTimestamp(13, Timestamp.from(now));
                ps.setString(14, actor);
                ps.setTimestamp(15, Timestamp.from(key.expiresAt()));
                ps.executeUpdate();
            }
            event(c, key, "created", actor, now);
            return new Created(key, secret);
        });
    }

    @Override
    public Optional<VirtualKey> bySecret(String secret) {
        byte[] digest = KeySecrets.digest(secret);
        return evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + ", secret_sha256 FROM api_key "
                    + "WHERE secret_sha256 = ?")) {
                ps.setBytes(1, digest);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next() || !MessageDigest.isEqual(digest, rs.getBytes(17))) {
                        return Optional.empty();
                    }
                    return Optional.of(key(rs));
                }
            }
        });
    }

    public Optional<VirtualKey> byId(UUID id) {
        return evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM api_key WHERE id = ?")) {
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(key(rs)) : Optional.empty();
                }
            }
        });
    }

    /**
     * Keys of one owner (null: every key), newest first; read as the auditors' reports are, from the store's own
     * objects only ({@link attest.audit.ReadPathWatch#pinned}).
     */
    public List<VirtualKey> list(String ownerSubject) {
        return evidence.run(c -> {
            attest.audit.ReadPathWatch.pinned(c);
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM api_key"
                    + (ownerSubject == null ? "" : " WHERE owner_subject = ?") + " ORDER BY created_at DESC LIMIT 1000")) {
                if (ownerSubject != null) {
                    ps.setString(1, ownerSubject);
                }
                List<VirtualKey> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(key(rs));
                    }
                }
                return out;
            }
        });
    }

    /** How many live (not revoked, not expired) keys the owner holds. */
    public int liveCount(String ownerSubject) {
        return evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM api_key WHERE owner_subject = ? "
                    + "AND revoked_at IS NULL AND expires_at > ?")) {
                ps.setString(1, ownerSubject);
                ps.setTimestamp(2, Timestamp.from(clock.instant()));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getInt(1);
                }
            }
        });
    }

    /** Revokes a live key; false when it was already revoked (nothing changes, nothing is recorded). */
    public boolean revoke(UUID id, String actor) {
        Instant now = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        return evidence.run(c -> {
            VirtualKey k;
            try (PreparedStatement ps = c.prepareStatement("UPDATE api_key SET revoked_at = ?, revoked_by = ? "
                    + "WHERE id = ? AND revoked_at IS NULL RETURNING " + COLUMNS)) {
                ps.setTimestamp(1, Timestamp.from(now));
                ps.setString(2, actor);
                ps.setObject(3, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return false;
                    }
                    k = key(rs);
                }
            }
            event(c, k, "revoked", actor, now);
            return true;
        });
    }

    /** Records the expiry of every key that expired unrecorded (once, whichever replica gets there first). */
    public int recordExpiries() {
        Instant now = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        return evidence.run(c -> {
            List<VirtualKey> expired = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("UPDATE api_key SET expiry_recorded = true WHERE id IN "
                    + "(SELECT id FROM api_key WHERE NOT expiry_recorded AND revoked_at IS NULL AND expires_at <= ? "
                    + "ORDER BY expires_at LIMIT 500 FOR UPDATE SKIP LOCKED) RETURNING " + COLUMNS)) {
                ps.setTimestamp(1, Timestamp.from(now));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        expired.add(key(rs));
                    }
                }
            }
            for (VirtualKey k : expired) {
                event(c, k, "expired", "attest", now);
            }
            return expired.size();
        });
    }

    @Override
    public List<String> liveOwners() {
        return evidence.run(c -> {
            List<String> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT DISTINCT owner_subject FROM api_key WHERE "
                    + "revoked_at IS NULL AND expires_at > ? LIMIT 10000")) {
                ps.setTimestamp(1, Timestamp.from(clock.instant()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
            }
            return out;
        });
    }

    @Override
    public Optional<Owner> owner(String subject) {
        return evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT subject, username, enabled, roles, groups, checked_at "
                    + "FROM api_key_owner WHERE subject = ?")) {
                ps.setString(1, subject);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    return Optional.of(new Owner(rs.getString(1), rs.getString(2), rs.getBoolean(3), strings(rs, 4),
                            strings(rs, 5), rs.getTimestamp(6).toInstant()));
                }
            }
        });
    }

    @Override
    public void saveOwner(Owner o) {
        evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO api_key_owner (subject, username, enabled, "
                    + "roles, groups, checked_at) VALUES (?,?,?,?,?,?) ON CONFLICT (subject) DO UPDATE SET "
                    + "username = EXCLUDED.username, enabled = EXCLUDED.enabled, roles = EXCLUDED.roles, "
                    + "groups = EXCLUDED.groups, checked_at = EXCLUDED.checked_at "
                    + "WHERE api_key_owner.checked_at <= EXCLUDED.checked_at")) {
                ps.setString(1, o.subject());
                ps.setString(2, o.username());
                ps.setBoolean(3, o.enabled());
                ps.setArray(4, c.createArrayOf("text", o.roles().toArray()));
                ps.setArray(5, c.createArrayOf("text", o.groups().toArray()));
                ps.setTimestamp(6, Timestamp.from(o.checkedAt()));
                ps.executeUpdate();
            }
            return null;
        });
    }

    private void event(Connection c, VirtualKey k, String kind, String actor, Instant now) throws SQLException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("key_id", k.id().toString());
        body.put("kind", kind);
        body.put("actor", actor);
        body.put("name", k.name());
        body.put("owner_subject", k.ownerSubject());
        body.put("owner_username", k.ownerUsername());
        body.put("principal_type", k.principalType());
        body.put("upstreams", k.upstreams());
        body.put("models", k.models());
        body.put("budget", KeyJson.budget(k.budget()));
        body.put("limits", KeyJson.limits(k.budget()));
        body.put("created_at", k.createdAt().toString());
        body.put("expires_at", k.expiresAt().toString());
        body.put("at", now.toString());
        body.put("client_id", k.clientId());
        body.put("hint", k.hint());
        // the SHA-256 of the stored SHA-256 of the secret: a row whose secret was swapped behind the chain is found
        // by `attest verify --jdbc` (view audit_key_columns, V31), and the entry tells nothing of the secret
        try (PreparedStatement ps = c.prepareStatement("SELECT secret_sha256 FROM api_key WHERE id = ?")) {
            ps.setObject(1, k.id());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("the key's row is gone");
                }
                body.put("secret_digest", attest.evidence.EvidenceAssembler.sha256(rs.getBytes(1)));
            }
        }
        evidence.append(c, "attest.key", new EvidenceChain.Entry("key." + kind, k.id(), now, body), k.id().toString(),
                g -> {
                    g.writeFieldName("key");
                    g.writeTree(JSON.valueToTree(body));
                });
    }

    private static VirtualKey key(ResultSet rs) throws SQLException {
        Timestamp revoked = rs.getTimestamp(15);
        return new VirtualKey(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getString(5), rs.getString(6), rs.getString(7), strings(rs, 8), strings(rs, 9),
                KeyJson.parseBudget(rs.getString(10), rs.getString(11)), rs.getTimestamp(12).toInstant(),
                rs.getString(13), rs.getTimestamp(14).toInstant(), revoked == null ? null : revoked.toInstant(),
                rs.getString(16));
    }

    private static List<String> strings(ResultSet rs, int i) throws SQLException {
        Array a = rs.getArray(i);
        return a == null ? List.of() : Arrays.asList((String[]) a.getArray());
    }
}
