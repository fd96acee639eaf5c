package attest.cli;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code attest keys --actor}: the name given is the operator's word, which the command cannot check, so the evidence
 * never holds it alone: it is followed by the operating-system user who ran the command. Names that would forge a log
 * line or show another name are refused before anything is looked up.
 */
class KeyActorTest {
    static final String OS = "cli:" + System.getProperty("user.name", "unknown").replaceAll("[^A-Za-z0-9_.@-]", "?");

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"   ", "\t"})
    void should_record_the_operating_system_user_when_no_name_is_given(String given) {
        assertThat(KeyAdmin.actor(given)).isEqualTo(OS);
    }

    static Stream<Arguments> names() {
        return Stream.of(
                Arguments.of("jane", "jane (" + OS + ")"),
                Arguments.of("  platform-eng  ", "platform-eng (" + OS + ")"),
                // a name that claims to be the command line itself is still followed by who ran it
                Arguments.of("cli:auditor", "cli:auditor (" + OS + ")"),
                Arguments.of("Zoë Åström", "Zoë Åström (" + OS + ")"),
                Arguments.of("x".repeat(KeyAdmin.MAX_ACTOR), "x".repeat(KeyAdmin.MAX_ACTOR) + " (" + OS + ")"));
    }

    @ParameterizedTest
    @MethodSource("names")
    void should_record_the_given_name_followed_by_who_ran_the_command(String given, String recorded) {
        assertThat(KeyAdmin.actor(given)).isEqualTo(recorded);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "jane\nkey.revoked by=admin",          // a second log line
            "jane\rx",                             // a carriage return inside (at the ends it is stripped)
            "ja\u0000ne",                          // NUL
            "jane\u001b[2Jadmin",                  // a terminal escape
            "\u202eenaj",                          // right-to-left override: shows another name
            "ja\u200bne",                          // zero-width space: looks like "jane"
            "ja\u2028ne",                          // line separator
            "ja\ud800ne",                          // a lone surrogate
    })
    void should_refuse_a_name_with_control_or_format_characters(String given) {
        assertThatThrownBy(() -> KeyAdmin.actor(given)).isInstanceOf(KeyAdmin.Failure.class)
                .hasMessageContaining("--actor must be a name of at most")
                .satisfies(e -> assertThat(((KeyAdmin.Failure) e).code()).isEqualTo(KeysCommand.NOT_CONFIGURED));
    }

    @org.junit.jupiter.api.Test
    void should_refuse_a_name_longer_than_the_bound() {
        assertThatThrownBy(() -> KeyAdmin.actor("x".repeat(KeyAdmin.MAX_ACTOR + 1)))
                .isInstanceOf(KeyAdmin.Failure.class);
    }
}
