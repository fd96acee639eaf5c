package attest.evidence;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * One vocabulary of outcomes: the enum's words are the ones stored and published, and the data path carries the enum
 * itself ({@code GatewayException.outcome()}, {@code StreamEnd.outcome()}), no copy of its words as text.
 */
class OutcomeTest {
    @ParameterizedTest
    @CsvSource({
            "COMPLETED, completed",
            "DENIED, denied",
            "UNAUTHENTICATED, unauthenticated",
            "UPSTREAM_ERROR, upstream_error",
            "TIMEOUT, timeout",
            "CLIENT_ABORTED, client_aborted",
            "MASKING_FAILED, masking_failed",
            "BLOCKED, blocked",
            "ABORTED, aborted",
            "CANCELLED, cancelled",
            "EXPIRED, expired",
            "EVIDENCE_UNAVAILABLE, evidence_unavailable",
    })
    void should_carry_the_stored_word_and_read_it_back(Outcome outcome, String wire) {
        assertThat(outcome.wire()).isEqualTo(wire);
        assertThat(Outcome.of(wire)).isSameAs(outcome);
    }

    @Test
    void should_carry_the_outcome_itself_on_the_data_path() {
        assertThat(attest.http.GatewayException.evidenceUnavailable().outcome()).isSameAs(Outcome.EVIDENCE_UNAVAILABLE);
        assertThat(attest.http.GatewayException.upstreamTimeout("slow").outcome()).isSameAs(Outcome.TIMEOUT);
        assertThat(attest.http.GatewayException.busy("full").outcome()).isSameAs(Outcome.ABORTED);
    }

    @Test
    void should_pin_every_stored_outcome_in_the_golden_events() {
        assertThat(Arrays.stream(Outcome.values()).filter(o -> o != Outcome.EVIDENCE_UNAVAILABLE)
                .map(Outcome::wire).toList()).isEqualTo(EvidenceKindsGoldenTest.OUTCOMES);
    }

    @Test
    void should_refuse_a_word_that_is_no_outcome_and_pass_null() {
        for (String w : List.of("Completed", "COMPLETED", "rejected", "", "completed ")) {
            assertThatThrownBy(() -> Outcome.of(w)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(Outcome.of(null)).isNull();
    }

    @Test
    void should_store_the_word_when_a_record_is_made_terminal() {
        EvidenceRecord r = new EvidenceRecord();
        r.setReceivedAt(java.time.Instant.parse("2026-11-29T10:00:00Z"));
        r.terminate(Outcome.CLIENT_ABORTED, java.time.Instant.parse("2026-11-29T10:00:01.5Z"));
        assertThat(r.getOutcome()).isEqualTo("client_aborted");
        assertThat(r.getState()).isEqualTo(EvidenceRecord.TERMINAL);
        assertThat(r.getDurationMs()).isEqualTo(1500L);
    }
}
