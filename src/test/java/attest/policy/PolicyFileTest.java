package attest.policy;

import attest.rules.RuleFileException;
import attest.rules.YamlTree;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A bad policy file stops the start, and the message names the file, the line and the problem. */
class PolicyFileTest {
    static final String GOOD_RULE = """
            rules:
              - id: ok
                decision: ALLOW
                reason: fine
                match:
                  roles: [inference-user]
            """;

    static Stream<Arguments> badFiles() {
        return Stream.of(
                Arguments.of("rules: [", 1, "invalid YAML"),
                Arguments.of("", 1, "file is empty"),
                Arguments.of("rulez: []", 1, "unknown key 'rulez'"),
                Arguments.of("rules: []", 1, "no rules"),
                Arguments.of(GOOD_RULE + "  - id: ok\n    decision: DENY\n    reason: x\n    match: {roles: [a]}\n", 7,
                        "duplicate rule id 'ok'"),
                Arguments.of("rules:\n  - id: a\n    decision: MAYBE\n    reason: r\n    match: {roles: [x]}\n", 3,
                        "decision must be ALLOW, DENY or REVIEW"),
                Arguments.of("rules:\n  - id: a\n    decision: ALLOW\n    match: {roles: [x]}\n", 2, "missing 'reason'"),
                Arguments.of("rules:\n  - id: a\n    decision: ALLOW\n    reason: r\n", 2, "has no 'match'"),
                Arguments.of("rules:\n  - id: a\n    decision: ALLOW\n    reason: r\n    match:\n      upstreams: [nope]\n",
                        6, "unknown upstream 'nope'"),
                Arguments.of("rules:\n  - id: a\n    decision: ALLOW\n    reason: r\n    match:\n      rolez: [x]\n", 6,
                        "unknown key 'rolez'"),
                Arguments.of("rules:\n  - id: a\n    decision: ALLOW\n    reason: r\n    match: {roles: [x]}\n"
                        + "    limits:\n      max-tokens: -5\n", 7, "positive whole number"),
                Arguments.of("rules:\n  - id: a\n    decision: ALLOW\n    reason: r\n    match:\n      methods: [FETCH]\n",
                        6, "unknown HTTP method"),
                Arguments.of("rules:\n  - id: Bad Id\n    decision: ALLOW\n    reason: r\n    match: {roles: [x]}\n", 2,
                        "rule id must be"),
                Arguments.of("rules:\n  - id: a\n    decision: ALLOW\n    reason: r\n    match: {roles: [x]}\n"
                        + "    limits:\n      default-max-tokens: 100\n", 7, "default-max-tokens needs a max-tokens"),
                Arguments.of("rules:\n  - id: a\n    decision: ALLOW\n    reason: r\n    match: {roles: [x]}\n"
                        + "    limits:\n      max-tokens: 10\n      default-max-tokens: 100\n", 7,
                        "default-max-tokens needs a max-tokens"),
                Arguments.of("rules:\n  - id: a\n    id: b\n", 3, "duplicate key 'id'"));
    }

    /**
     * method | refused at load. A rule listing a method the door refuses (405 before policy: anything but GET, HEAD,
     * POST, PUT, PATCH and DELETE) could never match; the file is refused naming the rule and the method. Methods are
     * read in any case (a rule's {@code get} is GET).
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', textBlock = """
            OPTIONS  | true
            TRACE    | true
            TRACK    | true
            CONNECT  | true
            PROPFIND | true
            GETT     | true
            PSOT     | true
            FETCH    | true
            GET      | false
            HEAD     | false
            POST     | false
            PUT      | false
            PATCH    | false
            DELETE   | false
            get      | false
            Patch    | false
            """)
    void should_refuse_a_rule_listing_a_method_the_door_refuses(String method, boolean refused) {
        String text = "rules:\n  - id: ok\n    decision: ALLOW\n    reason: r\n    match: {roles: [x]}\n"
                + "  - id: the-rule\n    decision: DENY\n    reason: r\n    match:\n      methods: [POST, " + method
                + "]\n";
        if (!refused) {
            assertThat(PolicyFile.parse(YamlTree.parse("policy.yaml", text), Set.of()).get(1).methods())
                    .contains(method.toUpperCase(java.util.Locale.ROOT));
            return;
        }
        assertThatThrownBy(() -> PolicyFile.parse(YamlTree.parse("policy.yaml", text), Set.of()))
                .isInstanceOf(RuleFileException.class)
                .hasMessageContaining("policy.yaml:10")
                .hasMessageContaining("rule 'the-rule'")
                .hasMessageContaining("'" + method + "'")
                .hasMessageContaining("GET, HEAD, POST, PUT, PATCH, DELETE");
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("badFiles")
    void should_stop_on_a_bad_file_naming_file_line_and_problem(String text, int line, String problem) {
        assertThatThrownBy(() -> PolicyFile.parse(YamlTree.parse("policy/p.yaml", text), Set.of("llm")))
                .isInstanceOf(RuleFileException.class)
                .hasMessageStartingWith("policy/p.yaml:" + line + ": ")
                .hasMessageContaining(problem);
    }

    @Test
    void should_load_the_shipped_policy() {
        var rules = PolicyFile.load(Path.of("policy/least-privilege.yaml"), Set.of("llm"));
        assertThat(rules).extracting(PolicyRule::id).contains("inference-user-chat");
    }
}
