package attest.evidence;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The evidence writer's lanes: calls are never queued behind refusals. */
class EvidenceLanesTest {

    /** calls and refusals waiting, batch size, refusal cap per batch: the next batch's composition. */
    @ParameterizedTest(name = "{0} calls + {1} refusals waiting, batch {2}, cap {3} -> {4} calls + {5} refusals")
    @CsvSource({
            "1, 5000, 256, 64, 1, 64",
            "0, 5000, 256, 64, 0, 64",
            "300, 5000, 256, 64, 256, 0",
            "200, 5000, 256, 64, 200, 56",
            "3, 0, 256, 64, 3, 0",
            "0, 10, 256, 64, 0, 10",
            "0, 10, 4, 64, 0, 4"})
    void should_take_calls_first_and_cap_refusals(int calls, int refusals, int max, int cap, int batchCalls,
                                                  int batchRefusals) {
        EvidenceLanes<String> lanes = new EvidenceLanes<>(10_000, 10_000, cap);
        IntStream.range(0, refusals).forEach(i -> lanes.offerRefusal("r" + i));
        IntStream.range(0, calls).forEach(i -> lanes.offerCall("c" + i));
        List<String> batch = lanes.takeBatch(max);
        assertThat(batch.stream().filter(s -> s.startsWith("c")).count()).isEqualTo(batchCalls);
        assertThat(batch.stream().filter(s -> s.startsWith("r")).count()).isEqualTo(batchRefusals);
        // calls come first in the batch (and so in the chain)
        assertThat(batch.subList(0, batchCalls)).allMatch(s -> s.startsWith("c"));
    }

    @Test
    void should_commit_a_call_in_the_next_batch_whatever_the_flood_of_refusals_before_it() {
        EvidenceLanes<String> lanes = new EvidenceLanes<>(10, 100_000, 64);
        IntStream.range(0, 100_000).forEach(i -> assertThat(lanes.offerRefusal("r" + i)).isTrue());
        assertThat(lanes.offerCall("the call")).isTrue();
        assertThat(lanes.takeBatch(256).get(0)).isEqualTo("the call");
    }

    @Test
    void should_refuse_refusals_when_their_lane_is_full_but_never_a_call() {
        EvidenceLanes<String> lanes = new EvidenceLanes<>(2, 3, 64);
        assertThat(IntStream.range(0, 10).filter(i -> lanes.offerRefusal("r" + i)).count()).isEqualTo(3);
        assertThat(lanes.offerCall("c1")).isTrue();
        assertThat(lanes.offerCall("c2")).isTrue();
        assertThat(lanes.callsWaiting()).isEqualTo(2);
        assertThat(lanes.refusalsWaiting()).isEqualTo(3);
    }

    @Test
    void should_wake_the_writer_for_either_lane_and_linger_only_for_calls() throws Exception {
        EvidenceLanes<String> lanes = new EvidenceLanes<>(10, 10, 4);
        assertThat(lanes.awaitWork(1, TimeUnit.MILLISECONDS)).isFalse();
        lanes.offerRefusal("r");
        assertThat(lanes.awaitWork(1, TimeUnit.SECONDS)).isTrue();
        List<String> batch = new java.util.ArrayList<>(lanes.takeBatch(8));
        lanes.offerRefusal("r2");
        assertThat(lanes.awaitCall(5, TimeUnit.MILLISECONDS)).isFalse();
        lanes.offerCall("c");
        assertThat(lanes.awaitCall(1, TimeUnit.SECONDS)).isTrue();
        lanes.topUpCalls(batch, 8);
        assertThat(batch).containsExactly("r", "c");
        assertThat(lanes.drainAll()).containsExactly("r2");
    }
}
