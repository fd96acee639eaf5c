package attest.text;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link IsoInstant#of} against {@link Instant#toString()}: the edges of its fast range, and random instants in and past it. */
class IsoInstantTest {
    @Test
    void writes_what_instant_to_string_writes_at_the_edges() {
        long[] seconds = {0, 1, 59, 60, 86_399, 86_400, 951_782_400L /* 2000-02-29 */, 951_868_800L, 4_107_542_400L,
                253_402_300_799L, 253_402_300_800L, -1, -86_401, -62_167_219_200L, Long.MIN_VALUE / 1_000_000_000L * 1000};
        int[] nanos = {0, 1, 999, 1000, 1001, 999_000, 1_000_000, 1_000_001, 10_000_000, 120_000_000, 999_999_999,
                500_000_000, 123_456_000, 123_456_789};
        for (long s : seconds) {
            for (int n : nanos) {
                Instant t = Instant.ofEpochSecond(s, n);
                assertThat(IsoInstant.of(t)).as(t.toString()).isEqualTo(t.toString());
            }
        }
        assertThat(IsoInstant.of(null)).isNull();
        assertThat(IsoInstant.of(Instant.MAX)).isEqualTo(Instant.MAX.toString());
        assertThat(IsoInstant.of(Instant.MIN)).isEqualTo(Instant.MIN.toString());
    }

    @Test
    void writes_what_instant_to_string_writes_for_random_instants() {
        Random random = new Random(8601);
        for (int k = 0; k < 200_000; k++) {
            long s = k % 10 == 0 ? random.nextLong(-400_000_000_000L, 400_000_000_000L)
                    : random.nextLong(0, 253_402_300_800L);
            int n = switch (k % 4) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1_000_000;
                case 2 -> random.nextInt(1_000_000) * 1000;
                default -> random.nextInt(1_000_000_000);
            };
            Instant t = Instant.ofEpochSecond(s, n);
            assertThat(IsoInstant.of(t)).as(t.toString()).isEqualTo(t.toString());
        }
        Instant now = Instant.now();
        assertThat(IsoInstant.of(now)).isEqualTo(now.toString());
    }
}
