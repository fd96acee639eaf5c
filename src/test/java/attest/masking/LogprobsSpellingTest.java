package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Streamed logprobs wait for the text they belong to and go out with it. A hostile upstream whose tokens are not its
 * text (logprobs with no text at all, or other tokens than the chunk's text) spelt a card across chunks in the tokens,
 * one piece per chunk, each piece clean on its own: the tokens went out as they came. Such logprobs are now null
 * ({@code redact_field}); logprobs whose tokens are their text are kept.
 */
class LogprobsSpellingTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    static String chat(String delta, String token) {
        return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":" + delta
                + ",\"logprobs\":{\"content\":[{\"token\":\"" + token + "\",\"logprob\":-0.1,\"bytes\":null,"
                + "\"top_logprobs\":[]}],\"refusal\":null},\"finish_reason\":null}]}\n\n";
    }

    static String legacy(String text, String token) {
        return "data: {\"id\":\"c\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"" + text
                + "\",\"logprobs\":{\"tokens\":[\"" + token + "\"],\"token_logprobs\":[-0.1],\"top_logprobs\":null,"
                + "\"text_offset\":[0]},\"finish_reason\":null}]}\n\n";
    }

    static String responses(String delta, String token) {
        return "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"output_index\":0,\"content_index\":0,"
                + "\"delta\":\"" + delta + "\",\"logprobs\":[{\"token\":\"" + token + "\",\"logprob\":-0.1,"
                + "\"top_logprobs\":[]}]}\n\n";
    }

    static Stream<Arguments> hostile() {
        return Stream.of(
                Arguments.of("chat: other tokens than the text", chat("{\"content\":\"a\"}", "4111 1111")
                        + chat("{\"content\":\"b\"}", " 1111 1111") + "data: [DONE]\n\n"),
                Arguments.of("chat: logprobs without text", chat("{}", "4111 1111") + chat("{}", " 1111 1111")
                        + "data: [DONE]\n\n"),
                Arguments.of("chat: tokens of a refusal", chat("{\"refusal\":\"no\"}", "4111 1111")
                        .replace("\"content\":[", "\"content\":null,\"refusal\":[").replace(",\"refusal\":null", "")
                        + chat("{\"refusal\":\"pe\"}", " 1111 1111")
                        .replace("\"content\":[", "\"content\":null,\"refusal\":[").replace(",\"refusal\":null", "")
                        + "data: [DONE]\n\n"),
                Arguments.of("chat: bytes that are not the token", chat("{\"content\":\"a\"}", "a")
                        .replace("\"bytes\":null", "\"bytes\":[52,49,49,49,32,49,49,49,49]")
                        + chat("{\"content\":\"b\"}", "b").replace("\"bytes\":null",
                        "\"bytes\":[32,49,49,49,49,32,49,49,49,49]") + "data: [DONE]\n\n"),
                Arguments.of("legacy completions", legacy("a", "4111 1111") + legacy("b", " 1111 1111")
                        + "data: [DONE]\n\n"),
                Arguments.of("Responses API", responses("a", "4111 1111") + responses("b", " 1111 1111")
                        + "data: {\"type\":\"response.completed\",\"response\":{}}\n\n"));
    }

    static String run(String body, int size, List<Redaction> reports) {
        AnswerMasker.Streaming s = AnswerMasker.streaming("text/event-stream", MASKER, reports::add);
        byte[] all = body.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < all.length; i += size) {
            out.writeBytes(s.push(Arrays.copyOfRange(all, i, Math.min(all.length, i + size))));
        }
        out.writeBytes(s.finish());
        return out.toString(StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void should_not_release_tokens_that_spell_an_entity_across_chunks(String what, String body) {
        for (int size : new int[] {body.length(), 7}) {
            List<Redaction> reports = new ArrayList<>();
            String out = run(body, size, reports);
            assertThat(out.replaceAll("[^0-9]", "")).as(what).doesNotContain("41111111");
            assertThat(out.replaceAll("[^0-9,\\]]", "")).as(what).doesNotContain("52,49,49,49,32");
            assertThat(out).as(what).doesNotContain("4111 1111").doesNotContain(" 1111 1111");
            assertThat(reports).as(what).anySatisfy(r -> assertThat(r.action()).isEqualTo(JsonMasker.REDACT_FIELD));
        }
    }

    @Test
    void should_keep_logprobs_whose_tokens_are_their_text() {
        List<Redaction> reports = new ArrayList<>();
        String out = run(chat("{\"content\":\"Hello\"}", "Hello") + chat("{\"content\":\" there.\"}", " there.")
                + "data: [DONE]\n\n", 5, reports);
        assertThat(reports).isEmpty();
        assertThat(out).contains("\"token\":\"Hello\"").contains("\"token\":\" there.\"");
        List<Redaction> withBytes = new ArrayList<>();
        String bytes = run(chat("{\"content\":\"Hi\"}", "Hi").replace("\"bytes\":null", "\"bytes\":[72,105]"), 3,
                withBytes);
        assertThat(withBytes).isEmpty();
        assertThat(bytes).contains("\"bytes\":[72,105]");
    }
}
