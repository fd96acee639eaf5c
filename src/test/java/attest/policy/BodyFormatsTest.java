package attest.policy;

import attest.Exchanges;
import attest.http.GatewayException;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static attest.policy.RequestFactsTest.exchange;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Non-JSON bodies pass only where their Content-Type is configured for the upstream. */
class BodyFormatsTest {
    @Test
    void should_accept_a_non_json_body_only_where_its_content_type_is_configured() {
        Exchange e = exchange("text/csv; charset=utf-8", "a,b\n1,2\n");
        new ReadRequestFactsProcessor(new BodyFormats(Map.of("llm", List.of("text/csv")))).process(e);
        assertThat(e.getProperty(Exchanges.FACTS, RequestFacts.class).bodySize()).isEqualTo(8);
        assertThat(e.getProperty(Exchanges.FACTS, RequestFacts.class).jsonObject()).isFalse();
        Exchange audio = exchange("audio/wav", "RIFF....");
        new ReadRequestFactsProcessor(new BodyFormats(Map.of("llm", List.of("audio/*")))).process(audio);
        assertThat(audio.getProperty(Exchanges.FACTS, RequestFacts.class).model()).isNull();
        Exchange other = exchange("text/csv", "a,b");
        assertThatThrownBy(() -> new ReadRequestFactsProcessor(new BodyFormats(Map.of("tf", List.of("text/csv"))))
                .process(other)).satisfies(x -> assertThat(((GatewayException) x).status()).isEqualTo(415));
    }

    @Test
    void should_match_media_types_without_parameters_and_refuse_junk() {
        BodyFormats f = new BodyFormats(Map.of("llm", List.of("text/csv", "audio/*")));
        assertThat(f.acceptsNonJson("llm", "TEXT/CSV;charset=utf-8")).isTrue();
        assertThat(f.acceptsNonJson("llm", "audio/mpeg")).isTrue();
        assertThat(f.acceptsNonJson("llm", "audiox/mpeg")).isFalse();
        assertThat(f.acceptsNonJson("llm", "text/csv-evil")).isFalse();
        assertThat(f.acceptsNonJson("llm", "text/csv, application/xml")).isFalse();
        assertThat(f.acceptsNonJson("llm", null)).isFalse();
        assertThat(f.acceptsNonJson("llm", "")).isFalse();
        assertThat(BodyFormats.jsonOnly().acceptsNonJson("llm", "text/plain")).isFalse();
    }
}
