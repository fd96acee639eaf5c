package attest.usage;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The token counters a settled call adds to: by upstream, model, outcome and type, the model label bounded. */
class UsageLedgerTest {
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final UsageLedger ledger = new UsageLedger(null, Prices.none(), registry, 2);

    private static UsageMeter reported(long prompt, long completion) {
        UsageMeter m = new UsageMeter();
        m.report(new TokenUsage(prompt, completion, prompt + completion, null, null));
        return m;
    }

    private double tokens(String model, String outcome, String type) {
        var c = registry.find("attest.tokens").tags("upstream", "llm", "model", model, "outcome", outcome, "type", type)
                .counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void should_add_every_call_to_the_counter_of_its_labels() {
        ledger.settle(List.of(), reported(3, 5), "llm", "m1", "completed");
        ledger.settle(List.of(), reported(7, 11), "llm", "m1", "completed");
        ledger.settle(List.of(), reported(100, 200), "llm", "m1", "upstream_error");
        assertThat(tokens("m1", "completed", "prompt")).isEqualTo(10);
        assertThat(tokens("m1", "completed", "completion")).isEqualTo(16);
        assertThat(tokens("m1", "completed", "total")).isEqualTo(26);
        assertThat(tokens("m1", "upstream_error", "prompt")).isEqualTo(100);
        assertThat(registry.find("attest.tokens").tags("type", "cached").counter()).as("no cached tokens").isNull();
    }

    @Test
    void should_bound_the_model_label_and_count_answers_without_usage() {
        ledger.settle(List.of(), reported(1, 1), "llm", "m1", "completed");
        ledger.settle(List.of(), reported(1, 1), "llm", "m2", "completed");
        ledger.settle(List.of(), reported(1, 1), "llm", "m3", "completed"); // a third model: "other"
        ledger.settle(List.of(), reported(1, 1), "llm", "m4", "completed");
        assertThat(tokens("other", "completed", "prompt")).isEqualTo(2);
        assertThat(tokens("m3", "completed", "prompt")).isZero();
        UsageMeter none = new UsageMeter();
        none.countBytes(400);
        ledger.settle(List.of(), none, "llm", "m1", "completed");
        ledger.settle(List.of(), none, "llm", "m1", "completed");
        assertThat(registry.find("attest.usage.unknown").tags("upstream", "llm", "model", "m1", "outcome", "completed")
                .counter().count()).isEqualTo(2);
        assertThat(tokens("m1", "completed", "estimated")).isEqualTo(2 * none.estimate());
    }
}
