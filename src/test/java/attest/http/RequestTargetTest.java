package attest.http;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/** The pipeline's request-target rule: origin-form only, on both planes, before any route runs. */
class RequestTargetTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "@127.0.0.1/x", "@127.0.0.1:9/x", "//127.0.0.1/x", "//127.0.0.1:9", "///x", "/\\127.0.0.1/x",
            "/llm\\..\\admin", "\\\\127.0.0.1\\x", "http://127.0.0.1/x", "HTTP://127.0.0.1/x", "https://h/x",
            "127.0.0.1:443", "localhost:80", "*", "x", "?a=b", "#f", "%2F%2Fh/x", "%40h/x", "/a\u00e9",
            "/a\u0000b", "/a\u007fb", "/a\u0085"})
    void should_refuse_a_target_that_is_not_origin_form(String target) {
        assertThat(HardenedHttpServerInitializerFactory.RequestGuard.targetProblem(target)).isNotNull();
    }

    @ParameterizedTest(name = "[{index}]")
    @ValueSource(strings = {"", " "})
    void should_refuse_an_empty_target(String target) {
        assertThat(HardenedHttpServerInitializerFactory.RequestGuard.targetProblem(target)).isNotNull();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/", "/llm/v1/chat/completions", "/llm/v1/models?limit=5", "/health",
            "/audit/records/0b0e7a8e-1111-4222-8333-944445555666/replay", "/approvals/x/review?a=b&c=%20",
            "/@127.0.0.1/x", "/a/@b", "/a?next=//evil"})
    void should_accept_origin_form(String target) {
        assertThat(HardenedHttpServerInitializerFactory.RequestGuard.targetProblem(target)).isNull();
    }
}
