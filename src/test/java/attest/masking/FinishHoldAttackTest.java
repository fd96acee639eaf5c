package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static attest.masking.SseMaskerTest.MASKER;
import static attest.masking.SseMaskerTest.content;
import static attest.masking.SseMaskerTest.finishing;
import static attest.masking.SseMaskerTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** Hostile review of the held finishing chunk (c1e2435, d6ca21a): an entity split across a finish_reason. */
class FinishHoldAttackTest {

    static String[] entities() {
        return SseMaskerTest.ENTITIES;
    }

    /** The promise itself: every entity, split at every position across the finish, the bytes cut at every byte. */
    @ParameterizedTest
    @MethodSource("entities")
    void should_mask_an_entity_split_across_a_finish_at_every_split_and_every_byte_cut(String entity) throws Exception {
        String text = "Sure, it is " + entity + " as requested.";
        String expected = MASKER.mask(text, null, r -> { });
        int start = text.indexOf(entity);
        for (int at = start + 1; at < start + entity.length(); at++) {
            String upstream = finishing(text.substring(0, at), "length") + finishing(text.substring(at), "stop")
                    + "data: [DONE]\n\n";
            int n = upstream.getBytes(StandardCharsets.UTF_8).length;
            for (int cut = 1; cut < n; cut++) {
                String out = run(upstream, cut);
                assertThat(out).as("split at %d, cut at %d", at, cut).doesNotContain(entity);
                assertThat(content(out)).as("split at %d, cut at %d", at, cut).isEqualTo(expected);
                assertThat(out.indexOf("\"length\"")).as("split at %d, cut at %d", at, cut).isPositive()
                        .isLessThan(out.indexOf("\"stop\""));
            }
        }
    }

    /**
     * A block with no data (a keep-alive comment, an event: or id: line alone) dispatches no event in an SSE client,
     * yet it released the held finishing chunk as if the text had ended: a card split across the finish, with a
     * `: ping` between, went out as "4111 1111" at the finish.
     */
    @ParameterizedTest
    @ValueSource(strings = {": ping\n\n", ":\n\n", "event: ping\n\n", "id: 7\n\n", "retry: 1000\n\n",
        ": a\n\n: b\n\n"})
    void should_keep_a_finish_held_across_a_block_without_data(String between) throws Exception {
        for (String entity : SseMaskerTest.ENTITIES) {
            String text = "Sure, it is " + entity + " as requested.";
            String expected = MASKER.mask(text, null, r -> { });
            int start = text.indexOf(entity);
            for (int at = start + 1; at < start + entity.length(); at++) {
                String upstream = finishing(text.substring(0, at), "length") + between
                        + finishing(text.substring(at), "stop") + "data: [DONE]\n\n";
                for (int cut : new int[] {1, upstream.indexOf("\n\n") + 2, upstream.length() - 1}) {
                    String out = run(upstream, cut);
                    assertThat(out).as("%s split at %d, cut at %d", entity, at, cut).doesNotContain(entity);
                    assertThat(content(out.replace(between, ""))).as("%s split at %d", entity, at).isEqualTo(expected);
                    // the block is still passed, after the finishing chunk (order kept)
                    assertThat(out).contains(between);
                    assertThat(out.indexOf("\"length\"")).isLessThan(out.indexOf(between));
                }
            }
        }
    }

