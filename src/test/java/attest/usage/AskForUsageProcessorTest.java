package attest.usage;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import attest.policy.RequestFacts;
import attest.upstream.StaticSecretCredential;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AskForUsageProcessorTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Upstream LLM = new Upstream("llm", "/llm", URI.create("http://127.0.0.1:9"),
            new StaticSecretCredential("Authorization", "Bearer", "s", "t"), Duration.ofSeconds(1), Duration.ofSeconds(1),
            Duration.ofSeconds(1));

    static Exchange exchange(String path, String body) throws Exception {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        e.setProperty(Exchanges.INBOUND, new InboundRequest("POST", "/llm" + path, List.of(), b, "127.0.0.1"));
        e.setProperty(Exchanges.TARGET, new UpstreamTarget(LLM, path, URI.create("http://127.0.0.1:9" + path)));
        var root = JSON.readTree(b);
        e.setProperty(Exchanges.FACTS, new RequestFacts(root.path("model").asText(null), null,
                root.path("stream").asBoolean(false), b.length, true));
        return e;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            {"model":"m","stream":true}                                                  | true
            {"model":"m","stream":true,"stream_options":null}                            | true
            {"model":"m","stream":true,"stream_options":{}}                              | true
            {"model":"m","stream":true,"stream_options":{"include_usage":false}}         | true
            {"model":"m","stream":true,"stream_options":{"include_usage":null}}          | true
            {"model":"m","stream":true,"stream_options":{"include_usage":true}}          | false
            """)
    void should_ask_every_stream_for_its_usage_and_strip_it_unless_the_caller_asked(String body, boolean strip)
            throws Exception {
        Exchange e = exchange("/v1/chat/completions", body);
        new AskForUsageProcessor(Set.of()).process(e);
        assertNotNull(e.getProperty(Exchanges.USAGE, UsageMeter.class));
        assertEquals(strip, e.getProperty(Exchanges.STRIP_USAGE, false, Boolean.class));
        byte[] forwarded = e.getProperty(Exchanges.FORWARD_BODY, byte[].class);
        if (strip) {
            var sent = JSON.readTree(forwarded);
            assertEquals(true, sent.path("stream_options").path("include_usage").asBoolean());
            assertEquals("m", sent.path("model").asText());
            assertEquals(new String(forwarded, StandardCharsets.UTF_8), new String(e.getProperty(Exchanges.INBOUND,
                    InboundRequest.class).body(), StandardCharsets.UTF_8), "masking and forwarding see the same body");
        } else {
            assertNull(forwarded, "the caller's own body goes as it came");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/responses", "/v1/embeddings"})
    void should_leave_other_apis_alone(String path) throws Exception {
        Exchange e = exchange(path, "{\"model\":\"m\",\"stream\":true}");
        new AskForUsageProcessor(Set.of()).process(e);
        assertNull(e.getProperty(Exchanges.FORWARD_BODY));
        assertNotNull(e.getProperty(Exchanges.USAGE), "usage is still metered");
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"stream\":true,\"stream_options\":\"yes\"}", "{\"stream\":true,\"stream_options\":[]}",
            "{\"stream\":true,\"stream_options\":{\"include_usage\":\"false\"}}",
            "{\"stream\":true,\"stream_options\":{\"include_usage\":0}}"})
    void should_refuse_stream_options_the_upstream_would_read_differently(String body) throws Exception {
        Exchange e = exchange("/v1/chat/completions", body);
        assertEquals(400, assertThrows(GatewayException.class, () -> new AskForUsageProcessor(Set.of()).process(e))
                .status());
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"model\":\"m\",\"stream\":true}"})
    void should_not_ask_an_upstream_listed_as_refusing_the_field(String body) throws Exception {
        Exchange e = exchange("/v1/chat/completions", body);
        new AskForUsageProcessor(Set.of("llm")).process(e);
        assertNull(e.getProperty(Exchanges.FORWARD_BODY));
        assertEquals(false, e.getProperty(Exchanges.STRIP_USAGE, false, Boolean.class));
    }
}
