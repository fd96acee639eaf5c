package attest.audit;

import attest.http.GatewayException;
import attest.ingress.Upstream;
import attest.ingress.UpstreamRegistry;
import attest.upstream.UpstreamCredential;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Where a replay is sent: the fixed origin, a re-checked path, a URI built from components, or nowhere. Evidence records
 * the path without its query, so a replay carries none (HOLE before: a query in a stored path was sent on).
 */
class ReplayTargetTest {
    static final URI ORIGIN = Replays.origin("127.0.0.1", 8080);
    static final UpstreamRegistry UPSTREAMS = new UpstreamRegistry(List.of(
            upstream("llm", "/llm"), upstream("tf", "/tf")));

    static Upstream upstream(String name, String prefix) {
        return new Upstream(name, prefix, URI.create("http://127.0.0.1:9999"), UpstreamCredential.NONE,
                Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1));
    }

    @ParameterizedTest(name = "{0} {1} ({2})")
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            POST | /llm/v1/chat/completions     | llm  | http://127.0.0.1:8080/llm/v1/chat/completions
            POST | /llm/v1/chat/completions     | NULL | http://127.0.0.1:8080/llm/v1/chat/completions
            GET  | /llm/v1/models               | llm  | http://127.0.0.1:8080/llm/v1/models
            POST | /llm/v1/a%20b                | llm  | http://127.0.0.1:8080/llm/v1/a%20b
            POST | /tf/v1/models/m:predict      | tf   | http://127.0.0.1:8080/tf/v1/models/m:predict
            POST | /llm/@127.0.0.1/x            | llm  | http://127.0.0.1:8080/llm/@127.0.0.1/x
            """)
    void should_build_the_uri_on_the_fixed_origin(String method, String path, String upstream, String expected) {
        URI uri = Replays.target(ORIGIN, method, path, upstream, UPSTREAMS);
        assertThat(uri.toString()).isEqualTo(expected);
        assertThat(uri.getHost()).isEqualTo("127.0.0.1");
        assertThat(uri.getPort()).isEqualTo(8080);
        assertThat(uri.getRawUserInfo()).isNull();
    }

    @ParameterizedTest(name = "{1} ({2}) -> {3}")
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            POST    | @127.0.0.1/x                     | NULL   | 422
            POST    | @127.0.0.1:9/llm/v1/x            | llm    | 422
            POST    | //127.0.0.1/llm/x                | NULL   | 422
            POST    | //127.0.0.1:9                    | llm    | 422
            POST    | http://127.0.0.1:9/llm/x         | llm    | 422
            POST    | 127.0.0.1:9                      | NULL   | 422
            POST    | *                                | NULL   | 422
            POST    | /\\127.0.0.1/llm                 | NULL   | 422
            POST    | /llm\\..\\x                      | llm    | 422
            POST    | /llm/../admin                    | llm    | 422
            POST    | /llm/%2e%2e/admin                | llm    | 422
            POST    | /llm/v1;x=1/chat                 | llm    | 422
            POST    | /llm/v1%3Bx/chat                 | llm    | 422
            POST    | /llm/v1/x#frag                   | llm    | 422
            POST    | /llm/v1/x?a=%26                  | llm    | 422
            POST    | /llm/v1/x?a=%zz                  | llm    | 422
            GET     | /llm/v1/models?limit=5           | llm    | 422
            POST    | /llm/v1/x?api_key=stolen         | llm    | 422
            POST    | /llm/v1/x?                       | llm    | 422
            POST    | /llm/v1/x?a=1&b=2                | llm    | 422
            POST    | NULL                             | NULL   | 422
            POST    | ''                               | NULL   | 422
            CONNECT | /llm/v1/x                        | llm    | 422
            TRACE   | /llm/v1/x                        | llm    | 422
            NULL    | /llm/v1/x                        | llm    | 422
            POST    | /admin/x                         | NULL   | 409
            POST    | /approvals/1/result              | NULL   | 409
            POST    | /llm/v1/x                        | tf     | 409
            POST    | /llm/v1/x                        | gone   | 409
            POST    | /                                | NULL   | 409
            """)
    void should_refuse_a_record_that_cannot_be_replayed_exactly(String method, String path, String upstream,
                                                               int status) {
        assertThatThrownBy(() -> Replays.target(ORIGIN, method, path, upstream, UPSTREAMS))
                .isInstanceOfSatisfying(GatewayException.class, e -> {
                    assertThat(e.status()).isEqualTo(status);
                    assertThat(e.code()).isEqualTo("not_replayable");
                });
    }

    @Test
    void should_reach_a_wildcard_bind_on_loopback_and_refuse_an_origin_with_more_than_scheme_host_port() {
        assertThat(Replays.origin("0.0.0.0", 8080).toString()).isEqualTo("http://127.0.0.1:8080");
        assertThat(Replays.origin("::", 9).toString()).isEqualTo("http://127.0.0.1:9");
        for (String bad : List.of("http://u@127.0.0.1:8080", "http://127.0.0.1:8080/x", "http://127.0.0.1",
                "http://127.0.0.1:8080?x", "ftp://127.0.0.1:21")) {
            assertThatThrownBy(() -> new Replays(null, null, null, "t", URI.create(bad), UPSTREAMS, null))
                    .as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
