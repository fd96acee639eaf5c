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
    void should_type_every_column_as_the_table_does() throws Exception {
        assertThat(EvidenceRows.TYPES).hasSameSizeAs(EvidenceRows.COLUMNS);
        try (Connection c = db.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT format_type(a.atttypid, a.atttypmod) = "
                     + "format_type(?::regtype, NULL) FROM pg_attribute a WHERE a.attrelid = 'evidence_record'::regclass "
                     + "AND a.attname = ? AND NOT a.attisdropped")) {
            for (int k = 0; k < EvidenceRows.COLUMNS.length; k++) {
                ps.setString(1, EvidenceRows.TYPES[k]);
                ps.setString(2, EvidenceRows.COLUMNS[k]);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).as(EvidenceRows.COLUMNS[k]).isTrue();
                    assertThat(rs.getBoolean(1)).as(EvidenceRows.COLUMNS[k] + " is " + EvidenceRows.TYPES[k]).isTrue();
                }
            }
        }
    }

    /** Terminal records of three shapes, each with a data key named (the keeping update needs one). */
    static EvidenceRecord[] terminals() {
        EvidenceRecord other = completedWithNanos();
        other.setModel("another-model");
        other.setResponseBody(new byte[]{7, 7, 7});
        other.setRealmRoles(null);
        other.setStatus(null);
        EvidenceRecord refused = EvidenceEventGoldenTest.refused();
        refused.setPayloadKeyId("k-1");
        return new EvidenceRecord[]{completedWithNanos(), refused, other};
    }

    @Test
    void should_update_many_records_in_one_statement_as_it_updates_each_alone() throws Exception {
        for (boolean keep : new boolean[]{false, true}) {
            EvidenceRecord[] terminals = terminals();
            UUID[] alone = new UUID[terminals.length];
            UUID[] together = new UUID[terminals.length];
            for (int i = 0; i < terminals.length; i++) {
                alone[i] = UUID.randomUUID();
                together[i] = UUID.randomUUID();
                for (UUID id : new UUID[]{alone[i], together[i]}) {
                    EvidenceRecord open = withId(open(terminals[i]), id);
                    open.setRequestBody(new byte[]{1, 2, 3});
                    jdbc(EvidenceRows.INSERT_RECORD, (c, ps) -> EvidenceRows.addInsert(c, ps, open));
                }
            }
            EvidenceRecord[] updates = new EvidenceRecord[terminals.length];
            for (int i = 0; i < terminals.length; i++) {
                EvidenceRecord a = withId(terminals[i], alone[i]);
                a.setRequestBody(new byte[]{9}); // not written when the stored request is kept
                a.requestStored(keep);
                jdbc(EvidenceRows.update(a), (c, ps) -> EvidenceRows.addUpdate(c, ps, a));
                updates[i] = withId(terminals[i], together[i]);
                updates[i].setRequestBody(new byte[]{9});
                updates[i].requestStored(keep);
            }
            try (Connection c = db.dataSource().getConnection();
                 PreparedStatement ps = c.prepareStatement(EvidenceRows.updateRows(keep, updates.length))) {
                int i = 1;
                for (EvidenceRecord u : updates) {
                    i = EvidenceRows.addRow(c, ps, i, u);
                }
                assertThat(ps.executeUpdate()).isEqualTo(updates.length);
            }
            for (int i = 0; i < terminals.length; i++) {
                assertThat(row(together[i])).as("keep " + keep + ", record " + i).isEqualTo(row(alone[i]))
                        .contains("\"state\": \"terminal\"")
                        .contains(keep ? "\"request_body\": \"\\\\x010203\"" : "\"request_body\": \"\\\\x09\"");
            }
        }
    }

    @Test
    void should_update_fewer_rows_than_given_for_a_record_not_there_or_named_twice() throws Exception {
        EvidenceRecord terminal = completedWithNanos();
        for (boolean twice : new boolean[]{false, true}) {
            UUID id = UUID.randomUUID();
            jdbc(EvidenceRows.INSERT_RECORD, (c, ps) -> EvidenceRows.addInsert(c, ps, withId(open(terminal), id)));
            UUID second = twice ? id : UUID.randomUUID();
            try (Connection c = db.dataSource().getConnection();
                 PreparedStatement ps = c.prepareStatement(EvidenceRows.updateRows(false, 2))) {
                int i = EvidenceRows.addRow(c, ps, 1, withId(terminal, id));
                EvidenceRows.addRow(c, ps, i, withId(terminal, second));
                assertThat(ps.executeUpdate()).as(twice ? "named twice" : "not there").isEqualTo(1);
            }
        }
    }

    @Test
    void should_commit_a_batch_of_terminal_updates_and_fail_alone_the_one_whose_record_is_not_there()
            throws Exception {
        // a linger: the writer takes the updates in one batch (its terminal updates in one statement); the record
        // that is not there fails the batch, whose writes are then committed one by one: that one alone fails
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(
                "rows-batch"), 64, 64, Duration.ofMillis(300), Duration.ofSeconds(10));
        try {
            java.util.List<EvidenceRecord> terminals = new java.util.ArrayList<>();
            for (int i = 0; i < 5; i++) {
                EvidenceRecord t = withId(completedWithNanos(), UUID.randomUUID());
                t.setModel("model-" + i);
                writer.insert(open(t), null);
                terminals.add(t);
            }
            EvidenceRecord missing = withId(completedWithNanos(), UUID.randomUUID());
            java.util.List<java.util.concurrent.CompletableFuture<Void>> done = new java.util.ArrayList<>();
            for (int i = 0; i < terminals.size(); i++) {
                done.add(writer.commit(terminals.get(i), false, null));
                if (i == 2) {
                    done.add(writer.commit(missing, false, null));
                }
            }
            for (int i = 0; i < done.size(); i++) {
                if (i == 3) {
                    assertThatThrownBy(done.get(i)::join).hasCauseInstanceOf(EvidenceUnavailableException.class);
                } else {
                    done.get(i).join();
                }
            }
            for (EvidenceRecord t : terminals) {
                assertThat(row(t.getId())).contains("\"state\": \"terminal\"")
                        .contains("\"model\": \"" + t.getModel() + "\"");
            }
        } finally {
            writer.close();
        }
    }

    @Test
    void should_commit_in_one_go_a_batch_that_updates_one_record_twice() throws Exception {
        // one statement updates a row once whatever rows name it: the record's second update goes in a statement
        // of its own, after the first, instead of failing the batch into one commit per write
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(
                "rows-twice"), 16, 3, Duration.ofSeconds(2), Duration.ofSeconds(10));
        try {
            EvidenceRecord a = withId(completedWithNanos(), UUID.randomUUID());
            EvidenceRecord b = withId(completedWithNanos(), UUID.randomUUID());
            for (EvidenceRecord r : new EvidenceRecord[]{a, b}) {
                jdbc(EvidenceRows.INSERT_RECORD, (c, ps) -> EvidenceRows.addInsert(c, ps, open(r)));
            }
            EvidenceRecord aForwarded = open(a);
            aForwarded.setModel("first-update");
            long commits = writer.commits();
            // a run of two then one: the two updates of a would be the first statement's two rows
            var first = writer.commit(aForwarded, false, null);
            var second = writer.commit(a, false, null);
            var third = writer.commit(b, false, null);
            java.util.concurrent.CompletableFuture.allOf(first, second, third).join();
            assertThat(writer.commits() - commits).as("one batch of three, one commit").isEqualTo(1);
            assertThat(row(a.getId())).contains("\"state\": \"terminal\"").contains("\"model\": \"gpt-4o-mini\"");
            assertThat(row(b.getId())).contains("\"state\": \"terminal\"");
        } finally {
            writer.close();
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
