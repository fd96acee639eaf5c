package attest.evidence;

import attest.evidence.chain.EvidenceChain;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The one transaction and the one append of the approval, audit, key and checkpoint writes, on real PostgreSQL: an
 * append is the chain entry, its event and its outbox row, committed together with what the work wrote beside it, or
 * not at all; a store that cannot be reached fails closed with the writer's message.
 */
class EvidenceTransactionsTest extends StoreStall {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant AT = Instant.parse("2026-12-02T10:15:30.120Z");

    private static EvidenceTransactions evidence(String chain) {
        return new EvidenceTransactions(db.dataSource(), new EvidenceChain(chain), "topic-t", "test store unavailable");
    }

    @Test
    void should_commit_the_entry_its_event_and_its_outbox_row_together() throws Exception {
        UUID subject = UUID.randomUUID();
        String result = evidence("tx-commit").run(c -> {
            evidence("tx-commit").append(c, "attest.test", new EvidenceChain.Entry("test.done", subject, AT,
                    Map.of("n", 1)), "key-" + subject, g -> g.writeStringField("detail", "d"));
            return "done";
        });

        assertThat(result).isEqualTo("done");
        try (Connection c = owner()) {
            assertThat(count(c, "SELECT count(*) FROM evidence_chain WHERE chain_id = 'tx-commit' AND kind = "
                    + "'test.done' AND subject_id = '" + subject + "'")).isEqualTo(1);
            try (PreparedStatement ps = c.prepareStatement("SELECT event_id, topic, payload, created_at FROM "
                    + "evidence_outbox WHERE event_key = ?")) {
                ps.setString(1, "key-" + subject);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    JsonNode event = JSON.readTree(rs.getString(3));
                    assertThat(event.path("event_id").asText()).isEqualTo(rs.getObject(1, UUID.class).toString());
                    assertThat(rs.getString(2)).isEqualTo("topic-t");
                    assertThat(event.path("schema").asText()).isEqualTo("attest.test");
                    assertThat(event.path("schema_version").asInt()).isEqualTo(1);
                    assertThat(event.path("event_type").asText()).isEqualTo("test.done");
                    assertThat(event.path("emitted_at").asText()).isEqualTo("2026-12-02T10:15:30.120Z");
                    assertThat(event.path("detail").asText()).isEqualTo("d");
                    assertThat(rs.getTimestamp(4).toInstant()).isEqualTo(AT);
                    assertThat(rs.next()).isFalse();
                }
            }
        }
    }

    @Test
    void should_leave_no_entry_and_no_event_when_the_work_fails_after_its_append() throws Exception {
        UUID subject = UUID.randomUUID();
        IllegalStateException failure = new IllegalStateException("the work failed");

        assertThatThrownBy(() -> evidence("tx-rollback").run(c -> {
            evidence("tx-rollback").append(c, "attest.test", new EvidenceChain.Entry("test.done", subject, AT,
                    Map.of("n", 1)), "key-" + subject, g -> { });
            throw failure;
        })).isSameAs(failure);

        try (Connection c = owner()) {
            assertThat(count(c, "SELECT count(*) FROM evidence_chain WHERE subject_id = '" + subject + "'"))
                    .isZero();
            assertThat(count(c, "SELECT count(*) FROM evidence_outbox WHERE event_key = 'key-" + subject + "'"))
                    .isZero();
        }
    }

    @Test
    void should_fail_closed_with_the_writers_message_when_the_store_cannot_be_reached() {
        DataSource down = (DataSource) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[]{DataSource.class}, (proxy, method, args) -> {
                    throw new SQLException("connection refused", "08001");
                });
        EvidenceTransactions evidence = new EvidenceTransactions(down, new EvidenceChain("tx-down"), "topic-t",
                "test store unavailable");

        assertThatThrownBy(() -> evidence.run(c -> "never")).isInstanceOf(EvidenceUnavailableException.class)
                .hasMessage("test store unavailable");
    }

    @Test
    void should_publish_an_event_without_a_chain_entry() throws Exception {
        String key = "checkpoint:" + UUID.randomUUID();
        new EvidenceTransactions(db.dataSource(), null, "topic-t", "test store unavailable").run(c -> {
            new EvidenceTransactions(db.dataSource(), null, "topic-t", "x").publish(c, "attest.checkpoint", key, AT,
                    g -> g.writeStringField("signature", "s"));
            return null;
        });

        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement(
                "SELECT payload FROM evidence_outbox WHERE event_key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                JsonNode event = JSON.readTree(rs.getString(1));
                assertThat(event.fieldNames()).toIterable().containsExactly("schema", "schema_version", "event_id",
                        "signature");
            }
        }
    }

    private static long count(Connection c, String sql) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
