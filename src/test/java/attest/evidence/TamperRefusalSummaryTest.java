package attest.evidence;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.time.Instant;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Refusal summaries (counted 401s of a flood) as the real {@link EvidenceWriter} writes them, then a DBA with the
 * guards off changes, deletes or fabricates a refusal_summary row behind its refusal.summary entry: the flood's
 * evidence says fewer refusals, another source, another window. `attest verify --jdbc` must not say VALID. The tests
 * share one database: each puts back what it changed.
 */
class TamperRefusalSummaryTest extends TamperBase {
    static final String CHAIN = "t-refusals";
    static UUID summary;

    @BeforeAll
    static void summaryWrittenByTheGateway() throws Exception {
        EvidenceWriter w = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain(CHAIN), 100,
                32, Duration.ZERO, Duration.ofSeconds(5));
        try {
            Instant end = Instant.now();
            TreeMap<Integer, Long> counted = new TreeMap<>();
            counted.put(401, 1234L);
            counted.put(413, 7L);
            RefusalSummary s = RefusalSummary.of(CHAIN, new RefusalLimiter.Summary("203.0.113.9",
                    end.minusSeconds(60), end, 100, counted), end);
            w.submitSummary(s, s.event("attest.evidence.v1", end)).get(10, TimeUnit.SECONDS);
            summary = s.id();
        } finally {
            w.close();
        }
        anchor(CHAIN);
    }

    @Test
    void should_verify_a_summary_written_by_the_gateway() throws Exception {
        assertCleanBefore();
    }

    static Stream<Arguments> tampers() {
        return Stream.of(
                Arguments.of("counted 401s lowered", "UPDATE refusal_summary SET counted = '{\"401\": 3, \"413\": 7}' "
                        + "WHERE id = '%s'"),
                Arguments.of("a status dropped from counted", "UPDATE refusal_summary SET counted = '{\"401\": 1234}' "
                        + "WHERE id = '%s'"),
                Arguments.of("counted_total lowered", "UPDATE refusal_summary SET counted_total = 0 WHERE id = '%s'"),
                Arguments.of("recorded lowered", "UPDATE refusal_summary SET recorded = 1 WHERE id = '%s'"),
                Arguments.of("source changed", "UPDATE refusal_summary SET source_address = '198.51.100.1' WHERE id = '%s'"),
                Arguments.of("window moved", "UPDATE refusal_summary SET window_start = window_start - interval '1 day', "
                        + "window_end = window_end - interval '1 day' WHERE id = '%s'"),
                Arguments.of("window end moved", "UPDATE refusal_summary SET window_end = window_end + interval '1 hour' "
                        + "WHERE id = '%s'"),
                Arguments.of("instance changed", "UPDATE refusal_summary SET instance_id = 'elsewhere' WHERE id = '%s'"),
                Arguments.of("summary deleted", "DELETE FROM refusal_summary WHERE id = '%s'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tampers")
    void should_not_verify_a_summary_changed_behind_its_entry(String what, String sql) throws Exception {
        assertCleanBefore();
        dba("DROP TABLE IF EXISTS summary_backup",
                "CREATE TABLE summary_backup AS SELECT * FROM refusal_summary WHERE id = '" + summary + "'",
                sql.formatted(summary));
        try {
            assertNotValidAfter(what);
        } finally {
            dba("DELETE FROM refusal_summary WHERE id = '" + summary + "'",
                    "INSERT INTO refusal_summary SELECT * FROM summary_backup", "DROP TABLE summary_backup");
        }
    }

    @Test
    void should_not_verify_a_summary_fabricated_behind_the_chain() throws Exception {
        assertCleanBefore();
        dba("INSERT INTO refusal_summary (id, instance_id, source_address, window_start, window_end, recorded, counted, "
                + "counted_total, recorded_at) VALUES (gen_random_uuid(), '" + CHAIN + "', '192.0.2.66', "
                + "now() - interval '1 minute', now(), 0, '{\"401\": 999999}', 999999, now())");
        try {
            assertNotValidAfter("refusal_summary row fabricated with no refusal.summary entry");
            assertThat(verifyAsAuditor().faults()).anyMatch(f -> f.contains("refusal_summary_unchained"));
        } finally {
            dba("DELETE FROM refusal_summary WHERE source_address = '192.0.2.66'");
        }
    }

    @Test
    void should_name_the_fault() throws Exception {
        dba("DROP TABLE IF EXISTS summary_backup",
                "CREATE TABLE summary_backup AS SELECT * FROM refusal_summary WHERE id = '" + summary + "'",
                "UPDATE refusal_summary SET counted_total = 0 WHERE id = '" + summary + "'");
        try {
            assertThat(verifyAsAuditor().faults()).anyMatch(f -> f.contains("refusal summary " + summary)
                    && f.contains("refusal_summary_mismatch") && f.contains("counted_total"));
        } finally {
            dba("DELETE FROM refusal_summary WHERE id = '" + summary + "'",
                    "INSERT INTO refusal_summary SELECT * FROM summary_backup", "DROP TABLE summary_backup");
        }
        dba("DROP TABLE IF EXISTS summary_backup",
                "CREATE TABLE summary_backup AS SELECT * FROM refusal_summary WHERE id = '" + summary + "'",
                "DELETE FROM refusal_summary WHERE id = '" + summary + "'");
        try {
            assertThat(verifyAsAuditor().faults()).anyMatch(f -> f.contains("refusal_summary_missing"));
        } finally {
            dba("INSERT INTO refusal_summary SELECT * FROM summary_backup", "DROP TABLE summary_backup");
        }
    }
}
