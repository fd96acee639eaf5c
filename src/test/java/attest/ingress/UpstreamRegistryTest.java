package attest.ingress;

import attest.http.GatewayException;
import attest.upstream.UpstreamCredential;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UpstreamRegistryTest {
    static final UpstreamRegistry REGISTRY = new UpstreamRegistry(List.of(
            upstream("llm", "/llm", "http://127.0.0.1:8000"),
            upstream("llm-eu", "/llm/eu", "http://127.0.0.1:8001/base/"),
            upstream("tf", "/tf", "http://127.0.0.1:8501")));

    static Upstream upstream(String name, String prefix, String base) {
        return new Upstream(name, prefix, URI.create(base), UpstreamCredential.NONE, Duration.ofSeconds(1),
                Duration.ofSeconds(1), Duration.ofSeconds(1));
    }

    @ParameterizedTest(name = "{0} -> {1} {2}")
    @CsvSource(textBlock = """
            /llm/v1/chat/completions,          llm,    http://127.0.0.1:8000/v1/chat/completions
            /llm,                              llm,    http://127.0.0.1:8000
            /llm/v1/models?limit=5,            llm,    http://127.0.0.1:8000/v1/models?limit=5
            /llm/v1/models?limit=5&api_key=sk, llm,   http://127.0.0.1:8000/v1/models?limit=5
            /llm/v1/models?KEY=sk&Token=t,     llm,    http://127.0.0.1:8000/v1/models
            /llm/eu/v1/chat/completions,       llm-eu, http://127.0.0.1:8001/base/v1/chat/completions
            /tf/v1/models/m:predict,           tf,     http://127.0.0.1:8501/v1/models/m:predict
            /%6clm/v1/models,                  llm,    http://127.0.0.1:8000/v1/models
            /llm/v1/a%20b,                     llm,    http://127.0.0.1:8000/v1/a%20b
            """)
    void should_route_by_prefix_only(String target, String upstream, String uri) {
        UpstreamTarget t = REGISTRY.resolve(target);
        assertThat(t.upstream().name()).isEqualTo(upstream);
        assertThat(t.uri().toString()).isEqualTo(uri);
        assertThat(t.uri().getHost()).isEqualTo("127.0.0.1");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(textBlock = """
            /llm/../admin,                     400
            /llm/v1/../../etc/passwd,          400
            /llm/%2e%2e/admin,                 400
            /llm/%2E%2E/admin,                 400
            /llm/.%2e/admin,                   400
            /llm/%252e%252e/admin,             400
            /llm/v1%2fchat,                    400
            /llm/v1%5cchat,                    400
            /llm/v1\\chat,                     400
            /llm//v1/chat,                     400
            /llm/./v1,                         400
            /llm/%00,                          400
            /llm/%0d%0aHost:evil,              400
            /llm/%c0%ae%c0%ae/x,               400
            http://evil.example/llm/v1/chat,   400
            //evil.example/llm,                400
            evil.example:80,                   400
            *,                                 400
            /llmx/v1/chat,                     404
            /other/v1,                         404
            /,                                 404
            """)
    void should_refuse_anything_that_could_reach_another_path_or_host(String target, int status) {
        assertThatThrownBy(() -> REGISTRY.resolve(target)).isInstanceOf(GatewayException.class)
                .satisfies(e -> assertThat(((GatewayException) e).status()).isEqualTo(status));
    }
}
