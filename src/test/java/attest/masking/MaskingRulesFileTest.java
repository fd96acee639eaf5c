package attest.masking;

import attest.rules.RuleFileException;
import attest.rules.YamlTree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A bad masking rule file stops the start; the message names the file, the line and the rule. */
class MaskingRulesFileTest {
    static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);

    static Stream<Arguments> bad() {
        return Stream.of(
                Arguments.of("rule-sets:\n  - id: a\n    detectors: [card, nope]\n", 3, "unknown detector 'nope'"),
                Arguments.of("rule-sets:\n  - id: a\n    actions:\n      CARD: shred\n", 4,
                        "rule set 'a': action must be redact, hash, partial or block"),
                Arguments.of("rule-sets:\n  - id: a\n    scope:\n      direction: sideways\n", 4,
                        "direction must be response, request or both"),
                Arguments.of("rule-sets:\n  - id: a\n    custom-detectors:\n      - name: x\n        entity-type: X\n"
                        + "        pattern: '(a'\n", 6, "detector 'x': invalid RE2 pattern"),
                Arguments.of("rule-sets:\n  - id: a\n    custom-detectors:\n      - name: x\n        entity-type: X\n"
                        + "        pattern: '(a)\\1'\n", 6, "invalid RE2 pattern"),
                Arguments.of("rule-sets:\n  - id: a\n    custom-detectors:\n      - name: x\n        pattern: 'a'\n", 4,
                        "custom detector without 'entity-type'"),
                Arguments.of("rule-sets:\n  - id: a\n    custom-detectors:\n      - name: x\n        entity-type: X\n"
                        + "        pattern: 'a'\n        validator: crc\n", 7, "unknown validator 'crc'"),
                Arguments.of("rule-sets:\n  - id: a\n    colour: blue\n", 3, "unknown key 'colour'"),
                Arguments.of("rule-sets:\n  - scope: {}\n", 2, "rule set without 'id'"));
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("bad")
    void should_refuse_a_bad_rule_file(String text, int line, String problem) {
        assertThatThrownBy(() -> MaskingRulesFile.parse(YamlTree.parse("masking-rules/x.yaml", text), KEY))
                .isInstanceOf(RuleFileException.class)
                .hasMessageStartingWith("masking-rules/x.yaml:" + line + ": ")
                .hasMessageContaining(problem);
    }

    @Test
    void should_require_a_key_for_the_hash_action() {
        assertThatThrownBy(() -> MaskingRulesFile.parse(YamlTree.parse("m.yaml",
                "rule-sets:\n  - id: a\n    actions:\n      EMAIL: hash\n"), new byte[0]))
                .hasMessageContaining("uses 'hash' but no HMAC key");
    }

    @Test
    void should_load_the_shipped_rules_and_a_custom_detector() {
        List<MaskingRuleSet> shipped = MaskingRulesFile.loadDirectory(Path.of("masking-rules"), new byte[0]);
        assertThat(shipped).extracting(MaskingRuleSet::id).containsExactly("default");
        assertThat(shipped.get(0).exemptRoles()).containsExactly("pii-reader");
        MaskingRuleSet custom = MaskingRulesFile.parse(YamlTree.parse("m.yaml", """
                rule-sets:
                  - id: hr
                    scope: {upstreams: [llm], paths: ['/v1/chat/**'], direction: both}
                    detectors: [email]
                    custom-detectors:
                      - {name: employee-id, entity-type: EMPLOYEE_ID, pattern: 'EMP-[0-9]{6}'}
                    actions: {EMPLOYEE_ID: hash, default: redact}
                """), KEY).get(0);
        assertThat(custom.appliesTo("llm", "/v1/chat/completions")).isTrue();
        assertThat(custom.appliesTo("llm", "/v1/embeddings")).isFalse();
        assertThat(custom.appliesTo("tf", "/v1/chat/completions")).isFalse();
        assertThat(custom.requests()).isTrue();
        assertThat(custom.responses()).isTrue();
        String out = custom.masker().mask("EMP-123456 wrote to a@b.example and 4111 1111 1111 1111", null, r -> { });
        assertThat(out).matches("\\[EMPLOYEE_ID:[0-9a-f]{16}] wrote to \\[EMAIL] and 4111 1111 1111 1111");
    }
}
