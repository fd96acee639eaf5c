package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static attest.masking.SseMaskerTest.JSON;
import static attest.masking.SseMaskerTest.MASKER;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile review of what a stream's held text becomes where it ends: an error event, the stream's end with or without
 * {@code [DONE]}, a break-off, and events that are not JSON.
 */
class StreamEndsAttackTest {

    /** The masked stream, pushed cut at {@code cut}, and the redactions reported ({@code type@location}). */
    record Run(String out, List<String> reports) {
    }

    static Run run(String upstream, int cut) {
        List<String> reports = new ArrayList<>();
        SseMasker m = new SseMasker(MASKER, r -> reports.add(r.entityType() + "@" + r.location()));
        byte[] raw = upstream.getBytes(StandardCharsets.UTF_8);
        int at = Math.min(cut, raw.length);
        String out = new String(m.push(java.util.Arrays.copyOfRange(raw, 0, at)), StandardCharsets.UTF_8)
                + new String(m.push(java.util.Arrays.copyOfRange(raw, at, raw.length)), StandardCharsets.UTF_8)
                + new String(m.finish(), StandardCharsets.UTF_8);
        return new Run(out, reports);
    }

    /** The events of a masked stream: each block's lines. */
    static List<List<String>> blocks(String out) {
        List<List<String>> blocks = new ArrayList<>();
        for (String b : out.split("\n\n")) {
            if (!b.isBlank()) {
                blocks.add(List.of(b.split("\n")));
            }
        }
        return blocks;
    }

    /** Whether an event is an error: named {@code error}, or JSON with an {@code error} member or type. */
    static boolean error(List<String> block) {
        StringBuilder data = new StringBuilder();
        for (String line : block) {
            if (line.equals("event: error") || line.equals("event:error")) {
                return true;
            }
            if (line.startsWith("data:")) {
                data.append(line.substring(line.startsWith("data: ") ? 6 : 5));
            }
        }
        try {
            JsonNode j = JSON.readTree(data.toString());
            return j != null && (j.has("error") || "error".equals(j.path("type").asText()));
        } catch (Exception notJson) {
            return false;
        }
    }

    /**
     * Defect 1: a lone error event whose message ends in an entity (so the masker holds that tail, as an entity could
     * go on in a next event) went out twice: once with the message cut before the entity, once more at the stream's end
     * (or at [DONE]) carrying the held tail. Every error event must reach the client exactly once, masked.
     */
    static Stream<Arguments> errors() {
        return Stream.of(
                Arguments.of("named, JSON", "event: error\ndata: {\"error\":{\"message\":\"bad card 4111 1111 1111 1111\"}}\n\n",
                        "4111 1111"),
                Arguments.of("named, JSON, half a card held", "event: error\ndata: {\"error\":{\"message\":\"bad card 4111 "
                        + "1111\"}}\n\n", "\"4111 1111\""),
                Arguments.of("OpenAI's in-stream error, no name", "data: {\"error\":{\"message\":\"for jane.doe@example.com\","
                        + "\"type\":\"server_error\"}}\n\n", "jane.doe"),
                Arguments.of("Anthropic's error", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                        + "\"overloaded_error\",\"message\":\"ssn 536-90-4399\"}}\n\n", "536-90"),
                Arguments.of("named, not JSON", "event: error\ndata: upstream failed, ssn 536-90-4399\n\n", "536-90"),
                Arguments.of("named, a JSON string", "event: error\ndata: \"failed for jane.doe@example.com\"\n\n", "jane.doe"),
                Arguments.of("named, several data lines", "event: error\ndata: failed for\ndata: ssn 536-90-4399\n\n",
                        "536-90"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("errors")
    void should_send_an_error_event_once_masked(String name, String error, String leak) throws Exception {
        String before = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"finish_reason\":null}]}\n\n";
        for (String upstream : List.of(error, error + "data: [DONE]\n\n", before + error, before + error
                + "data: [DONE]\n\n")) {
            for (int cut : new int[] {1, upstream.length() / 2, upstream.length()}) {
                Run r = run(upstream, cut);
                long errors = blocks(r.out()).stream().filter(StreamEndsAttackTest::error).count();
                assertThat(errors).as("%s, cut %d:%n%s", name, cut, r.out()).isEqualTo(1);
                assertThat(r.out()).as("%s, cut %d", name, cut).doesNotContain(leak);
                if (!name.contains("half")) {
                    assertThat(r.reports()).as("%s, cut %d", name, cut).isNotEmpty();
                }
            }
        }
    }
}
