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
}
