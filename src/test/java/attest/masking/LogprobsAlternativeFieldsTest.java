package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An alternative in {@code top_logprobs} was read for its token and its bytes only: any other string in it (a field
 * beside the token, a nested value, a legacy map's value) went out with the entity, in a whole answer and in a stream,
 * and a block rule did not refuse it. A client that shows the alternatives (a token-probability view, a debugger)
 * shows every field. Now every string of an alternative is read, each apart, and a finding nulls the logprobs
 * ({@code redact_field}) as one in a token does.
 */
class LogprobsAlternativeFieldsTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"token\":\"y\",\"logprob\":-2,\"text\":\"card 4111 1111 1111 1111\"}",
        "{\"token\":\"y\",\"logprob\":-2,\"meta\":{\"note\":\"card 4111 1111 1111 1111\"}}",
        "{\"token\":\"y\",\"logprob\":-2,\"meta\":[\"card 4111 1111 1111 1111\"]}",
        "{\"y\":\"card 4111 1111 1111 1111\"}",
        "{\"y\":{\"v\":\"jane.doe@example.com\"}}"})
    void should_redact_logprobs_whose_alternative_carries_an_entity_beside_its_token(String alternative) {
        String lp = "{\"content\":[{\"token\":\"x\",\"logprob\":-1,\"bytes\":[120],\"top_logprobs\":[" + alternative
                + "]}]}";
        // a whole answer
        List<Redaction> reports = new ArrayList<>();
        String whole = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"x\"},\"logprobs\":"
                + lp + ",\"finish_reason\":\"stop\"}]}";
        String out = new String(AnswerMasker.mask(whole.getBytes(StandardCharsets.UTF_8), "application/json", MASKER,
                reports::add), StandardCharsets.UTF_8);
        assertThat(out).as(out).doesNotContain("4111").doesNotContain("jane.doe").contains("\"logprobs\":null");
        assertThat(reports).extracting(Redaction::action).contains(JsonMasker.REDACT_FIELD);
        // a stream
        reports.clear();
        String stream = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":"
                + "{\"content\":\"x\"},\"logprobs\":" + lp + ",\"finish_reason\":null}]}\n\ndata: [DONE]\n\n";
        AnswerMasker.Streaming s = AnswerMasker.streaming("text/event-stream", MASKER, reports::add);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        got.writeBytes(s.push(stream.getBytes(StandardCharsets.UTF_8)));
        got.writeBytes(s.finish());
        String streamed = got.toString(StandardCharsets.UTF_8);
        assertThat(streamed).as(streamed).doesNotContain("4111").doesNotContain("jane.doe")
                .contains("\"logprobs\":null");
    }
}
