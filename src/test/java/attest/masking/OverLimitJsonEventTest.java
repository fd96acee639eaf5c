package attest.masking;

import com.fasterxml.jackson.core.StreamReadConstraints;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static attest.masking.SseMaskerTest.JSON;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * A stream event that is well-formed JSON beyond what the masker reads as a tree (deeper than Jackson's nesting limit,
 * a member name over its length limit) is JSON, not a chunk cut short: its entities are masked in place and every
 * event a client gets is still JSON. The text of such an event was once split at its last string, whose held tail went
 * out later as an event of its own ({@code data: Hi}), which the OpenAI SDK cannot read (MaskingMemberNamesE2EIT).
 */
class OverLimitJsonEventTest {

    static String deep(int levels, String leaf) {
        return "{\"a\":".repeat(levels) + leaf + "}".repeat(levels);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"deep", "long-name"})
    void every_event_stays_json_and_the_entity_in_a_name_is_masked(String shape) throws Exception {
        String over = shape.equals("deep")
                ? "{\"x_deep\":" + deep(StreamReadConstraints.DEFAULT_MAX_DEPTH + 100,
                "{\"jane.doe@example.com\":1,\"b\":2}") + ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}"
                : "{\"x_scores\":{\"" + "n".repeat(StreamReadConstraints.DEFAULT_MAX_NAME_LEN + 10)
                + " jane.doe@example.com\":1,\"b\":2},\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}";
        assertThat(JsonMasker.strictEvent(over)).as("beyond the tree reader's limits").isNull();
        assertThat(JsonMasker.wellFormed(over)).isTrue();
        String upstream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello \"}}]}\n\n"
                + "data: " + over + "\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                + "data: [DONE]\n\n";
        for (int cut : new int[]{0, 30, upstream.length() / 2, upstream.length()}) {
            String out = StreamEndsAttackTest.run(upstream, cut).out();
            assertThat(out).as("cut at " + cut).doesNotContain("jane.doe@example.com");
            for (var block : StreamEndsAttackTest.blocks(out)) {
                StringBuilder data = new StringBuilder();
                for (String line : block) {
                    if (line.startsWith("data:")) {
                        data.append(line.substring(line.startsWith("data: ") ? 6 : 5));
                    }
                }
                if (data.isEmpty() || data.toString().equals("[DONE]")) {
                    continue;
                }
                assertThat(JsonMasker.wellFormed(data.toString())).as("cut at " + cut + ", an event: " + abbreviated(data))
                        .isTrue();
            }
        }
    }

    @ParameterizedTest(name = "not JSON: {0}")
    @ValueSource(strings = {"{\"a\":\"b\"", "{\"a\":1} trailing", "{\"a\":1}{\"b\":2}", "[1,2", "", "Hi", "\"str"})
    void cut_or_trailing_json_is_not_well_formed(String text) {
        assertThatCode(() -> JsonMasker.wellFormed(text)).doesNotThrowAnyException();
        assertThat(JsonMasker.wellFormed(text)).isFalse();
        assertThat(JSON).isNotNull();
    }

    private static String abbreviated(CharSequence s) {
        return s.length() <= 120 ? s.toString() : s.subSequence(0, 60) + "..." + s.subSequence(s.length() - 60, s.length());
    }
}
