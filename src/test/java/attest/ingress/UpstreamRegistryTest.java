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

    static UpstreamRegistry fromSettings(java.util.Map<String, String> extra) {
        java.util.Map<String, String> all = new java.util.HashMap<>(java.util.Map.of("attest.upstreams", "llm, tf",
                "attest.upstream.llm.prefix", "/llm", "attest.upstream.llm.base-url", "http://127.0.0.1:8000",
                "attest.upstream.tf.prefix", "/tf", "attest.upstream.tf.base-url", "http://127.0.0.1:8501"));
        all.putAll(extra);
        return UpstreamRegistry.fromSettings(new attest.Settings(k -> java.util.Optional.ofNullable(all.get(k))),
                new attest.upstream.UpstreamCredentials(k -> null, java.time.Clock.systemUTC()));
    }

    @org.junit.jupiter.api.Test
    void should_read_each_upstreams_connection_cap_and_queue_with_their_defaults() {
        UpstreamRegistry r = fromSettings(java.util.Map.of("attest.upstream.llm.max-connections", "8",
                "attest.upstream.llm.max-waiting", "0"));
        Upstream llm = r.byName("llm").orElseThrow();
        assertThat(llm.maxConnections()).isEqualTo(8);
        assertThat(llm.maxWaiting()).isZero();
        Upstream tf = r.byName("tf").orElseThrow();
        assertThat(tf.maxConnections()).isEqualTo(Upstream.DEFAULT_MAX_CONNECTIONS).isEqualTo(1024);
        assertThat(tf.maxWaiting()).isEqualTo(Upstream.DEFAULT_MAX_WAITING).isEqualTo(1024);
        assertThat(upstream("x", "/x", "http://127.0.0.1:1").maxConnections()).isEqualTo(1024);
    }

    @ParameterizedTest
    @CsvSource({"max-connections, 0", "max-connections, -1", "max-waiting, -1", "max-connections, many"})
    void should_refuse_a_connection_cap_or_queue_out_of_range(String key, String value) {
        assertThatThrownBy(() -> fromSettings(java.util.Map.of("attest.upstream.llm." + key, value)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("attest.upstream.llm." + key);
    }

    @org.junit.jupiter.api.Test
    void should_build_each_targets_uri_once_while_it_repeats_and_never_give_one_target_anothers() {
        UpstreamRegistry registry = new UpstreamRegistry(List.of(upstream("llm", "/llm", "http://127.0.0.1:8000"),
                upstream("llm-eu", "/llm/eu", "http://127.0.0.1:8001/base/")));
        String[][] calls = {
                {"/llm/v1/chat/completions", "http://127.0.0.1:8000/v1/chat/completions"},
                {"/llm/eu/v1/chat/completions", "http://127.0.0.1:8001/base/v1/chat/completions"},
                {"/llm/v1/chat/completions", "http://127.0.0.1:8000/v1/chat/completions"},
                {"/llm/v1/chat/completions?x=1", "http://127.0.0.1:8000/v1/chat/completions?x=1"},
                {"/llm/v1/chat/completions?x=1&api_key=sk", "http://127.0.0.1:8000/v1/chat/completions?x=1"},
                {"/llm/v1/chat/completions", "http://127.0.0.1:8000/v1/chat/completions"},
                {"/llm/v1/embeddings", "http://127.0.0.1:8000/v1/embeddings"},
                {"/llm/eu/v1/chat/completions", "http://127.0.0.1:8001/base/v1/chat/completions"}};
        for (String[] call : calls) {
            assertThat(registry.resolve(call[0]).uri()).as(call[0]).isEqualTo(URI.create(call[1]))
                    .hasToString(call[1]);
        }
        URI first = registry.resolve("/llm/v1/models").uri();
        assertThat(registry.resolve("/llm/v1/models").uri()).as("a repeated target's URI is not parsed again")
                .isSameAs(first);
        assertThat(registry.resolve("/llm/eu/v1/models").uri()).isNotSameAs(first)
                .isEqualTo(URI.create("http://127.0.0.1:8001/base/v1/models"));
    }
}
