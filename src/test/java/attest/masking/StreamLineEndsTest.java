package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SSE grammar allows CRLF, CR or LF line ends. An event masking rewrites went out with LF whatever the upstream
 * used, so a CRLF stream came out with CRLF (unchanged events) and LF (masked events) mixed: a strict client that
 * splits on the stream's own line end saw one huge event, or none. A rewritten event now keeps the line end of the event
 * it replaces (held text released on its own, the stream's); NDJSON lines the same.
 */
class StreamLineEndsTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final ObjectMapper JSON = new ObjectMapper();

    static String chunk(String content, String finish, String logprobs) {
        return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1764540000,"
                + "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"logprobs\":"
                + logprobs + ",\"finish_reason\":" + finish + "}]}\n\n";
    }

    static String stream() {
        return ": keep-alive\n\n" + "id: 1\nevent: message\n" + chunk("Hello. Your card is 4111 1111", "null", "null")
                + chunk(" 1111 1111, and jane.doe@exa", "null", "null")
                + chunk("mple.com is your mail.", "null", "null")
                + chunk("SSN 536-90-", "null", "null") + chunk("4399", "\"stop\"", "null") + "data: [DONE]\n\n";
    }

    static String run(String contentType, String body, int size) {
        AnswerMasker.Streaming s = AnswerMasker.streaming(contentType, MASKER, r -> { });
        byte[] all = body.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < all.length; i += size) {
            out.writeBytes(s.push(Arrays.copyOfRange(all, i, Math.min(all.length, i + size))));
        }
        out.writeBytes(s.finish());
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * A strict SSE reader: lines end only in {@code eol} (any other CR or LF is an error), events end at an empty line,
     * fields are {@code data}, {@code event}, {@code id}, {@code retry} or comments. Returns the joined content deltas.
     */
    static String strictRead(String body, String eol) throws Exception {
        String other = eol.equals("\r\n") ? null : eol.equals("\n") ? "\r" : "\n";
        String stripped = body.replace(eol, "");
        if (other != null) {
            assertThat(stripped).as("only %s line ends", eol.replace("\r", "CR").replace("\n", "LF"))
                    .doesNotContain(other);
        }
        assertThat(stripped).as("no line end but the stream's").doesNotContain("\r").doesNotContain("\n");
        assertThat(body).endsWith(eol + eol);
        StringBuilder text = new StringBuilder();
        for (String event : body.substring(0, body.length() - 2 * eol.length()).split(java.util.regex.Pattern.quote(eol + eol), -1)) {
            StringBuilder data = null;
            for (String line : event.split(java.util.regex.Pattern.quote(eol), -1)) {
                assertThat(line).as("a field line in %s", event).isNotEmpty();
                if (line.startsWith(":")) {
                    continue;
                }
                int colon = line.indexOf(':');
                assertThat(colon).as(line).isPositive();
                String field = line.substring(0, colon);
                assertThat(field).isIn("data", "event", "id", "retry");
                if (field.equals("data")) {
                    String v = line.substring(colon + 1).stripLeading();
                    data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
                }
            }
            if (data != null && !data.toString().equals("[DONE]")) {
                JsonNode json = JSON.readTree(data.toString());
                text.append(json.at("/choices/0/delta/content").asText(""));
            }
        }
        return text.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"\r\n", "\r", "\n"})
    void should_keep_the_upstreams_line_end_on_masked_events(String eol) throws Exception {
        String body = stream().replace("\n", eol);
        for (int size : new int[] {body.length(), 1, 7, 64}) {
            String out = run("text/event-stream", body, size);
            String text = strictRead(out, eol);
            assertThat(text).as("pieces of %d", size).isEqualTo(
                    "Hello. Your card is [CARD], and [EMAIL] is your mail.SSN [SSN]");
            assertThat(out.replaceAll("[^0-9]", "")).doesNotContain("41111111").doesNotContain("536904399");
        }
    }

    /** Held text released on its own (at [DONE], or at the end) is framed with the stream's line end too. */
    @ParameterizedTest
    @ValueSource(strings = {"\r\n", "\r"})
    void should_frame_text_released_on_its_own_with_the_streams_line_end(String eol) throws Exception {
        String body = (chunk("card 4111 1111 1111 1111", "null", "null") + "data: [DONE]\n\n").replace("\n", eol);
        String out = run("text/event-stream", body, 5);
        assertThat(strictRead(out, eol)).isEqualTo("card [CARD]");
        // no [DONE]: the stream's end releases it
        String cut = (chunk("card 4111 1111 1111 1111", "null", "null")).replace("\n", eol);
        assertThat(strictRead(run("text/event-stream", cut, 3), eol)).isEqualTo("card [CARD]");
    }

    @ParameterizedTest
    @ValueSource(strings = {"\r\n", "\n"})
    void should_keep_the_upstreams_line_end_on_masked_ndjson_lines(String eol) throws Exception {
        String body = ("{\"message\":{\"content\":\"card 4111 1111\"},\"done\":false}\n"
                + "{\"message\":{\"content\":\" 1111 1111 ok\"},\"done\":false}\n"
                + "{\"message\":{\"content\":\"\"},\"done\":true}\n").replace("\n", eol);
        for (int size : new int[] {body.length(), 1, 9}) {
            String out = run("application/x-ndjson", body, size);
            assertThat(out.replace(eol, "")).doesNotContain("\r").doesNotContain("\n");
            List<String> lines = new ArrayList<>(Arrays.asList(out.split(java.util.regex.Pattern.quote(eol))));
            StringBuilder text = new StringBuilder();
            for (String line : lines) {
                text.append(JSON.readTree(line).at("/message/content").asText());
            }
            assertThat(text.toString()).as("pieces of %d", size).isEqualTo("card [CARD] ok");
        }
    }
}
