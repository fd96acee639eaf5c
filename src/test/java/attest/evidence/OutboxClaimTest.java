package attest.evidence;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The relay's outbox claims against a real PostgreSQL (issue #12: an event row is written twice, inserted and
 * marked published; the claim is a lock held while the batch is sent). Two relays never hold the same row; a claim
 * that ends without being published gives its rows back; a claim that outlives its lease loses its rows to another
 * relay and can no longer mark them; rows under a lease written by an earlier version are left alone until it
 * expires; no claim keeps a pooled connection after it ends.
 */
class OutboxClaimTest {
    static Database db;

    @BeforeAll
    static void up() throws Exception {
        db = Database.open("", "", "", Files.createTempDirectory("attest-outbox-pg"), 0, 4, Duration.ofSeconds(2));
    }

    @AfterAll
    static void down() {
        db.close();
    }

    @BeforeEach
    void empty() throws SQLException {
        // earlier tests' rows: mark them published, so that each test sees only its own (published rows are kept)
        try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement()) {
            st.executeUpdate("UPDATE evidence_outbox SET published_at = now() WHERE published_at IS NULL");
        }
    }

    static List<Long> insert(int n) throws SQLException {
        List<Long> ids = new ArrayList<>();
        try (Connection c = db.dataSource().getConnection()) {
            for (int i = 0; i < n; i++) {
                UUID event = UUID.randomUUID();
                Outbox.insert(c, event, "attest.evidence.v1", "key-" + i, "{\"n\":" + i + "}", Instant.now());
                try (PreparedStatement ps = c.prepareStatement("SELECT id FROM evidence_outbox WHERE event_id = ?")) {
                    ps.setObject(1, event);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        ids.add(rs.getLong(1));
                    }
                }
            }
        }
        return ids;
    }

    static List<Long> ids(Outbox.Claim claim) {
        return claim.events().stream().map(Outbox.Claimed::id).toList();
    }

    /** The rows among these that are marked published, in id order. */
    static List<Long> published(List<Long> among) throws SQLException {
        return publishedAt(among).entrySet().stream().filter(e -> e.getValue() != null)
                .map(java.util.Map.Entry::getKey).toList();
    }

    static Outbox outbox(Duration lease) {
        return new Outbox(db.sessionFactory(), lease);
    }

    @Test
    void twoRelaysShareTheRowsAndNeverHoldTheSameOne() throws Exception {
        List<Long> rows = insert(5);
        Outbox outbox = outbox(Duration.ofSeconds(30));
        try (Outbox.Claim first = outbox.claim(3); Outbox.Claim second = outbox.claim(10)) {
            assertThat(ids(first)).containsExactlyElementsOf(rows.subList(0, 3)); // oldest first
            assertThat(ids(second)).containsExactlyElementsOf(rows.subList(3, 5)); // the locked ones skipped
            assertThat(first.events().get(0).payload()).isEqualTo("{\"n\":0}");
            assertThat(first.events().get(0).key()).isEqualTo("key-0");
            first.published();
            second.release();
        }
        assertThat(published(rows)).containsExactlyElementsOf(rows.subList(0, 3));
        assertThat(outbox.backlog()).isEqualTo(2);
        try (Outbox.Claim again = outbox.claim(10)) {
            assertThat(ids(again)).as("released rows are taken again at once").containsExactlyElementsOf(rows.subList(3, 5));
            again.published();
        }
        assertThat(outbox.backlog()).isZero();
    }

    @Test
    void aClaimThatEndsWithoutBeingPublishedGivesItsRowsBack() throws Exception {
        List<Long> rows = insert(2);
        Outbox outbox = outbox(Duration.ofSeconds(30));
        Outbox.Claim claim = outbox.claim(10);
        assertThat(ids(claim)).containsExactlyElementsOf(rows);
        claim.close();
        claim.close(); // twice: no harm
        assertThatThrownBy(claim::published).isInstanceOf(IllegalStateException.class);
        assertThat(published(rows)).isEmpty();
        try (Outbox.Claim next = outbox.claim(10)) {
            assertThat(ids(next)).containsExactlyElementsOf(rows);
        }
    }

    @Test
    void aClaimPastItsLeaseLosesItsRowsAndCannotMarkThem() throws Exception {
        List<Long> rows = insert(2);
        Outbox stalled = outbox(Duration.ofMillis(300));
        Outbox.Claim old = stalled.claim(10);
        assertThat(ids(old)).containsExactlyElementsOf(rows);
        Outbox other = outbox(Duration.ofSeconds(30));
        // the stalled relay's session is ended by PostgreSQL once idle in its transaction past the lease
        List<Outbox.Claim> taken = new ArrayList<>();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            Outbox.Claim c = other.claim(10);
            if (c.events().isEmpty()) {
                return false;
            }
            taken.add(c);
            return true;
        });
        try (Outbox.Claim mine = taken.get(0)) {
            assertThat(ids(mine)).containsExactlyElementsOf(rows);
            mine.published();
        }
        assertThat(published(rows)).containsExactlyElementsOf(rows);
        java.util.Map<Long, java.sql.Timestamp> marked = publishedAt(rows);
        // the rows are free now: had the stalled session survived, its mark would go through (and move the times)
        assertThatThrownBy(old::published).isInstanceOf(EvidenceUnavailableException.class);
        assertThat(publishedAt(rows)).as("the stalled claim marked nothing").isEqualTo(marked);
    }

    @Test
    void rowsUnderAnEarlierVersionsLeaseWaitForItToExpire() throws Exception {
        List<Long> rows = insert(3);
        try (Connection c = db.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE evidence_outbox SET claimed_by = 'old-relay', "
                     + "claimed_until = now() + make_interval(secs => ?) WHERE id = ?")) {
            ps.setDouble(1, 3600);
            ps.setLong(2, rows.get(0));
            ps.executeUpdate();
            ps.setDouble(1, -1);
            ps.setLong(2, rows.get(1));
            ps.executeUpdate();
            ps.setDouble(1, 1.5);
            ps.setLong(2, rows.get(2));
            ps.executeUpdate();
        }
        Outbox outbox = outbox(Duration.ofSeconds(30));
        try (Outbox.Claim claim = outbox.claim(10)) {
            assertThat(ids(claim)).as("only the row whose lease expired").containsExactly(rows.get(1));
            claim.published();
        }
        // the short lease runs out (the database's clock): its row is taken then, the long one still not
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            try (Outbox.Claim claim = outbox.claim(10)) {
                assertThat(ids(claim)).containsExactly(rows.get(2));
                claim.published();
            }
        });
        assertThat(published(rows)).containsExactly(rows.get(1), rows.get(2));
    }

    /** Each row's published_at (null: not published), by id. */
    static java.util.Map<Long, java.sql.Timestamp> publishedAt(List<Long> among) throws SQLException {
        java.util.Map<Long, java.sql.Timestamp> out = new java.util.TreeMap<>();
        try (Connection c = db.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT id, published_at FROM evidence_outbox WHERE id = ANY(?)")) {
            ps.setArray(1, c.createArrayOf("bigint", among.toArray(Long[]::new)));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getLong(1), rs.getTimestamp(2));
                }
            }
        }
        return out;
    }

    @Test
    void noClaimKeepsAPooledConnectionOnceItEnds() throws Exception {
        // the pool holds 4 connections and waits 2 s for one: a claim that kept its connection would exhaust it
        Outbox outbox = outbox(Duration.ofSeconds(30));
        for (int i = 0; i < 12; i++) {
            try (Outbox.Claim empty = outbox.claim(10)) {
                assertThat(empty.events()).isEmpty();
                empty.published(); // nothing to mark: no error, nothing held
            }
        }
        for (int i = 0; i < 6; i++) {
            insert(1);
            Outbox.Claim c = outbox.claim(10);
            if (i % 3 == 0) {
                c.published();
            } else if (i % 3 == 1) {
                c.release();
            } else {
                c.close();
            }
        }
        assertThat(db.dataSource().getHikariPoolMXBean().getActiveConnections()).isZero();
    }
}
