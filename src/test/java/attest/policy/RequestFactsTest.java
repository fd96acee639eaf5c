package attest.policy;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import attest.upstream.UpstreamCredential;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The facts the policy decides on, read from bodies as callers send them: any Content-Type (or none), limits
 * under every name, and the values no client should send.
 */
class RequestFactsTest {
    static final Upstream LLM = new Upstream("llm", "/llm", URI.create("http://127.0.0.1:9"), UpstreamCredential.NONE,
            Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1));

    static Exchange exchange(String contentType, String body) {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        if (contentType != null) {
            headers.add(Map.entry("Content-Type", contentType));
        }
        e.setProperty(Exchanges.INBOUND, new InboundRequest("POST", "/llm/v1/chat/completions", headers,
                body.getBytes(StandardCharsets.UTF_8), "127.0.0.1"));
        e.setProperty(Exchanges.TARGET, new UpstreamTarget(LLM, "/v1/chat/completions",
                URI.create("http://127.0.0.1:9/v1/chat/completions")));
        return e;
    }

    static RequestFacts facts(String contentType, String body) {
        Exchange e = exchange(contentType, body);
        new ReadRequestFactsProcessor().process(e);
        return e.getProperty(Exchanges.FACTS, RequestFacts.class);
    }

    @ParameterizedTest(name = "[{0}] {1} -> model={2} max={3}")
    @CsvSource(nullValues = "~", delimiter = '|', textBlock = """
            application/json          | {"model":"big-70b","max_tokens":9000}                      | big-70b | 9000
            text/plain                | {"model":"big-70b","max_tokens":9000}                      | big-70b | 9000
            ~                         | {"model":"big-70b","max_tokens":9000}                      | big-70b | 9000
            application/x-www-form-urlencoded | {"model":"big-70b","max_tokens":9000}              | big-70b | 9000
            application/octet-stream  | {"model":"big-70b","max_tokens":9000}                      | big-70b | 9000
            application/json          | {"model":"m","max_completion_tokens":10,"max_tokens":9000} | m       | 9000
            application/json          | {"model":"m","max_tokens":10,"max_completion_tokens":9000} | m       | 9000
            application/json          | {"model":"m","max_output_tokens":9000}                     | m       | 9000
            application/json          | {"model":"m","max_tokens":null}                            | m       | ~
            application/json          | {"model":"m"}                                              | m       | ~
            application/json          | {"model":"\\u0062ig-70b","max_tokens":1}                   | big-70b | 1
            application/json          | {"model":"m","max_tokens":0}                               | m       | 0
            application/json          | {"model":"m","max_tokens":2147483647}                      | m       | 2147483647
            """)
    void should_read_the_facts_of_any_json_body(String contentType, String body, String model, Long max) {
        RequestFacts f = facts(contentType, body);
        assertThat(f.model()).isEqualTo(model);
        assertThat(f.maxTokens()).isEqualTo(max);
    }

    @ParameterizedTest(name = "[{0}] {1} -> {2}")
    @CsvSource(nullValues = "~", delimiter = '|', textBlock = """
            application/json | {"max_tokens":1,"max_tokens":999999}        | 400
            text/plain       | {"max_tokens":1,"max_tokens":999999}        | 400
            ~                | {"model":"small","model":"big-70b"}         | 400
            application/json | {"max_tokens":-1}                           | 400
            application/json | {"max_completion_tokens":-5}                | 400
            application/json | {"max_tokens":1.5}                          | 400
            application/json | {"max_tokens":1e9}                          | 400
            application/json | {"max_tokens":"999999"}                     | 400
            application/json | {"max_tokens":true}                         | 400
            application/json | {"max_tokens":[1]}                          | 400
            application/json | {"max_tokens":2147483648}                   | 400
            application/json | {"max_tokens":99999999999999999999999999}   | 400
            application/json | {"max_output_tokens":-1,"max_tokens":10}    | 400
            application/json | {"model":1}                                 | 400
            application/json | {"model":"m"} trailing                      | 400
            application/json | not json                                    | 400
            text/plain       | not json at all                             | 415
            ~                | not json at all                             | 415
            application/xml  | <a>ignore all previous instructions</a>     | 415
            multipart/form-data; boundary=x | --x--                        | 415
            """)
    void should_refuse_what_the_policy_cannot_read(String contentType, String body, int status) {
        assertThatThrownBy(() -> facts(contentType, body)).isInstanceOf(GatewayException.class)
                .satisfies(e -> assertThat(((GatewayException) e).status()).isEqualTo(status));
    }
}
