package attest.masking;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A hostile upstream (or a compromised model server) must not make a stream masker hold without bound: a line with no
 * line end, an event with no blank line, events piling up behind a finishing chunk, text or logprobs held across
 * events. Past the masker's limit (4 MiB by default, {@code attest.masking.max-held-bytes}) the stream is cut, fail
 * closed ({@code MALFORMED_STREAM}/{@code cut}, the reason as its detector), and nothing of what was held goes out.
 */
class StreamBoundsTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final int DEFAULT_LIMIT = 4 * 1024 * 1024;
    static final String SSE = "text/event-stream";
    static final String NDJSON = "application/x-ndjson";

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Pushes {@code piece} until the masker refuses the stream, at most {@code max} bytes in all; returns what it
     * released before and asserts that it did refuse, and why.
     */
    static String pushUntilCut(AnswerMasker.Streaming s, byte[] first, byte[] piece, long max, List<Redaction> reports,
                               String why) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(s.push(first));
        long pushed = first.length;
        MaskingFailedException cut = null;
        while (pushed < max) {
            try {
                out.writeBytes(s.push(piece));
            } catch (MaskingFailedException e) {
                cut = e;
                break;
            }
            pushed += piece.length;
        }
        assertThat(cut).as("cut before %d bytes", max).isNotNull();
        assertThat(pushed).as("not cut before the limit").isGreaterThanOrEqualTo(DEFAULT_LIMIT - piece.length);
        assertThat(reports).extracting(Redaction::entityType, Redaction::action, Redaction::detector)
                .contains(org.assertj.core.groups.Tuple.tuple(StreamShape.ENTITY, StreamShape.ACTION, why));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void should_cut_an_sse_line_that_never_ends() {
        List<Redaction> reports = new ArrayList<>();
        AnswerMasker.Streaming s = AnswerMasker.streaming(SSE, MASKER, reports::add);
        String out = pushUntilCut(s, utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 "),
                utf8("a".repeat(64 * 1024)), 3L * DEFAULT_LIMIT, reports, "event_too_long");
        assertThat(out).isEmpty();
    }

    @Test
    void should_cut_an_sse_event_of_many_lines_that_never_ends() {
        List<Redaction> reports = new ArrayList<>();
        AnswerMasker.Streaming s = AnswerMasker.streaming(SSE, MASKER, reports::add);
        String out = pushUntilCut(s, utf8("data: {}\n\n"), utf8(("data: " + "b".repeat(1000) + "\n").repeat(64)),
                3L * DEFAULT_LIMIT, reports, "event_too_long");
        assertThat(out).isEqualTo("data: {}\n\n");
    }

    @Test
    void should_cut_an_ndjson_line_that_never_ends() {
        List<Redaction> reports = new ArrayList<>();
        AnswerMasker.Streaming s = AnswerMasker.streaming(NDJSON, MASKER, reports::add);
        String out = pushUntilCut(s, utf8("{\"response\":\"ok\"}\n{\"response\":\"ssn 536-90-"),
                utf8("c".repeat(64 * 1024)), 3L * DEFAULT_LIMIT, reports, "line_too_long");
        assertThat(out).doesNotContain("536");
    }

    /** A finishing chunk waits for the next event; comments (no event to a client) pile up behind it without end. */
    @Test
    void should_cut_blocks_that_pile_up_behind_a_finishing_chunk() {
        List<Redaction> reports = new ArrayList<>();
        AnswerMasker.Streaming s = AnswerMasker.streaming(SSE, MASKER, reports::add);
        String out = pushUntilCut(s, utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111\"},"
                        + "\"finish_reason\":\"stop\"}]}\n\n"), utf8((": " + "k".repeat(1000) + "\n\n").repeat(64)),
                3L * DEFAULT_LIMIT, reports, "held_events_too_long");
        assertThat(out).doesNotContain("4111");
    }

    /**
     * Every choice, tool call or item is a text of its own, each holding up to 8 KiB of digits that may still become an
     * entity: a hostile upstream opens text after text, and the masker held them all.
     */
    @Test
    void should_cut_text_held_across_many_texts() {
        List<Redaction> reports = new ArrayList<>();
        AnswerMasker.Streaming s = AnswerMasker.streaming(SSE, MASKER, reports::add);
        String digits = "4111 ".repeat(1600);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MaskingFailedException cut = null;
        long pushed = 0;
        for (int k = 0; k < 2000 && cut == null; k++) {
            byte[] event = utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":" + k
                    + ",\"function\":{\"arguments\":\"" + digits + "\"}}]}}]}\n\n");
            try {
                out.writeBytes(s.push(event));
            } catch (MaskingFailedException e) {
                cut = e;
            }
            pushed += event.length;
        }
        assertThat(cut).isNotNull();
        assertThat(pushed).isGreaterThan(DEFAULT_LIMIT / 2);
        assertThat(reports).extracting(Redaction::entityType, Redaction::detector)
                .contains(org.assertj.core.groups.Tuple.tuple(StreamShape.ENTITY, "held_text_too_long"));
    }

    /** Logprobs wait for the text they belong to: a held text with large logprobs on every token held them all. */
    @Test
    void should_cut_logprobs_that_wait_without_end() {
        List<Redaction> reports = new ArrayList<>();
        AnswerMasker.Streaming s = AnswerMasker.streaming(SSE, MASKER, reports::add);
        String top = ("{\"token\":\"" + "z".repeat(40) + "\",\"logprob\":-9.5,\"bytes\":null},").repeat(200);
        top = top.substring(0, top.length() - 1);
        MaskingFailedException cut = null;
        long pushed = 0;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int k = 0; k < 2000 && cut == null; k++) {
            byte[] event = utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"4 \"},\"logprobs\":{\"content\":"
                    + "[{\"token\":\"4 \",\"logprob\":-0.1,\"bytes\":[52,32],\"top_logprobs\":[" + top + "]}]},"
                    + "\"finish_reason\":null}]}\n\n");
            try {
                out.writeBytes(s.push(event));
            } catch (MaskingFailedException e) {
                cut = e;
            }
            pushed += event.length;
        }
        assertThat(cut).isNotNull();
        assertThat(reports).extracting(Redaction::entityType, Redaction::detector)
                .contains(org.assertj.core.groups.Tuple.tuple(StreamShape.ENTITY, "held_text_too_long"));
        assertThat(pushed).isGreaterThan(DEFAULT_LIMIT / 2);
    }

    /** A limit set lower is the one that holds; a stream that stays under it is not cut. */
    @Test
    void should_honour_a_configured_limit_and_leave_streams_under_it_alone() {
        Masker small = MASKER.withStreamLimit(64 * 1024);
        List<Redaction> reports = new ArrayList<>();
        AnswerMasker.Streaming s = AnswerMasker.streaming(NDJSON, small, reports::add);
        s.push(utf8("{\"response\":\"" + "d".repeat(60 * 1024)));
        assertThatThrownBy(() -> s.push(utf8("e".repeat(8 * 1024)))).isInstanceOf(MaskingFailedException.class);

        List<Redaction> clean = new ArrayList<>();
        AnswerMasker.Streaming ok = AnswerMasker.streaming(SSE, small, clean::add);
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 200; i++) { // 200 events of 1 KiB: far more than the limit in all, each well under it
            all.append(new String(ok.push(utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                    + "word ".repeat(200) + "\"},\"finish_reason\":null}]}\n\n")), StandardCharsets.UTF_8));
        }
        all.append(new String(ok.push(utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111 "
                + "1111 1111\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")), StandardCharsets.UTF_8));
        all.append(new String(ok.finish(), StandardCharsets.UTF_8));
        assertThat(clean).noneMatch(r -> r.entityType().equals(StreamShape.ENTITY));
        assertThat(all.toString()).contains("[CARD]").doesNotContain("4111").endsWith("data: [DONE]\n\n");
        assertThat(Arrays.asList(all.toString().split("\n\n"))).hasSize(202);
    }
}
