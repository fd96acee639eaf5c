package attest.approval;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The approvers' list names instants (since, and the cursor's position) that go to PostgreSQL as timestamps: one
 * past PostgreSQL's range failed the list's query as if the store were down (503 with Retry-After). It is refused
 * as a bad query (400) instead.
 */
class ApprovalQueryRangeTest {
    static String cursor(String instant) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString((instant + "|00000000-0000-4000-8000-000000000001")
                .getBytes(StandardCharsets.US_ASCII));
    }

    @ParameterizedTest
    @ValueSource(strings = {"+1000000-01-01T00:00:00Z", "-1000000-01-01T00:00:00Z", "+294277-01-01T00:00:00Z",
            "0000-12-31T23:59:59Z", "+10000-01-01T00:00:00Z"})
    void should_refuse_an_instant_the_store_cannot_hold(String instant) {
        assertThatThrownBy(() -> ApprovalQuery.parse("/approvals?since=" + instant.replace("+", "%2B")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ApprovalQuery.parse("/approvals?cursor=" + cursor(instant)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0001-01-01T00:00:00Z", "2026-11-30T12:00:00Z", "9999-12-31T23:59:59Z"})
    void should_take_an_instant_the_store_holds(String instant) {
        assertThat(ApprovalQuery.parse("/approvals?since=" + instant).since()).hasToString(instant);
        assertThat(ApprovalQuery.parse("/approvals?cursor=" + cursor(instant))).isNotNull();
    }
}
