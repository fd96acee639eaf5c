package attest.masking;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

import static attest.masking.AnswerFormatsTest.ENTITIES;
import static attest.masking.AnswerFormatsTest.JSON;
import static attest.masking.AnswerFormatsTest.joined;
import static attest.masking.AnswerFormatsTest.run;
import static attest.masking.AnswerFormatsTest.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Some servers stream chat chunks that carry {@code message} instead of {@code delta} ({@code message.content},
 * {@code message.reasoning_content}, {@code message.reasoning}, {@code message.refusal}, a tool call's
 * {@code function.arguments}), and older ones the legacy {@code delta.function_call.arguments}. A client that reads
 * them joins each across chunks, as it joins {@code delta.content}; each piece was masked on its own, so an entity
 * split across chunks went out in clean halves. Each is now one text across chunks, held and released as
 * {@code delta.content} is, and put back where it came.
 */
class StreamedMessageTextTest {
    record Field(String name, String pointer, java.util.function.BiConsumer<ObjectNode, String> put) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Field> fields() {
        return Stream.of(
                new Field("message.content", "/choices/0/message/content",
                        (c, p) -> c.putObject("message").put("role", "assistant").put("content", p)),
                new Field("message.reasoning_content", "/choices/0/message/reasoning_content",
                        (c, p) -> c.putObject("message").put("reasoning_content", p)),
                new Field("message.reasoning", "/choices/0/message/reasoning",
                        (c, p) -> c.putObject("message").put("reasoning", p)),
                new Field("message.refusal", "/choices/0/message/refusal",
                        (c, p) -> c.putObject("message").put("refusal", p)),
                new Field("message.tool_calls arguments", "/choices/0/message/tool_calls/0/function/arguments",
                        (c, p) -> c.putObject("message").putArray("tool_calls").addObject().put("index", 0)
                                .put("type", "function").putObject("function").put("arguments", p)),
                new Field("message.function_call arguments", "/choices/0/message/function_call/arguments",
                        (c, p) -> c.putObject("message").putObject("function_call").put("arguments", p)),
                new Field("delta.function_call arguments", "/choices/0/delta/function_call/arguments",
                        (c, p) -> c.putObject("delta").putObject("function_call").put("name", "f")
                                .put("arguments", p)));
    }

    static ObjectNode chunk(Field f, String piece, String finish) {
        ObjectNode e = JSON.createObjectNode().put("id", "chatcmpl-1").put("object", "chat.completion.chunk");
        ObjectNode c = e.putArray("choices").addObject().put("index", 0);
        f.put().accept(c, piece);
        if (finish == null) {
            c.putNull("finish_reason");
        } else {
            c.put("finish_reason", finish);
        }
        return e;
    }

    static AnswerFormatsTest.Format format(Field f) {
        Function<List<String>, String> body = pieces -> {
            List<Object> events = new ArrayList<>();
            pieces.forEach(p -> events.add(chunk(f, p, null)));
            events.add(chunk(f, "", "stop"));
            events.add("[DONE]");
            return sse(events.toArray());
        };
        return new AnswerFormatsTest.Format(f.name(), "text/event-stream", body, joined(f.pointer()));
    }

    static Stream<Object[]> fieldsAndEntities() {
        return fields().flatMap(f -> Arrays.stream(ENTITIES).map(e -> new Object[] {f, e}));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("fieldsAndEntities")
    void should_find_an_entity_split_across_two_chunks_at_every_position(Field field, String entity) {
        AnswerFormatsTest.splitInTwo(format(field), entity);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("fieldsAndEntities")
    void should_find_an_entity_split_across_three_chunks_at_every_pair_of_positions(Field field, String entity) {
        AnswerFormatsTest.splitInThree(format(field), entity);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fields")
    void should_keep_clean_text_whole_and_in_place(Field field) {
        AnswerFormatsTest.Format f = format(field);
        String text = "Order 12345 ships on 2024-05-01, version 4.1.1.";
        List<String> pieces = List.of("Order 12", "345 ships on 2024", "-05-01, vers", "ion 4.1.1.");
        String out = run(f, f.body().apply(pieces).getBytes(StandardCharsets.UTF_8));
        assertThat(f.read().apply(out)).isEqualTo(text);
    }

    @Test
    void should_release_held_message_text_in_a_message_and_its_logprobs_with_it() {
        Field content = fields().findFirst().orElseThrow();
        ObjectNode first = chunk(content, "The card is 4111 1111", null);
        ((ObjectNode) first.get("choices").get(0)).putObject("logprobs").putArray("content").addObject()
                .put("token", "The card is 4111 1111").put("logprob", -0.1).putArray("top_logprobs");
        String body = sse(first, chunk(content, " 1111 1111", null)); // the stream ends without a finish
        String out = run(format(content), body.getBytes(StandardCharsets.UTF_8));
        assertThat(joined(content.pointer()).apply(out)).isEqualTo(AnswerFormatsTest.MASKER.mask("The card is 4111 1111 1111 1111",
                null, r -> { }));
        assertThat(out).doesNotContain("4111");
    }
}
