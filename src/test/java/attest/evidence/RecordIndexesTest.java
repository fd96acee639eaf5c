package attest.evidence;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every index of {@code evidence_record} costs each call an entry at the open insert and another at the terminal
 * update (never a HOT update: {@code state} is in the predicate of {@code evidence_record_open}). So the table has
 * only indexes that a query reads (issue #12; migration V38 dropped two that none read):
 * <ul>
 *   <li>{@code evidence_record_pkey}: every read of a record by its id (the writer's updates, payload reads,
 *       replays, receipts, the verifier);</li>
 *   <li>{@code evidence_record_received_at}: the reports' and usage reports' time ranges;</li>
 *   <li>{@code evidence_record_open}: crash recovery and the dead-instance closer (an instance's open records),
 *       {@code audit_completeness};</li>
 *   <li>{@code evidence_record_key}: a virtual key's calls (keyed calls only);</li>
 *   <li>{@code evidence_record_payload_key}: retention's crypto-shredding (unpurged payloads of a data key).</li>
 * </ul>
 * A new index is a new cost on every call: add it here with its reader.
 */
class RecordIndexesTest {
    static Database db;

    @BeforeAll
    static void up() throws Exception {
        db = Database.open("", "", "", Files.createTempDirectory("attest-indexes-pg"), 0, 2, Duration.ofSeconds(2));
    }

    @AfterAll
    static void down() {
        db.close();
    }

    @Test
    void should_index_evidence_records_only_as_their_readers_need() throws Exception {
        List<String> indexes = new ArrayList<>();
        try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT indexname FROM pg_indexes WHERE tablename = 'evidence_record' "
                     + "ORDER BY indexname")) {
            while (rs.next()) {
                indexes.add(rs.getString(1));
            }
        }
        assertThat(indexes).containsExactly("evidence_record_key", "evidence_record_open",
                "evidence_record_payload_key", "evidence_record_pkey", "evidence_record_received_at");
    }
}
