package attest.evidence;

import org.hibernate.StatelessSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The writer's plain JDBC rows are the rows Hibernate wrote from the entities: the same record written both ways
 * (insert, then the terminal update) gives the same value in every column but the id; an outbox event likewise.
 */
class EvidenceRowsTest {
    static Database db;

    @BeforeAll
    static void up() throws Exception {
        db = Database.open("", "", "", Files.createTempDirectory("attest-rows-pg"), 0, 4, Duration.ofSeconds(2));
    }

    @AfterAll
    static void down() {
        db.close();
    }

    static EvidenceRecord open(EvidenceRecord terminal) {
        EvidenceRecord r = terminal.snapshot();
        r.setState(EvidenceRecord.OPEN);
        r.setOutcome(null);
        r.setCompletedAt(null);
        r.setResponseBody(null);
        r.setStatus(null);
        return r;
    }

    static EvidenceRecord withId(EvidenceRecord r, UUID id) {
        EvidenceRecord c = r.snapshot();
        c.setId(id);
        return c;
    }

    static EvidenceRecord completedWithNanos() {
        EvidenceRecord r = EvidenceEventGoldenTest.completed();
        r.setReceivedAt(Instant.parse("2026-11-29T10:15:29.123456789Z"));
        r.setForwardedAt(Instant.parse("2026-11-29T10:15:29.999999500Z"));
        r.setRawResponseBody(new byte[]{0, 1, 2, (byte) 0xff});
        r.setPayloadKeyId("k-1");
        r.setAuthError("none \u2014 fine");
        r.setGroups(new String[0]);
        return r;
    }

    @Test
    void should_write_the_columns_hibernate_wrote_for_inserts_and_terminal_updates() throws Exception {
        for (EvidenceRecord terminal : new EvidenceRecord[]{completedWithNanos(), EvidenceEventGoldenTest.refused()}) {
            UUID viaHibernate = UUID.randomUUID();
            UUID viaJdbc = UUID.randomUUID();
            db.sessionFactory().inStatelessTransaction(s -> s.insert(withId(open(terminal), viaHibernate)));
            jdbc(EvidenceRows.INSERT_RECORD, (c, ps) -> EvidenceRows.addInsert(c, ps, withId(open(terminal), viaJdbc)));
            assertThat(row(viaJdbc)).isEqualTo(row(viaHibernate));

            db.sessionFactory().inStatelessTransaction(s -> s.update(withId(terminal, viaHibernate)));
            jdbc(EvidenceRows.UPDATE_RECORD, (c, ps) -> EvidenceRows.addUpdate(c, ps, withId(terminal, viaJdbc)));
            assertThat(row(viaJdbc)).isEqualTo(row(viaHibernate)).contains("\"state\": \"terminal\"");
        }
    }

    @Test
    void should_write_the_outbox_columns_hibernate_wrote() throws Exception {
        EvidenceRecord r = completedWithNanos();
        OutboxEvent viaHibernate = EvidenceEvents.terminal(r, "attest.evidence.v1",
                Instant.parse("2026-11-29T10:15:30.000000501Z"));
        OutboxEvent viaJdbc = EvidenceEvents.terminal(r, "attest.evidence.v1",
                Instant.parse("2026-11-29T10:15:30.000000501Z"));
        db.sessionFactory().inStatelessTransaction(s -> s.insert(viaHibernate));
        jdbc(EvidenceRows.INSERT_OUTBOX, (c, ps) -> EvidenceRows.addEvent(ps, viaJdbc));
        String a = outbox(viaHibernate.getEventId());
        String b = outbox(viaJdbc.getEventId());
        assertThat(b.replace(viaJdbc.getEventId().toString(), "E")).isEqualTo(a.replace(
                viaHibernate.getEventId().toString(), "E"));
        assertThat(b).contains("\"published_at\": null");
    }

    @Test
    void should_refuse_a_terminal_update_of_a_record_that_is_not_there() throws Exception {
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain("rows"),
                10, 4, Duration.ZERO, Duration.ofSeconds(5));
        try {
            EvidenceRecord r = withId(EvidenceEventGoldenTest.refused(), UUID.randomUUID());
            assertThatThrownBy(() -> writer.update(r, null)).isInstanceOf(EvidenceUnavailableException.class);
            writer.insert(r, EvidenceEvents.terminal(r, "t", Instant.now()));
            assertThat(row(r.getId())).contains("\"outcome\": \"unauthenticated\"");
        } finally {
            writer.close();
        }
    }

    interface Bind {
        void add(Connection c, PreparedStatement ps) throws SQLException;
    }

    static void jdbc(String sql, Bind bind) throws SQLException {
        try (Connection c = db.dataSource().getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                bind.add(c, ps);
                ps.executeBatch();
            }
            c.commit();
        }
    }

    static String row(UUID id) throws SQLException {
        return one("SELECT (to_jsonb(e) - 'id')::text FROM evidence_record e WHERE id = ?", id);
    }

    static String outbox(UUID eventId) throws SQLException {
        return one("SELECT (to_jsonb(o) - 'id')::text FROM evidence_outbox o WHERE event_id = ?", eventId);
    }

    static String one(String sql, UUID id) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                return rs.getString(1);
            }
        }
    }
}
