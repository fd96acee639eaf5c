package attest.evidence;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RefusalLimiterTest {
    static final Instant T0 = Instant.parse("2026-11-29T06:00:00Z");

    /** One refusal: source, status, milliseconds after T0. */
    record R(String source, int status, long at) {
    }

    static R r(String source, int status, long at) {
        return new R(source, status, at);
    }

    /**
     * perWindow 2, window 1 s, 3 sources at most. Each case: the refusals, the admissions expected, then what
     * drain(T0 + drainAt) gives ("source recorded {status=count}").
     */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("under the threshold: all recorded, no summary",
                        List.of(r("a", 401, 0), r("a", 400, 10)), "RR", 1000, List.of()),
                Arguments.of("past the threshold: counted by status, one summary when the window ends",
                        List.of(r("a", 401, 0), r("a", 401, 1), r("a", 401, 2), r("a", 431, 3), r("a", 401, 4)),
                        "RRCCC", 1000, List.of("a 2 {401=2, 431=1}")),
                Arguments.of("no summary before the window ends",
                        List.of(r("a", 401, 0), r("a", 401, 1), r("a", 401, 2)), "RRC", 999, List.of()),
                Arguments.of("sources are limited apart",
                        List.of(r("a", 401, 0), r("a", 401, 1), r("b", 401, 2), r("a", 401, 3), r("b", 401, 4)),
                        "RRRCR", 1000, List.of("a 2 {401=1}")),
                Arguments.of("a new window records again, the old one is summarised",
                        List.of(r("a", 401, 0), r("a", 401, 1), r("a", 401, 2), r("a", 401, 1000), r("a", 401, 1001),
                                r("a", 408, 1002)), "RRCRRC", 2000, List.of("a 2 {401=1}", "a 2 {408=1}")),
                Arguments.of("windows are aligned, not sliding",
                        List.of(r("a", 401, 900), r("a", 401, 950), r("a", 401, 999), r("a", 401, 1000)), "RRCR",
                        1000, List.of("a 2 {401=1}")),
                Arguments.of("past maxSources, new sources share the overflow bucket",
                        List.of(r("a", 401, 0), r("b", 401, 0), r("c", 401, 0), r("d", 401, 0), r("e", 401, 0),
                                r("f", 401, 0), r("g", 503, 0)), "RRRRRCC", 1000, List.of("* 2 {401=1, 503=1}")),
                Arguments.of("an unknown source is a bucket of its own",
                        List.of(r(null, 503, 0), r("", 503, 0), r(null, 503, 0)), "RRC", 1000,
                        List.of("unknown 2 {503=1}")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void should_record_up_to_the_threshold_then_count(String name, List<R> refusals, String admissions, long drainAt,
                                                      List<String> summaries) {
        RefusalLimiter limiter = new RefusalLimiter(2, Duration.ofSeconds(1), 3);
        StringBuilder got = new StringBuilder();
        for (R x : refusals) {
            got.append(limiter.admit(x.source(), x.status(), T0.plusMillis(x.at())) == RefusalLimiter.Admission.RECORD
                    ? "R" : "C");
        }
        assertThat(got.toString()).isEqualTo(admissions);
        List<String> drained = new ArrayList<>();
        for (RefusalLimiter.Summary s : limiter.drain(T0.plusMillis(drainAt))) {
            drained.add(s.source() + " " + s.recorded() + " " + s.counted());
        }
        assertThat(drained).containsExactlyInAnyOrderElementsOf(summaries);
    }

    @Test
    void should_account_for_every_refusal_between_records_and_summaries() {
        RefusalLimiter limiter = new RefusalLimiter(5, Duration.ofSeconds(1), 100);
        long recorded = 0;
        for (int i = 0; i < 10_000; i++) {
            Instant at = T0.plusMillis(i % 3000);
            if (limiter.admit("10.0.0." + (i % 7), 401, at) == RefusalLimiter.Admission.RECORD) {
                recorded++;
            }
        }
        long counted = limiter.drainAll().stream().mapToLong(RefusalLimiter.Summary::countedTotal).sum();
        assertThat(recorded + counted).isEqualTo(10_000);
    }

    @Test
    void should_cap_records_across_all_sources_per_window() {
        RefusalLimiter limiter = new RefusalLimiter(2, Duration.ofSeconds(1), 1000, 5);
        StringBuilder got = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            got.append(limiter.admit("10.0.0." + i, 401, T0) == RefusalLimiter.Admission.RECORD ? "R" : "C");
        }
        assertThat(got.toString()).isEqualTo("RRRRRCCC");
        assertThat(limiter.admit("10.0.0.99", 401, T0.plusSeconds(1))).as("a new window").isEqualTo(
                RefusalLimiter.Admission.RECORD);
        assertThat(limiter.drainAll().stream().mapToLong(RefusalLimiter.Summary::countedTotal).sum()).isEqualTo(3);
    }

    @Test
    void should_count_a_refusal_whose_record_could_not_be_written() {
        RefusalLimiter limiter = new RefusalLimiter(2, Duration.ofSeconds(1), 10);
        assertThat(limiter.admit("a", 401, T0)).isEqualTo(RefusalLimiter.Admission.RECORD);
        limiter.recordFailed("a", 401, T0);
        List<RefusalLimiter.Summary> s = limiter.drain(T0.plusSeconds(1));
        assertThat(s).hasSize(1);
        assertThat(s.get(0).recorded()).isZero();
        assertThat(s.get(0).counted()).isEqualTo(new TreeMap<>(Map.of(401, 1L)));
        assertThat(s.get(0).windowStart()).isEqualTo(T0);
        assertThat(s.get(0).windowEnd()).isEqualTo(T0.plusSeconds(1));
    }

    @Test
    void should_forget_sources_whose_window_ended() {
        RefusalLimiter limiter = new RefusalLimiter(1, Duration.ofSeconds(1), 10);
        for (int i = 0; i < 10; i++) {
            limiter.admit("s" + i, 401, T0);
        }
        assertThat(limiter.trackedSources()).isEqualTo(10);
        assertThat(limiter.drain(T0.plusSeconds(1))).isEmpty();
        assertThat(limiter.trackedSources()).isZero();
    }

    @Test
    void should_refuse_a_nonsensical_configuration() {
        assertThatThrownBy(() -> new RefusalLimiter(-1, Duration.ofSeconds(1), 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RefusalLimiter(1, Duration.ZERO, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RefusalLimiter(1, Duration.ofSeconds(1), 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
