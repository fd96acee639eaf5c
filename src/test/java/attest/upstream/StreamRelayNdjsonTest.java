package attest.upstream;

import attest.evidence.Outcome;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static attest.upstream.StreamRelayBreakOffTest.Body;
import static attest.upstream.StreamRelayBreakOffTest.assertEvidenceMatches;
import static attest.upstream.StreamRelayBreakOffTest.caller;
import static attest.upstream.StreamRelayBreakOffTest.dechunk;
import static attest.upstream.StreamRelayBreakOffTest.masked;
import static attest.upstream.StreamRelayBreakOffTest.push;
import static attest.upstream.StreamRelayBreakOffTest.utf8;
import static attest.upstream.StreamRelayBreakOffTest.wire;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * A hostile review of NDJSON relayed live (Ollama's native API: one JSON object a line, {@code message.content} or
 * {@code response}, a last line with {@code "done": true}), wired as in the gateway: the NDJSON masker as the relay's
 * transform, camel-netty-http's chunked writer and Netty's encoder on the caller's channel; the assertions read the
 * wire bytes and the stream's evidence.
 */
class StreamRelayNdjsonTest {
    static final String NDJSON = "application/x-ndjson";
    /** This class's own watch (StreamRelayBreakOffTest stops its own when it is done). */
    static final java.util.concurrent.ScheduledExecutorService WATCH =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ndjson-relay-watch");
                t.setDaemon(true);
                return t;
            });

    @org.junit.jupiter.api.AfterAll
    static void stop() {
        WATCH.shutdownNow();
    }

    static String chat(String content, boolean done) {
        return "{\"model\":\"llama3\",\"created_at\":\"2026-11-30T20:00:00Z\",\"message\":{\"role\":\"assistant\","
                + "\"content\":" + com.fasterxml.jackson.databind.node.TextNode.valueOf(content) + "},\"done\":" + done
                + (done ? ",\"done_reason\":\"stop\",\"prompt_eval_count\":12,\"eval_count\":34" : "") + "}\n";
    }

    /** The joined message contents of an Ollama chat stream, as its client joins them (every line parsed). */
    static String text(String body) throws Exception {
        StringBuilder t = new StringBuilder();
        for (String line : body.split("\n")) {
            if (!line.isBlank()) {
                t.append(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).path("message").path("content").asText());
            }
        }
        return t.toString();
    }

    /** No piece of the card, the e-mail or the SSN, however a reader joins what it got. */
    static void assertClean(String body) {
        String compact = body.replaceAll("[^0-9A-Za-z@.]", "");
        assertThat(compact).doesNotContain("41111111").doesNotContain("11111111").doesNotContain("536904399")
                .doesNotContain("jane.doe").doesNotContain("@example");
    }

    /** {@link StreamRelayBreakOffTest#deliver}, without polling: the upstream side has ended on this thread. */
    static byte[] deliver(StreamRelay relay, EmbeddedChannel ch, boolean committed) {
        ch.writeAndFlush(new StreamingHttpResponse(200, Map.of("Content-Type", NDJSON), relay));
        for (int i = 0; i < 1000 && !relay.ended().isDone(); i++) {
            ch.runPendingTasks();
        }
        assertThat(relay.ended()).isDone();
        relay.release(committed);
        ch.runPendingTasks();
        return wire(ch);
    }

    static StreamRelay completed(List<String> reports, byte[]... pieces) {
        StreamRelay relay = masked(NDJSON, reports);
        push(relay, pieces);
        relay.onComplete();
        return relay;
    }

    /**
     * A card and an e-mail each split across two lines' contents, the whole stream then cut into two TCP pieces at
     * every byte: the caller's bytes never hold a piece of either, the text reads as masked, the stream ends with its
     * terminating chunk, and the evidence is exactly the wire.
     */
    @Test
    void should_mask_entities_split_across_lines_and_chunks_at_every_split_point() throws Exception {
        byte[] all = utf8(chat("Your card is 4111 1111", false) + chat(" 1111 1111, mail jane.doe@exa", false)
                + chat("mple.com and ssn 536-90-", false) + chat("4399. Bye.", false) + chat("", true));
        for (int cut = 1; cut < all.length; cut++) {
            List<String> reports = new ArrayList<>();
            StreamRelay relay = masked(NDJSON, reports);
            EmbeddedChannel ch = caller();
            relay.bind(ch, WATCH, Duration.ofSeconds(30));
            push(relay, Arrays.copyOf(all, cut), Arrays.copyOfRange(all, cut, all.length));
            relay.onComplete();

            Body got = dechunk(deliver(relay, ch, true));
            String body = new String(got.bytes(), StandardCharsets.UTF_8);

            assertClean(body);
            assertThat(text(body)).as("cut at %d", cut).isEqualTo("Your card is [CARD], mail [EMAIL] and ssn [SSN]. Bye.");
            assertThat(got.terminated()).isTrue();
            assertThat(relay.ended().join().outcome()).isEqualTo(Outcome.COMPLETED);
            assertEvidenceMatches(relay.ended().join(), got.bytes());
            assertThat(reports).contains("CARD:redact@/message/content", "EMAIL:redact@/message/content",
                    "SSN:redact@/message/content");
        }
    }

    /**
     * The stream stays a stream: a line whose text can no longer be part of an entity reaches the caller's socket as
     * soon as it arrives, before the upstream sends the next one; text that may still grow into an entity is held.
     */
    @Test
    void should_release_a_line_to_the_caller_before_the_next_arrives() throws Exception {
        StreamRelay relay = masked(NDJSON, new ArrayList<>());
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        ch.writeAndFlush(new StreamingHttpResponse(200, Map.of("Content-Type", NDJSON), relay));
        ch.runPendingTasks();

        push(relay, utf8(chat("Hello there. ", false)));
        ch.runPendingTasks();
        String first = new String(wire(ch), StandardCharsets.ISO_8859_1);
        assertThat(first).contains("HTTP/1.1 200").contains("Hello there. ");

        push(relay, utf8(chat("Card 4111 1111", false)));
        ch.runPendingTasks();
        String second = new String(wire(ch), StandardCharsets.ISO_8859_1);
        assertThat(second).contains("Card ").doesNotContain("4111");

        push(relay, utf8(chat(" 1111 1111.", false)), utf8(chat("", true)));
        relay.onComplete();
        ch.runPendingTasks();
        assertThat(relay.ended()).isDone();
        relay.release(true);
        ch.runPendingTasks();
        String rest = new String(wire(ch), StandardCharsets.UTF_8);
        assertThat(rest).contains("[CARD]").doesNotContain("1111").endsWith("0\r\n\r\n");
    }

    /** A character split between TCP pieces (every byte of a 2-, 3- and 4-byte character) is decoded whole. */
    @Test
    void should_decode_a_character_split_between_pieces_whole() throws Exception {
        byte[] all = utf8(chat("Grüße 你好 😀 an jane.doe@example.com, danke.", false) + chat("", true));
        String expected = "Grüße 你好 😀 an [EMAIL], danke.";
        for (int cut = 1; cut < all.length; cut++) {
            StreamRelay relay = masked(NDJSON, new ArrayList<>());
            EmbeddedChannel ch = caller();
            relay.bind(ch, WATCH, Duration.ofSeconds(30));
            push(relay, Arrays.copyOf(all, cut), Arrays.copyOfRange(all, cut, all.length));
            relay.onComplete();

            Body got = dechunk(deliver(relay, ch, true));
            String body = new String(got.bytes(), StandardCharsets.UTF_8);
            assertThat(body).doesNotContain("\uFFFD");
            assertThat(text(body)).as("cut at %d", cut).isEqualTo(expected);
            assertEvidenceMatches(relay.ended().join(), got.bytes());
        }
    }

    /**
     * A line of 800 KiB in 1 KiB pieces, an e-mail split across two of them and a card at its end: masked, and in linear
     * time (the line is searched for its end only in the bytes that arrive, not from its start on every piece).
     */
    @Test
    void should_mask_a_very_long_line_in_linear_time() throws Exception {
        String filler = "lorem ipsum ".repeat(400 * 1024 / 12); // the line fits the capture (1 MiB), as checked
        byte[] all = utf8(chat(filler + "mail jane.doe@example.com " + filler + "card 4111 1111 1111 1111", false)
                + chat("", true));
        List<byte[]> pieces = new ArrayList<>();
        for (int i = 0; i < all.length; i += 1024) {
            pieces.add(Arrays.copyOfRange(all, i, Math.min(all.length, i + 1024)));
        }
        List<String> reports = new ArrayList<>();
        StreamRelay relay = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> completed(reports, pieces.toArray(byte[][]::new)));
        StreamEnd end = relay.ended().join();
        String body = new String(end.captured(), StandardCharsets.UTF_8);
        assertThat(end.truncated()).isFalse();
        assertThat(body.contains("jane.doe") || body.contains("4111")).as("an entity went out").isFalse();
        assertThat(body.contains("mail [EMAIL] ")).as("the e-mail masked in place").isTrue();
        // the card touches the line's text end: it is held for the next line (the done line), then masked there
        assertThat(body.contains("\"content\":\"[CARD]\"},\"done\":true")).as("the card masked").isTrue();
        assertThat(reports).contains("EMAIL:redact@/message/content", "CARD:redact@/message/content");
    }

    /**
     * An upstream that says NDJSON but sends lines that are not JSON (plain text, lines cut short) with a card, an e-mail
     * and an SSN split across them: never passed raw, masked as the stream's text. JSON with text behind it is no
     * NDJSON line a reader agrees on: the stream is cut there (masking_failed), the half held before it not released.
     */
    @Test
    void should_mask_lines_that_are_not_json_under_an_ndjson_label() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = completed(reports, utf8("Your card is 4111 1111\n"), utf8(" 1111 1111 and mail jane.doe"),
                utf8("@example.com\n{\"response\":\"ssn 536-90-\"\n"), utf8("{\"response\":\"4399 ok\"\n"),
                utf8("<html>error 4111-1111-1111-1111</html>\n"));
        StreamEnd end = relay.ended().join();
        String body = new String(end.captured(), StandardCharsets.UTF_8);
        assertClean(body);
        assertThat(body).contains("[CARD]").contains("[EMAIL]").contains("<html>error ");
        assertThat(end.outcome()).isEqualTo(Outcome.COMPLETED);

        List<String> cutReports = new ArrayList<>();
        StreamRelay cut = completed(cutReports, utf8("{\"response\":\"ssn 536-90-\"}\n"),
                utf8("{\"response\":\"4399 ok\"} trailing\n"), utf8("{\"response\":\"more\"}\n"));
        StreamEnd cutEnd = cut.ended().join();
        String cutBody = new String(cutEnd.captured(), StandardCharsets.UTF_8);
        assertThat(cutEnd.outcome()).isEqualTo(Outcome.MASKING_FAILED);
        assertThat(cutBody).doesNotContain("536").doesNotContain("4399").doesNotContain("more");
        assertThat(cutReports).contains("MALFORMED_STREAM:cut@ndjson-line");
    }

    /**
     * The upstream breaks off mid-line, in the middle of a character, half an e-mail held from the line before: the
     * whole lines go out masked, the cut line and the held half do not, the caller's connection is cut without the
     * terminating chunk, the drops are reported and the evidence is exactly the wire.
     */
    @Test
    void should_cut_at_a_break_off_mid_line_and_record_exactly_what_went_out() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked(NDJSON, reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        byte[] cut = utf8(chat("ample.com für dich", false));
        int inside = new String(cut, StandardCharsets.UTF_8).indexOf("ü") + 1;
        push(relay, utf8(chat("Hello. ", false)), utf8(chat("Mail jane.doe@ex", false)), Arrays.copyOf(cut, inside));
        relay.onError(new java.io.IOException("reset"));

        Body got = dechunk(deliver(relay, ch, true));
        String body = new String(got.bytes(), StandardCharsets.UTF_8);

        assertThat(got.terminated()).isFalse();
        assertThat(ch.isOpen()).isFalse();
        assertClean(body);
        assertThat(body).doesNotContain("\uFFFD").doesNotContain("ample.com").doesNotContain("jane");
        assertThat(text(body)).isEqualTo("Hello. Mail ");
        assertThat(relay.ended().join().outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
        assertEvidenceMatches(relay.ended().join(), got.bytes());
        assertThat(reports).contains("HELD_TEXT:drop@ndjson-line");
        assertThat(reports.stream().filter(r -> r.contains(":drop@/message/content")).count()).isPositive();
    }

    /**
     * A caller that reads slowly: once the queue passes the high-water mark the upstream is asked for nothing more
     * (backpressure), and asked again once the caller has taken enough; everything arrives, in order, masked.
     */
    @Test
    void should_stop_asking_the_upstream_while_a_slow_caller_falls_behind() throws Exception {
        AtomicLong requested = new AtomicLong();
        StreamRelay relay = masked(NDJSON, new ArrayList<>());
        relay.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
                requested.addAndGet(n);
            }

            @Override
            public void cancel() {
            }
        });
        EmbeddedChannel ch = new EmbeddedChannel(new io.netty.channel.ChannelInboundHandlerAdapter());
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        String word = "x".repeat(1000) + ". ";
        int lines = 0;
        long before;
        do { // each line is handed on as the upstream asks for more; the caller takes nothing meanwhile
            before = requested.get();
            relay.onNext(List.of(ByteBuffer.wrap(utf8(chat(word, false)))));
            lines++;
        } while (requested.get() > before && lines < 10_000);
        assertThat(lines).as("the upstream was never paused").isLessThan(10_000).isGreaterThan(200);
        long paused = requested.get();

        StringBuilder got = new StringBuilder();
        io.netty.handler.codec.http.HttpContent c;
        while ((c = relay.readChunk(io.netty.buffer.ByteBufAllocator.DEFAULT)) != null) {
            got.append(c.content().toString(StandardCharsets.UTF_8));
            c.release();
        }
        assertThat(requested.get()).as("asked again once the caller caught up").isGreaterThan(paused);
        relay.onNext(List.of(ByteBuffer.wrap(utf8(chat("mail jane.doe@example.com.", false) + chat("", true)))));
        relay.onComplete();
        while ((c = relay.readChunk(io.netty.buffer.ByteBufAllocator.DEFAULT)) != null) {
            got.append(c.content().toString(StandardCharsets.UTF_8));
            c.release();
        }
        Matcher m = Pattern.compile("\"content\":\"(x+)\\. \"").matcher(got);
        int n = 0;
        while (m.find()) {
            n++;
        }
        assertThat(n).isEqualTo(lines);
        assertThat(got.toString()).contains("\"mail \"").contains("\"[EMAIL].\"").doesNotContain("jane.doe");
        StreamEnd end = relay.ended().join();
        assertThat(end.outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(end.size()).isEqualTo(got.toString().getBytes(StandardCharsets.UTF_8).length);
    }

    /**
     * JSON text sequences (RFC 7464, {@code application/json-seq}): each record starts with a record separator, which a
     * reader splits on; a record masking rewrites keeps it, so the caller's reader still sees one record per line.
     */
    @Test
    void should_keep_the_record_separator_of_a_json_sequence_record_it_rewrites() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("application/json-seq", reports);
        push(relay, utf8("\u001e{\"response\":\"Hello. \"}\n\u001e{\"response\":\"mail jane.doe@example.com. Bye.\"}\n"
                + "\u001e{\"response\":\"\",\"done\":true}\n"));
        relay.onComplete();
        String body = new String(relay.ended().join().captured(), StandardCharsets.UTF_8);
        assertThat(body).doesNotContain("jane.doe").contains("[EMAIL]");
        for (String record : body.split("\n")) {
            assertThat(record).as("every record keeps its separator: %s", body).startsWith("\u001e");
        }
    }

    /**
     * The upstream goes silent mid-stream, half a card held: after the idle timeout the stream ends as a timeout, the
     * caller gets the lines masking released and a cut, never the half card; the evidence is the wire.
     */
    @Test
    void should_end_a_silent_ndjson_stream_at_the_idle_timeout_without_the_held_half_card() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked(NDJSON, reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofMillis(300));
        push(relay, utf8(chat("Hello. ", false)), utf8(chat("card 4111 1111", false)));
        ch.writeAndFlush(new StreamingHttpResponse(200, Map.of("Content-Type", NDJSON), relay));

        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
            ch.runPendingTasks();
            return relay.ended().isDone();
        });
        relay.release(true);
        ch.runPendingTasks();
        Body got = dechunk(wire(ch));
        String body = new String(got.bytes(), StandardCharsets.UTF_8);

        assertThat(relay.ended().join().outcome()).isEqualTo(Outcome.TIMEOUT);
        assertThat(got.terminated()).isFalse();
        assertThat(text(body)).isEqualTo("Hello. card ");
        assertThat(body).doesNotContain("4111");
        assertEvidenceMatches(relay.ended().join(), got.bytes());
        assertThat(reports).contains("HELD_TEXT:drop@/message/content");
    }

    /** The caller goes away mid-stream: client_aborted, the upstream is cancelled, only what it was handed counts. */
    @Test
    void should_record_only_what_was_handed_over_when_the_ndjson_caller_goes_away() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean cancelled = new java.util.concurrent.atomic.AtomicBoolean();
        StreamRelay relay = masked(NDJSON, new ArrayList<>());
        relay.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
            }

            @Override
            public void cancel() {
                cancelled.set(true);
            }
        });
        EmbeddedChannel ch = new EmbeddedChannel(new io.netty.channel.ChannelInboundHandlerAdapter());
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, utf8(chat("one. ", false)), utf8(chat("two. ", false)));
        io.netty.handler.codec.http.HttpContent c = relay.readChunk(io.netty.buffer.ByteBufAllocator.DEFAULT);
        byte[] handed = new byte[c.content().readableBytes()];
        c.content().readBytes(handed);
        c.release();
        ch.close();

        StreamEnd end = relay.ended().join();
        assertThat(end.outcome()).isEqualTo(Outcome.CLIENT_ABORTED);
        assertThat(cancelled).isTrue();
        assertEvidenceMatches(end, handed);
        assertThat(new String(handed, StandardCharsets.UTF_8)).contains("one. ").doesNotContain("two. ");
    }
}
