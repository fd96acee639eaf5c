package attest.ingress;

import attest.http.GatewayException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Path parameters: an upstream that strips {@code ;...} would see another path than the policy checked. */
class PathNormalizerTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/llm/v1;x=1/chat/completions", "/llm;/v1/chat/completions", "/llm/v1/models;",
            "/llm/v1/admin;jsessionid=1", "/llm/v1%3Bx/chat", "/llm/v1%3bx/chat", "/llm/%3B/x", "/;/llm",
            "/llm/v1/..;/admin", "/llm/v1/%2e%2e%3b/admin"})
    void should_refuse_path_parameters_raw_or_encoded(String target) {
        assertThatThrownBy(() -> PathNormalizer.normalize(target)).isInstanceOfSatisfying(GatewayException.class,
                e -> assertThat(e.status()).isEqualTo(400));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/llm/v1/chat/completions?a=1;b=2", "/llm/v1/models?x=%3B"})
    void should_leave_a_semicolon_in_the_query_alone(String target) {
        assertThat(PathNormalizer.normalize(target).path()).doesNotContain(";");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/llm/v1/models?a=%zz", "/llm/v1/models?a=%", "/llm/v1/models?a=%4", "/llm/v1/models?a=[1]",
            "/llm/v1/models?a=|", "/llm/v1/models?a={}", "/llm/v1/models?a=\"", "/llm/v1/models?a=^",
            "/llm/v1/models?a=\u00e9", "/llm/v1/models?a=`"})
    void should_refuse_a_query_that_is_not_a_uri_query(String target) {
        assertThatThrownBy(() -> PathNormalizer.normalize(target)).isInstanceOfSatisfying(GatewayException.class,
                e -> assertThat(e.status()).isEqualTo(400));
    }

    @org.junit.jupiter.api.Test
    void should_check_a_long_query_without_failing_inside() {
        assertThat(PathNormalizer.normalize("/llm/v1/models?" + "a=%20&".repeat(1300)).rawQuery()).hasSize(7800);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/llm/../x", "/llm/./x", "/llm/v1/..", "/llm/v1/.", "/.", "/..", "/llm/%2e%2e/x",
            "/llm/.%2E/x", "/llm/%2e/x", "/llm/v1/%2E%2E", "/llm/\u00e9", "/llm/v 1", "/llm/v1/<x>", "/llm/%2fx",
            "/llm/%5Cx", "/llm//x", "/llm/%25", "/llm/%c3%28"})
    void should_refuse_traversal_and_what_is_not_a_plain_path(String target) {
        assertThatThrownBy(() -> PathNormalizer.normalize(target)).isInstanceOfSatisfying(GatewayException.class,
                e -> assertThat(e.status()).isEqualTo(400));
    }

    @ParameterizedTest(name = "{0} -> {1} {2}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', textBlock = """
            /llm/v1/chat/completions     | /llm/v1/chat/completions | /llm/v1/chat/completions
            /llm/v1/%63hat/completions   | /llm/v1/chat/completions | /llm/v1/chat/completions
            /llm/.../x                   | /llm/.../x               | /llm/.../x
            /llm/..a/.b/c.               | /llm/..a/.b/c.           | /llm/..a/.b/c.
            /llm/v1/                     | /llm/v1/                 | /llm/v1/
            /llm/caf%C3%A9               | /llm/caf\u00e9           | /llm/caf%C3%A9
            /llm/a%20b                   | /llm/a b                 | /llm/a%20b
            /llm/~x!$&'()*+,=:@          | /llm/~x!$&'()*+,=:@      | /llm/~x!$&'()*+,=:@
            """)
    void should_give_the_decoded_path_and_the_raw_one_to_forward(String target, String path, String raw) {
        PathNormalizer.Split s = PathNormalizer.normalize(target);
        assertThat(s.path()).isEqualTo(path.translateEscapes());
        assertThat(s.rawPath()).isEqualTo(raw);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', textBlock = """
            /a/b    | false
            ''      | false
            /       | false
            .       | true
            ..      | true
            /.      | true
            /../a   | true
            /a/./   | true
            /.../   | false
            /.a/a.  | false
            """)
    void should_find_a_dot_segment_anywhere(String path, boolean dot) {
        assertThat(PathNormalizer.hasDotSegment(path)).isEqualTo(dot);
    }
}
