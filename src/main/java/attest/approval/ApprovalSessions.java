package attest.approval;

import attest.evidence.EvidenceUnavailableException;
import attest.identity.Identity;
import com.fasterxml.jackson.databind.ObjectMapper;

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
 * The approval page's sign-in state, in PostgreSQL so that any replica serves it.
 * <ul>
 * <li>Pending logins: state and PKCE verifier, single use, bound to the browser that started them (the SHA-256 of
 * a random value in an HttpOnly cookie scoped to the callback: a callback from another browser, which is how a
 * login CSRF arrives, is refused), expiring after {@code loginTtl} and capped globally and per source address
 * (expired rows are purged as new ones come).</li>
 * <li>Sessions: stored by the SHA-256 of their id with their CSRF token and the identity the sign-in proved;
 * never the access token. A session ends when the access token it came from would have expired, or earlier.</li>
 * </ul>
 */
public final class ApprovalSessions {
    public record Login(String verifier, String returnTo) {
    }

    public record Session(String subject, Identity identity, String csrf) {
    }

    /** Too many pending sign-ins, from everywhere or from one source. */
    public static final class TooManyLoginsException extends RuntimeException {
        public TooManyLoginsException() {
            super("too many pending sign-ins", null, false, false);
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();

    private final DataSource dataSource;
    private final Clock clock;
    private final Duration loginTtl;
    private final int maxLogins;
    private final int maxLoginsPerSource;

    public ApprovalSessions(DataSource dataSource, Clock clock) {
        this(dataSource, clock, Duration.ofMinutes(10), 10_000, 20);
    }

    public ApprovalSessions(DataSource dataSource, Clock clock, Duration loginTtl, int maxLogins,
                            int maxLoginsPerSource) {
        this.dataSource = dataSource;
        this.clock = clock;
        this.loginTtl = loginTtl;
        this.maxLogins = maxLogins;
        this.maxLoginsPerSource = maxLoginsPerSource;
    }

    public Duration loginTtl() {
        return loginTtl;
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
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(String s) {
        return HexFormat.of().formatHex(sha256(s));
    }

    /**
     * Stores a pending sign-in bound to {@code browser} (the login cookie's value), after purging expired ones.
     * Throws {@link TooManyLoginsException} past the global or the per-source cap.
     */
    public void saveLogin(String state, String verifier, String returnTo, String browser, String source) {
        Instant now = clock.instant();
        String from = source == null ? "" : source;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtextextended("
                        + "'approval_login', 10))")) {
                    ps.execute();
                }
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM approval_login WHERE created_at <= ?")) {
                    ps.setTimestamp(1, Timestamp.from(now.minus(loginTtl)));
                    ps.executeUpdate();
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*), count(*) FILTER (WHERE source = ?) "
                        + "FROM approval_login")) {
                    ps.setString(1, from);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getLong(1) >= maxLogins || rs.getLong(2) >= maxLoginsPerSource) {
                            throw new TooManyLoginsException();
                        }
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO approval_login (state, code_verifier, "
                        + "return_to, created_at, browser_sha256, source) VALUES (?,?,?,?,?,?)")) {
                    ps.setString(1, state);
                    ps.setString(2, verifier);
                    ps.setString(3, returnTo);
                    ps.setTimestamp(4, Timestamp.from(now));
                    ps.setString(5, hex(browser));
                    ps.setString(6, from);
                    ps.executeUpdate();
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("session store unavailable");
        }
    }

    /**
     * Takes a pending login once; empty if unknown, used, too old, or started by another browser (the cookie
     * {@code browser} is missing or does not match).
     */
    public Optional<Login> takeLogin(String state, String browser) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "DELETE FROM approval_login WHERE state = ? RETURNING code_verifier, return_to, created_at, "
                        + "browser_sha256")) {
            ps.setString(1, state);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || !rs.getTimestamp(3).toInstant().plus(loginTtl).isAfter(clock.instant())
                        || browser == null || !MessageDigest.isEqual(hex(browser).getBytes(StandardCharsets.US_ASCII),
                        rs.getString(4).getBytes(StandardCharsets.US_ASCII))) {
                    return Optional.empty();
                }
                return Optional.of(new Login(rs.getString(1), rs.getString(2)));
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("session store unavailable");
        }
    }

    /** Starts a session for a proven identity; returns its id (the cookie value). Only its hash is stored. */
    public String startSession(Identity who, Instant expiresAt) {
        String id = random();
        String identity;
        try {
            identity = JSON.writeValueAsString(who);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        update("INSERT INTO approval_session (id_sha256, subject, identity_json, csrf_token, expires_at) "
                + "VALUES (?,?,?,?,?)", hex(id), who.subject(), identity, random(), Timestamp.from(expiresAt));
        return id;
    }

    public Optional<Session> session(String id) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT subject, identity_json, csrf_token FROM approval_session WHERE id_sha256 = ? AND expires_at > ?")) {
            ps.setString(1, hex(id));
            ps.setTimestamp(2, Timestamp.from(clock.instant()));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Session(rs.getString(1), JSON.readValue(rs.getString(2),
                        Identity.class), rs.getString(3))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("session store unavailable");
        } catch (java.io.IOException e) {
            return Optional.empty();
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
