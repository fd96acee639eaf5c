package attest.approval;

import attest.evidence.EvidenceUnavailableException;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The rate limit on approval emails, per approver and shared by every replica ({@code approval_notify}): in each
 * window an approver gets at most {@code maxPerWindow} emails, one per held call; the calls held after that are
 * counted, not mailed, and when the window ends the approver gets one digest ("N more calls waiting").
 * A flood of held calls costs each approver a bounded number of emails per window.
 */
public final class ApprovalNotifications {
    /** A digest that is due: the approver and how many held calls were not mailed to them. */
    public record Digest(String subject, String username, String email, int calls) {
    }

    private final DataSource dataSource;
    private final Duration window;
    private final int maxPerWindow;
    private final Clock clock;

    /** @param maxPerWindow emails per approver and window (0: no limit) */
    public ApprovalNotifications(DataSource dataSource, Duration window, int maxPerWindow, Clock clock) {
        this.dataSource = dataSource;
        this.window = window;
        this.maxPerWindow = maxPerWindow;
        this.clock = clock;
    }

    /**
     * Takes one email from the approver's allowance: true if this held call may be mailed to them now, false if
     * it is counted for their digest instead.
     */
    public boolean allot(ApproverDirectory.Approver p) {
        if (maxPerWindow <= 0) {
            return true;
        }
        Instant now = clock.instant();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO approval_notify (approver_subject, "
                        + "approver_username, email, window_start, sent, held_back) VALUES (?,?,?,?,0,0) "
                        + "ON CONFLICT (approver_subject) DO NOTHING")) {
                    ps.setString(1, p.subject());
                    ps.setString(2, p.username());
                    ps.setString(3, p.email());
                    ps.setTimestamp(4, Timestamp.from(now));
                    ps.executeUpdate();
                }
                Instant start;
                int sent;
                int heldBack;
                try (PreparedStatement ps = c.prepareStatement("SELECT window_start, sent, held_back FROM "
                        + "approval_notify WHERE approver_subject = ? FOR UPDATE")) {
                    ps.setString(1, p.subject());
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        start = rs.getTimestamp(1).toInstant();
                        sent = rs.getInt(2);
                        heldBack = rs.getInt(3);
                    }
                }
                boolean mail;
                if (!start.plus(window).isAfter(now) && heldBack == 0) {
                    start = now; // a new window (a pending digest keeps the old one until it is sent)
                    sent = 1;
                    mail = true;
                } else if (sent < maxPerWindow) {
                    sent++;
                    mail = true;
                } else {
                    heldBack++;
                    mail = false;
                }
                try (PreparedStatement ps = c.prepareStatement("UPDATE approval_notify SET approver_username = ?, "
                        + "email = ?, window_start = ?, sent = ?, held_back = ? WHERE approver_subject = ?")) {
                    ps.setString(1, p.username());
                    ps.setString(2, p.email());
                    ps.setTimestamp(3, Timestamp.from(start));
                    ps.setInt(4, sent);
                    ps.setInt(5, heldBack);
                    ps.setString(6, p.subject());
                    ps.executeUpdate();
                }
                c.commit();
                return mail;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("notification store unavailable");
        }
    }

    /**
     * Claims the digests whose window has ended (each once, whichever replica asks): the held-back count goes
     * back to zero and a new window starts with the digest as its first email.
     */
    public List<Digest> takeDue(int max) {
        Instant now = clock.instant();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                UPDATE approval_notify n SET window_start = ?, sent = 1, held_back = 0
                FROM (SELECT approver_subject, held_back FROM approval_notify
                      WHERE held_back > 0 AND window_start <= ? ORDER BY window_start LIMIT ?
                      FOR UPDATE SKIP LOCKED) due
                WHERE n.approver_subject = due.approver_subject
                RETURNING n.approver_subject, n.approver_username, n.email, due.held_back""")) {
            ps.setTimestamp(1, Timestamp.from(now));
            ps.setTimestamp(2, Timestamp.from(now.minus(window)));
            ps.setInt(3, max);
            List<Digest> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Digest(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("notification store unavailable");
        }
    }
}
