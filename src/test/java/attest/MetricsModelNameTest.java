package attest;

import attest.masking.Action;
import attest.masking.Masker;
import attest.masking.MaskingEngine;
import attest.masking.MaskingRuleSet;
import attest.masking.MaskingService;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A model's name is a label of the unauthenticated metrics only if the masking rules in force find nothing in it. */
class MetricsModelNameTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    @ParameterizedTest(name = "[{index}] {0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "gpt-4o-mini-2024-07-18             | true",
            "meta-llama/Llama-3.1-8B-Instruct   | true",
            "claude-3-5-sonnet@20240620         | true",
            "jane.doe@example.com               | false",
            "4111111111111111                   | false",
            "tel +1 415 555 2671                | false",
            "DE89 3704 0044 0532 0130 00        | false",
    })
    void should_show_only_names_masking_finds_nothing_in(String name, boolean plain) {
        MaskingService rules = new MaskingService(List.of(new MaskingRuleSet("default", List.of(), List.of(), false,
                true, List.of(), MASKER)), Duration.ofSeconds(5));
        assertThat(AttestConfiguration.modelNameIsPlain(rules).test(name)).isEqualTo(plain);
        MaskingService none = new MaskingService(List.of(), Duration.ofSeconds(5));
        assertThat(AttestConfiguration.modelNameIsPlain(none).test(name)).as("no rule set: the built-in detectors")
                .isEqualTo(plain);
    }
}
