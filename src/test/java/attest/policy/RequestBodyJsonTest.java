package attest.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The token limit written into a body, and the parse kept with it: the same tree as parsing the new body. */
class RequestBodyJsonTest {

    @ParameterizedTest(name = "{0} + {2} -> {3}")
    @CsvSource(delimiter = '|', textBlock = """
            {"model":"m","messages":[{"role":"user","content":"hi"}]}              | false | 256        | {"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":256}
            {"model":"m","max_tokens":null}                                       | false | 256        | {"model":"m","max_tokens":256}
            {"model":"m","max_completion_tokens":null,"max_tokens":null}          | false | 9          | {"model":"m","max_completion_tokens":9,"max_tokens":9}
            {"model":"m","input":"x","temperature":0.7}                           | true  | 4096       | {"model":"m","input":"x","temperature":0.7,"max_output_tokens":4096}
            {"model":"m"}                                                         | false | 4294967296 | {"model":"m","max_tokens":4294967296}
            """)
    void should_keep_the_parse_of_the_body_it_writes(String body, boolean responses, long limit, String expected) {
        RequestBodyJson.Parsed original = RequestBodyJson.parse(body.getBytes(StandardCharsets.UTF_8));
        RequestBodyJson.Cached limited = RequestBodyJson.limited((ObjectNode) original.root(), responses, limit);

        assertThat(new String(limited.body(), StandardCharsets.UTF_8)).isEqualTo(expected);
        assertThat(limited.parsed().root()).as("the kept tree is what parsing the new body gives")
                .isEqualTo(RequestBodyJson.parse(limited.body()).root());
        assertThat(limited.parsed().duplicateKey()).isFalse();
        assertThat(RequestBodyJson.withLimit((ObjectNode) original.root(), responses, limit)).isEqualTo(limited.body());
        assertThat(original.root()).as("the original tree is left alone")
                .isEqualTo(RequestBodyJson.parse(body.getBytes(StandardCharsets.UTF_8)).root());
    }
}
