package attest.masking;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MaskerTest {
    static final byte[] KEY = "test-hmac-key-32-bytes-long-....".getBytes(StandardCharsets.UTF_8);

    static Masker masker(Action action) {
        return new Masker(MaskingEngine.builtIn(), Map.of(), action, KEY);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
            REDACT  | card 4111 1111 1111 1111, thanks   | card [CARD], thanks
            REDACT  | mail jane.doe@example.com.          | mail [EMAIL].
            REDACT  | two: 536-90-4399 and 192.168.1.20   | two: [SSN] and [IP_ADDRESS]
            PARTIAL | card 5555-5555-5555-4444!          | card [CARD ****4444]!
            REDACT  | ｆull-width ４１１１１１１１１１１１１１１１ end | ｆull-width [CARD] end
            REDACT  | zero​width 4111​1111​1111​1111 end | zero​width [CARD] end
            """)
    void should_replace_the_whole_entity_and_nothing_around_it(Action action, String text, String expected) {
        assertThat(masker(action).mask(text, null, r -> { })).isEqualTo(expected);
    }

    @Test
    void should_hash_to_a_stable_keyed_pseudonym() {
        Masker m = masker(Action.HASH);
        String a = m.mask("card 4111 1111 1111 1111", null, r -> { });
        String b = m.mask("card 4111-1111-1111-1111", null, r -> { });
        assertThat(a).matches("card \\[CARD:[0-9a-f]{16}]").isEqualTo(b);
        Masker other = new Masker(MaskingEngine.builtIn(), Map.of(), Action.HASH,
                "another-key-another-key-another!".getBytes(StandardCharsets.UTF_8));
        assertThat(other.mask("card 4111 1111 1111 1111", null, r -> { })).isNotEqualTo(a);
        assertThat(a).doesNotContain("4111");
    }

    @Test
    void should_block_the_whole_response_for_a_block_rule() {
        Masker m = new Masker(MaskingEngine.builtIn(), Map.of("SECRET", Action.BLOCK), Action.REDACT, KEY);
        assertThat(m.mask("nothing here", null, r -> { })).isEqualTo("nothing here");
        assertThatThrownBy(() -> m.mask("key AKIAIOSFODNN7EXAMPLE", null, r -> { }))
                .isInstanceOf(BlockedException.class).hasMessageNotContaining("AKIA");
    }

    @Test
    void should_report_type_action_and_location_but_never_the_value() {
        List<Redaction> report = new ArrayList<>();
        masker(Action.REDACT).mask("a 536-90-4399 b jane@example.com", "/choices/0/message/content", report::add);
        assertThat(report).extracting(Redaction::entityType).containsExactly("SSN", "EMAIL");
        assertThat(report).extracting(Redaction::location).containsOnly("/choices/0/message/content");
        assertThat(report.toString()).doesNotContain("536").doesNotContain("jane");
    }
}
