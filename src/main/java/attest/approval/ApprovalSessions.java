package attest.approval;

import attest.evidence.EvidenceUnavailableException;

import javax.sql.DataSource;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The approval page's sign-in state, in PostgreSQL so that any replica serves it: pending logins (state and
 * PKCE verifier, single use, short-lived) and sessions (stored by the SHA-256 of their id, with their CSRF
 * token and the approver's access token, which is validated again on each use).
 */
public final class ApprovalSessions {
    public record Login(String verifier, String returnTo) {
    }

    public record Session(String subject, String accessToken, String csrf) {
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration LOGIN_TTL = Duration.ofMinutes(10);

    private final DataSource dataSource;
    private final Clock clock;

    public ApprovalSessions(DataSource dataSource, Clock clock) {
        this.dataSource = dataSource;
        this.clock = clock;
    }

    public static String random() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public static String s256(String verifier) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(verifier));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.US_ASCII));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public void saveLogin(String state, String verifier, String returnTo) {
        update("INSERT INTO approval_login (state, code_verifier, return_to, created_at) VALUES (?,?,?,?)",
                state, verifier, returnTo, Timestamp.from(clock.instant()));
    }

    /** Takes a pending login once; empty if unknown, used or too old. */
    public Optional<Login> takeLogin(String state) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "DELETE FROM approval_login WHERE state = ? RETURNING code_verifier, return_to, created_at")) {
            ps.setString(1, state);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || rs.getTimestamp(3).toInstant().plus(LOGIN_TTL).isBefore(clock.instant())) {
                    return Optional.empty();
                }
                return Optional.of(new Login(rs.getString(1), rs.getString(2)));
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("session store unavailable");
        }
    }

    /** Starts a session; returns its id (the cookie value). */
    public String startSession(String subject, String accessToken, Instant expiresAt) {
        String id = random();
        update("INSERT INTO approval_session (id_sha256, subject, access_token, csrf_token, expires_at) "
                + "VALUES (?,?,?,?,?)", HexFormat.of().formatHex(sha256(id)), subject, accessToken, random(),
                Timestamp.from(expiresAt));
        return id;
    }

    public Optional<Session> session(String id) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT subject, access_token, csrf_token FROM approval_session WHERE id_sha256 = ? AND expires_at > ?")) {
            ps.setString(1, HexFormat.of().formatHex(sha256(id)));
            ps.setTimestamp(2, Timestamp.from(clock.instant()));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Session(rs.getString(1), rs.getString(2), rs.getString(3)))
                        : Optional.empty();
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("session store unavailable");
        }
    }

    private void update(String sql, Object... args) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("session store unavailable");
        }
    }
}
