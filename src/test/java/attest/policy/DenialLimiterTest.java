package attest.policy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** When a caller whose calls policy refused is refused at the door, and for how long. */
class DenialLimiterTest {
    static final long W = 60_000;
    static final long T0 = 1_764_590_400_000L; // a window's start (a multiple of 60 s)

    static Stream<Arguments> table() {
        return Stream.of(
                // denials at these offsets from T0, asked at this offset: seconds to wait
                Arguments.of("none", new long[] {}, 0L, 0L),
                Arguments.of("below the share", new long[] {0, 1, 2}, 3L, 0L),
                Arguments.of("at the share", new long[] {0, 1, 2, 3}, 10_000L, 50L),
                Arguments.of("rounded up to a whole second", new long[] {0, 1, 2, 3}, 10_001L, 50L),
                Arguments.of("at least one second", new long[] {0, 1, 2, 3}, 59_999L, 1L),
                Arguments.of("the next window starts afresh", new long[] {0, 1, 2, 3}, 60_000L, 0L),
                Arguments.of("spread over two windows", new long[] {58_000, 59_000, 60_000, 61_000}, 62_000L, 0L),
                Arguments.of("an old window's count is not carried", new long[] {0, 1, 2, 3, 60_000}, 60_001L, 0L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void should_refuse_only_past_the_share_of_the_window(String name, long[] denied, long askedAt, long wait) {
        DenialLimiter l = new DenialLimiter(4, W, 10);
        for (long d : denied) {
            l.denied("sub:mallory", T0 + d);
        }
        assertThat(l.retryAfterSeconds("sub:mallory", T0 + askedAt)).isEqualTo(wait);
        assertThat(l.retryAfterSeconds("sub:alice", T0 + askedAt)).isZero();
    }

    @Test
    void should_do_nothing_when_off() {
        DenialLimiter l = new DenialLimiter(0, W, 10);
        for (int i = 0; i < 100; i++) {
            l.denied("sub:mallory", T0);
        }
        assertThat(l.enabled()).isFalse();
        assertThat(l.retryAfterSeconds("sub:mallory", T0)).isZero();
        assertThat(l.trackedCallers()).isZero();
        assertThat(DenialLimiter.OFF.retryAfterSeconds(null, T0)).isZero();
    }

    @Test
    void should_track_at_most_its_bound_and_never_refuse_an_untracked_caller() {
        DenialLimiter l = new DenialLimiter(1, W, 2);
        l.denied("sub:a", T0);
        l.denied("sub:b", T0);
        l.denied("sub:c", T0); // full with this window's callers: c is not tracked, not put with anyone
        assertThat(l.trackedCallers()).isEqualTo(2);
        assertThat(l.retryAfterSeconds("sub:c", T0)).isZero();
        assertThat(l.retryAfterSeconds("sub:a", T0)).isPositive();
        l.denied("sub:c", T0 + W); // a new window: the ended ones make room
        assertThat(l.retryAfterSeconds("sub:c", T0 + W)).isPositive();
        assertThat(l.trackedCallers()).isEqualTo(1);
    }

    @Test
    void should_name_a_key_by_its_digest_never_its_secret() {
        String secret = attest.keys.KeySecrets.generate();
        assertThat(DenialLimiter.key(secret)).startsWith("key:").hasSize(68).doesNotContain(secret)
                .isEqualTo(DenialLimiter.key(secret)).isNotEqualTo(DenialLimiter.key(secret + "x"));
        assertThat(DenialLimiter.subject("")).isNull();
        assertThat(DenialLimiter.subject(null)).isNull();
        assertThat(DenialLimiter.key(null)).isNull();
    }

    @Test
    void should_refuse_a_nonsense_configuration() {
        assertThatThrownBy(() -> new DenialLimiter(-1, W, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DenialLimiter(1, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DenialLimiter(1, W, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    static final DenialLimiter.KeyName K1 = new DenialLimiter.KeyName(
            java.util.UUID.fromString("0b6c2f1e-9d3a-4f5b-8c7d-1e2f3a4b5c61"), "owner-sub");
    static final DenialLimiter.KeyName K2 = new DenialLimiter.KeyName(
            java.util.UUID.fromString("0b6c2f1e-9d3a-4f5b-8c7d-1e2f3a4b5c62"), "owner-sub");

    @Test
    void should_keep_the_key_a_digest_was_counted_for_beside_its_count_in_its_window_only() {
        DenialLimiter l = new DenialLimiter(2, W, 10);
        String one = DenialLimiter.key(attest.keys.KeySecrets.generate());
        String two = DenialLimiter.key(attest.keys.KeySecrets.generate());
        l.denied(one, K1, T0);
        l.denied(two, K2, T0 + 1);
        l.denied(one, null, T0 + 2); // counted without its key (not resolved): the name counted before stays
        assertThat(l.keyOf(one, T0 + 3)).isEqualTo(K1);
        assertThat(l.keyOf(two, T0 + 3)).isEqualTo(K2); // two keys of one owner, each its own
        assertThat(l.deniedInWindow(one, T0 + 3)).isEqualTo(2);
        assertThat(l.keyOf(one, T0 + W)).as("an ended window names nothing").isNull();
        l.denied(one, null, T0 + W);
        assertThat(l.keyOf(one, T0 + W)).as("a new window counted without its key").isNull();
        assertThat(l.keyOf(DenialLimiter.key(attest.keys.KeySecrets.generate()), T0)).isNull();
        assertThat(l.keyOf(null, T0)).isNull();
    }

    @Test
    void should_never_give_a_token_caller_a_keys_name() {
        DenialLimiter l = new DenialLimiter(1, W, 10);
        l.denied("sub:mallory", K1, T0);
        assertThat(l.retryAfterSeconds("sub:mallory", T0)).isPositive();
        assertThat(l.keyOf("sub:mallory", T0)).isNull();
    }

    @Test
    void should_keep_no_name_for_a_key_past_its_bound() {
        DenialLimiter l = new DenialLimiter(1, W, 1);
        String one = DenialLimiter.key(attest.keys.KeySecrets.generate());
        String two = DenialLimiter.key(attest.keys.KeySecrets.generate());
        l.denied(one, K1, T0);
        l.denied(two, K2, T0); // not tracked: neither counted nor named
        assertThat(l.keyOf(two, T0)).isNull();
        assertThat(l.retryAfterSeconds(two, T0)).isZero();
        assertThat(l.keyOf(one, T0)).isEqualTo(K1);
        assertThat(l.trackedCallers()).isEqualTo(1);
    }

    @Test
    void should_name_nothing_when_off() {
        DenialLimiter l = new DenialLimiter(0, W, 10);
        String one = DenialLimiter.key(attest.keys.KeySecrets.generate());
        l.denied(one, K1, T0);
        assertThat(l.keyOf(one, T0)).isNull();
    }
}