    /**
     * n>1: choice 0 finishes, the next events are other choices', and only then does choice 0 go on. The finishing
     * chunk was released at choice 1's event, with choice 0's held text: the card went out in halves. Now other
     * choices' chunks go out ahead of it while it waits. (A usage chunk, an error event or another event with no
     * choice waits behind it: should_keep_a_finish_held_across_an_event_without_a_choice.)
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n"
            + "data: {\"choices\":[{\"index\":2,\"delta\":{\"content\":\"b\"},\"finish_reason\":null}]}\n\n"})
    void should_not_release_a_finish_at_an_event_for_another_choice(String between) throws Exception {
        String upstream = finishing("card 4111 1111", "length") + between + finishing(" 1111 1111 ok", "stop")
                + "data: [DONE]\n\n";
        for (int cut : new int[] {1, upstream.length() - 1}) {
            String out = run(upstream, cut);
            assertThat(out).as("cut %d:%n%s", cut, out).doesNotContain("4111 1111");
        }
    }

    /**
     * The finished choice's own next chunk carries no text (a role-only delta, an empty content, no delta at all), and
     * only the chunk after it goes on: the held text was released at the finish, so "ssn 536-90-" went out whole at
     * the finish and "4399" after it (masked there, too late).
     */
    @ParameterizedTest
    @ValueSource(strings = {"{\"role\":\"assistant\"}", "{\"content\":\"\"}", "{}", "{\"content\":null}",
        "{\"tool_calls\":[]}"})
    void should_not_release_a_finish_at_a_chunk_of_the_same_choice_without_text(String delta) throws Exception {
        String between = "data: {\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":null}]}\n\n";
        String upstream = finishing("ssn 536-90-", "stop") + between + finishing("4399 ok", null) + "data: [DONE]\n\n";
        for (int cut : new int[] {1, upstream.indexOf("\n\n") + 2, upstream.length() - 1}) {
            String out = run(upstream, cut);
            assertThat(out).as("cut %d:%n%s", cut, out).doesNotContain("536-90").doesNotContain("4399");
            assertThat(content(out)).isEqualTo("ssn [SSN] ok");
        }
    }

    /**
     * One choice's index written two ways that a client reads as one ("0" and 0, 0 and 0.0, 1 and 1e0; a JS client's
     * choices[index], a Python client coercing to int): the masker kept them as two texts, so a card split across them
     * went out in halves, with or without a finish between.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
        "\"0\"|0|null", "0|0.0|null", "1|1e0|null", "1|\"1\"|null", "0|\"00\"|null", "2|2.00|null",
        "\"0\"|0|\"length\"", "0|0.0|\"length\"", "1|1e0|\"length\"", "1|\"1\"|\"length\""})
    void should_join_a_choices_text_across_spellings_of_its_index(String first, String second, String finish)
            throws Exception {
        String upstream = "data: {\"choices\":[{\"index\":" + first + ",\"delta\":{\"content\":\"card 4111 1111\"},"
                + "\"finish_reason\":" + finish + "}]}\n\n"
                + "data: {\"choices\":[{\"index\":" + second + ",\"delta\":{\"content\":\" 1111 1111 ok\"},"
                + "\"finish_reason\":null}]}\n\ndata: [DONE]\n\n";
        for (int cut : new int[] {1, upstream.indexOf("\n\n") + 2, upstream.length() - 1}) {
            String out = run(upstream, cut);
            assertThat(out).as("cut %d:%n%s", cut, out).doesNotContain("4111 1111").contains("[CARD]");
            assertThat(out.replaceAll("\\[[A-Z_]+[^\\]]*\\]", "")).as("cut %d:%n%s", cut, out)
                    .doesNotContainPattern("1111");
        }
    }

    /**
     * The limit docs/masking.md stated: a usage chunk, an error or another event with no choice after a finish_reason
     * released the finishing chunk with its held text, and more text for that choice after it split an entity across
     * the finish. Such an event now waits behind the finishing chunk (in order) and the next event with a choice decides;
     * no text goes after the finish unless the upstream sent more for that choice.
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n",
        "data: {\"id\":\"c\",\"usage\":{\"prompt_tokens\":1}}\n\n",
        "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n",
        "event: error\ndata: overloaded\n\n",
        "data: {\"type\":\"ping\"}\n\n",
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n: ping\n\n"})
    void should_keep_a_finish_held_across_an_event_without_a_choice(String between) throws Exception {
        for (String entity : SseMaskerTest.ENTITIES) {
            String text = "Sure, it is " + entity + " as requested.";
            String expected = MASKER.mask(text, null, r -> { });
            int start = text.indexOf(entity);
            for (int at = start + 1; at < start + entity.length(); at++) {
                String upstream = finishing(text.substring(0, at), "length") + between
                        + finishing(text.substring(at), "stop") + "data: [DONE]\n\n";
                for (int cut : new int[] {1, upstream.indexOf("\n\n") + 2, upstream.length() - 1}) {
                    String out = run(upstream, cut);
                    assertThat(out).as("%s split at %d, cut at %d:%n%s", entity, at, cut, out).doesNotContain(entity);
                    assertThat(content(out.replace(between, ""))).as("%s split at %d", entity, at).isEqualTo(expected);
                    // the event is passed once, after the finishing chunk and before the text that goes on
                    assertThat(out.split(java.util.regex.Pattern.quote(between), -1)).hasSize(2);
                    assertThat(out.indexOf("\"length\"")).isLessThan(out.indexOf(between));
                    assertThat(out.indexOf(between)).isLessThan(out.indexOf("\"stop\""));
                }
            }
        }
    }

    /** A finish then only a usage chunk (OpenAI's include_usage) and [DONE]: the held text goes out with the finish. */
    @org.junit.jupiter.api.Test
    void should_release_a_finish_before_a_usage_chunk_when_the_text_ends_there() throws Exception {
        String usage = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n";
        String upstream = finishing("card 4111 1111 1111 1111", "stop") + usage + "data: [DONE]\n\n";
        for (int cut : new int[] {1, upstream.length() - 1}) {
            String out = run(upstream, cut);
            assertThat(out).isEqualTo(finishing("card [CARD]", "stop") + usage + "data: [DONE]\n\n");
        }
    }
}
