package attest.upstream;

import attest.evidence.Outcome;
import attest.masking.Action;
import attest.masking.AnswerMasker;
import attest.masking.Masker;
import attest.masking.MaskingEngine;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponseEncoder;
import org.apache.camel.component.netty.http.handlers.HttpOutboundStreamHandler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A hostile review of what the caller's socket gets, and what the stream's evidence says it got, when a masked stream
 * does not complete: the upstream breaks off mid-entity, right after a finishing chunk, mid-character, mid-line, with an
 * error event waiting, with many small pieces still queued for a slow caller; the caller goes away; the caller stalls.
 * The relay is wired as in the gateway: the real stream masker as its transform, camel-netty-http's chunked writer and
 * Netty's HTTP encoder on the caller's channel, so the assertions read the wire bytes.
 */
class StreamRelayBreakOffTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final ScheduledExecutorService WATCH = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "relay-watch");
        t.setDaemon(true);
        return t;
    });
    static final Flow.Subscription NONE = new Flow.Subscription() {
        @Override
        public void request(long n) {
        }

        @Override
        public void cancel() {
        }
    };

    @AfterAll
    static void stop() {
        WATCH.shutdownNow();
    }

    /** A relay with the gateway's masking transform for {@code contentType}; redactions go to {@code reports}. */
    static StreamRelay masked(String contentType, List<String> reports) {
        StreamRelay relay = new StreamRelay(Clock.systemUTC(), 1 << 20);
        AnswerMasker.Streaming m = AnswerMasker.streaming(contentType, MASKER,
                r -> reports.add(r.entityType() + ":" + r.action() + "@" + r.location()));
        relay.transform(new StreamRelay.Transform() {
            @Override
            public byte[] push(byte[] raw) {
                return m.push(raw);
            }

            @Override
            public byte[] finish() {
                return m.finish();
            }

            @Override
            public byte[] abandon() {
                return m.abandon();
            }
        });
        relay.onSubscribe(NONE);
        return relay;
    }

    /** The caller's connection: the HTTP encoder and camel-netty-http's chunked writer, as the gateway has them. */
    static EmbeddedChannel caller() {
        return new EmbeddedChannel(new HttpResponseEncoder(), new HttpOutboundStreamHandler());
    }

    static void push(StreamRelay relay, byte[]... pieces) {
        for (byte[] p : pieces) {
            relay.onNext(List.of(ByteBuffer.wrap(p)));
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String chunk(String content, String finish) {
        return "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content
                + "\"},\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]}\n\n";
    }

    /** Everything written on the caller's socket so far, as bytes. */
    static byte[] wire(EmbeddedChannel ch) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            ByteBuf b = (ByteBuf) o;
            byte[] a = new byte[b.readableBytes()];
            b.readBytes(a);
            out.writeBytes(a);
            b.release();
        }
        return out.toByteArray();
    }

    /** What an HTTP/1.1 caller reads from a chunked response: the body, and whether its terminating chunk came. */
    record Body(byte[] bytes, boolean terminated) {
    }

    static Body dechunk(byte[] wire) {
        String all = new String(wire, StandardCharsets.ISO_8859_1);
        int at = all.indexOf("\r\n\r\n") + 4;
        assertThat(all).startsWith("HTTP/1.1 200").containsIgnoringCase("transfer-encoding: chunked");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (at < wire.length) {
            int eol = all.indexOf("\r\n", at);
            int n = Integer.parseInt(all.substring(at, eol).trim(), 16);
            if (n == 0) {
                assertThat(all.substring(eol)).isEqualTo("\r\n\r\n");
                return new Body(body.toByteArray(), true);
            }
            body.write(wire, eol + 2, n);
            at = eol + 2 + n + 2;
        }
        return new Body(body.toByteArray(), false);
    }

    /** The joined delta content of a chat stream's chunks, as a client reads it. */
    static String text(String body) {
        StringBuilder text = new StringBuilder();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"content\":\"([^\"]*)\"").matcher(body);
        while (m.find()) {
            text.append(m.group(1));
        }
        return text.toString();
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** The evidence of the stream says exactly what the caller's socket got. */
    static void assertEvidenceMatches(StreamEnd end, byte[] delivered) throws Exception {
        assertThat(end.size()).isEqualTo(delivered.length);
        assertThat(end.sha256()).isEqualTo(sha256(delivered));
        assertThat(end.captured()).isEqualTo(delivered);
        assertThat(end.truncated()).isFalse();
    }

    /**
     * Starts the caller's response (its chunked writer pulls what is queued), settles the evidence as the gateway does
     * (committed, then released), and returns what the caller's socket got in all.
     */
    static byte[] deliver(StreamRelay relay, EmbeddedChannel ch, boolean committed) {
        ch.writeAndFlush(new StreamingHttpResponse(200, Map.of("Content-Type", "text/event-stream"), relay));
        ch.runPendingTasks();
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            ch.runPendingTasks();
            return relay.ended().isDone();
        });
        relay.release(committed);
        ch.runPendingTasks();
        return wire(ch);
    }

    /**
     * The upstream breaks off while half a card is held and many small pieces are still queued for a caller that has
     * not taken them yet: the caller gets every queued piece, in order, then the connection is closed without the
     * terminating chunk; the half card never goes out, and the report says text was dropped; the evidence (waiting for
     * the caller to be handed the queue) is exactly the bytes on the caller's socket.
     */
    @Test
    void should_deliver_every_queued_piece_then_cut_and_record_exactly_that() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("text/event-stream", reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        StringBuilder sent = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            String word = "w" + i + " ";
            sent.append(word);
            push(relay, utf8(chunk(word, null)));
        }
        push(relay, utf8(chunk("card 4111 1111", null)));
        relay.onError(new java.io.IOException("connection reset"));
        // the caller has not taken the queue yet: the evidence waits for it, nothing is dropped meanwhile
        assertThat(relay.ended()).isNotDone();

        byte[] w = deliver(relay, ch, true);

        Body got = dechunk(w);
        String body = new String(got.bytes(), StandardCharsets.UTF_8);
        assertThat(got.terminated()).as("a cut stream must not look complete").isFalse();
        assertThat(ch.isOpen()).isFalse();
        assertThat(relay.settled()).isDone();
        assertThat(body).doesNotContain("4111").contains("card ");
        assertThat(text(body)).isEqualTo(sent + "card ");
        StreamEnd end = relay.ended().join();
        assertThat(end.outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
        assertEvidenceMatches(end, got.bytes());
        assertThat(reports).containsExactly("HELD_TEXT:drop@/choices/0/delta/content");
    }

    /**
     * The upstream breaks off right after a finishing chunk (it waits for the next event, which never comes), with an
     * error event waiting behind it: the caller gets the finishing chunk with its final text masked, then the error.
     */
    @Test
    void should_deliver_a_waiting_finishing_chunk_and_error_event_masked_at_a_break_off() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("text/event-stream", reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, utf8(chunk("your card is 4111 1111", null)), utf8(chunk(" 1111 1111", "stop")),
                utf8("event: error\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n"));
        relay.onError(new java.io.IOException("idle"));

        Body got = dechunk(deliver(relay, ch, true));
        String body = new String(got.bytes(), StandardCharsets.UTF_8);

        assertThat(got.terminated()).isFalse();
        assertThat(body).doesNotContain("4111").doesNotContain(" 1111").contains("\"finish_reason\":\"stop\"");
        assertThat(text(body)).isEqualTo("your card is [CARD]");
        assertThat(body.indexOf("finish_reason\":\"stop")).isLessThan(body.indexOf("event: error"));
        assertThat(body).endsWith("event: error\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n");
        assertEvidenceMatches(relay.ended().join(), got.bytes());
        assertThat(reports).contains("CARD:redact@/choices/0/delta/content");
    }

    /**
     * The upstream breaks off in the middle of a multi-byte character of an event cut short: nothing of that event goes
     * out (an SSE client discards it), what went before does, whole characters only, and the drop is reported.
     */
    @Test
    void should_drop_an_event_cut_inside_a_character_and_report_it() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("text/event-stream", reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        byte[] next = utf8(chunk("Grüße an jane.doe@example.com", null));
        int inside = new String(next, StandardCharsets.UTF_8).indexOf("ü") + 1; // after the first byte of ü
        push(relay, utf8(chunk("Größe: ", null)), java.util.Arrays.copyOf(next, inside + 1));
        relay.onError(new java.io.IOException("truncated"));

        Body got = dechunk(deliver(relay, ch, true));
        String body = new String(got.bytes(), StandardCharsets.UTF_8);

        assertThat(body).doesNotContain("\uFFFD").doesNotContain("Gr\u00fc").contains("Größe: ");
        assertThat(new String(body.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)).isEqualTo(body);
        assertThat(got.terminated()).isFalse();
        assertEvidenceMatches(relay.ended().join(), got.bytes());
        assertThat(reports).contains("HELD_TEXT:drop@sse-event");
    }

    /**
     * NDJSON: the upstream breaks off mid-line, half a card held from the line before: the whole lines go out masked,
     * the line cut short and the held half card do not, and both drops are reported.
     */
    @Test
    void should_drop_an_ndjson_line_cut_short_and_the_held_half_card() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("application/x-ndjson", reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, utf8("{\"response\":\"mail jane.doe@example.com now. \",\"done\":false}\n"),
                utf8("{\"response\":\"card 4111 1111\",\"done\":false}\n{\"response\":\" 1111 11"));
        relay.onError(new java.io.IOException("reset"));

        Body got = dechunk(deliver(relay, ch, true));
        String body = new String(got.bytes(), StandardCharsets.UTF_8);

        assertThat(body).doesNotContain("4111").doesNotContain("jane.doe").doesNotContain(" 1111 11")
                .contains("[EMAIL]").contains("\"card \"");
        assertThat(got.terminated()).isFalse();
        assertEvidenceMatches(relay.ended().join(), got.bytes());
        assertThat(reports).contains("EMAIL:redact@/response", "HELD_TEXT:drop@/response", "HELD_TEXT:drop@ndjson-line");
    }

    /** NDJSON: a last line that is whole JSON though its line end never came goes out, masked. */
    @Test
    void should_deliver_a_whole_ndjson_line_whose_line_end_never_came() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("application/x-ndjson", reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, utf8("{\"response\":\"hello. \",\"done\":false}\n{\"response\":\"ssn 536-90-4399 ok. \","
                + "\"done\":false}"));
        relay.onError(new java.io.IOException("reset"));

        Body got = dechunk(deliver(relay, ch, true));
        String body = new String(got.bytes(), StandardCharsets.UTF_8);

        assertThat(body).contains("hello. ").contains("ssn [SSN] ok.").doesNotContain("536-90");
        assertEvidenceMatches(relay.ended().join(), got.bytes());
    }

    /**
     * The caller goes away while pieces are queued: nothing more can be delivered. The record keeps client_aborted and
     * counts only what was handed to the caller's connection, never the pieces dropped with it.
     */
    @Test
    void should_count_only_what_was_handed_over_when_the_caller_goes_away() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("text/event-stream", reports);
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter()); // taken by hand below
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, utf8(chunk("one ", null)), utf8(chunk("two ", null)), utf8(chunk("three ", null)),
                utf8(chunk("card 4111", null)));
        ByteArrayOutputStream handed = new ByteArrayOutputStream();
        for (int i = 0; i < 2; i++) { // the caller takes two pieces, then goes away
            HttpContent c = relay.readChunk(ByteBufAllocator.DEFAULT);
            byte[] a = new byte[c.content().readableBytes()];
            c.content().readBytes(a);
            handed.writeBytes(a);
            c.release();
        }
        ch.close();

        StreamEnd end = relay.ended().join();
        assertThat(end.outcome()).isEqualTo(Outcome.CLIENT_ABORTED);
        assertEvidenceMatches(end, handed.toByteArray());
        assertThat(new String(handed.toByteArray(), StandardCharsets.UTF_8)).contains("two ").doesNotContain("three");
        assertThat(reports).contains("HELD_TEXT:drop@/choices/0/delta/content");
    }

    /**
     * The upstream completes but the caller takes nothing of what is queued: after the idle timeout what it did not
     * take is dropped and not counted, the stream is recorded as a timeout, and the connection is cut after the record.
     */
    @Test
    void should_cut_a_caller_that_stalls_after_the_upstream_ended_and_count_only_what_it_took() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("text/event-stream", reports);
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        relay.bind(ch, WATCH, Duration.ofMillis(300));
        push(relay, utf8(chunk("one ", null)), utf8(chunk("two ", "stop")), utf8("data: [DONE]\n\n"));
        relay.onComplete();
        assertThat(relay.ended()).isNotDone();

        StreamEnd end = relay.ended().get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(end.outcome()).isEqualTo(Outcome.TIMEOUT);
        assertEvidenceMatches(end, new byte[0]);
        relay.release(true);
        ch.runPendingTasks();
        assertThat(ch.isOpen()).isFalse();
        assertThat(relay.settled()).isDone();
    }

    /** A stream that completes still ends with the terminating chunk, after its evidence, which matches the wire. */
    @Test
    void should_still_end_a_completed_stream_with_its_terminating_chunk() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("text/event-stream", reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, utf8(chunk("card 4111 1111", null)), utf8(chunk(" 1111 1111", "stop")), utf8("data: [DONE]\n\n"));
        relay.onComplete();

        Body got = dechunk(deliver(relay, ch, true));

        assertThat(got.terminated()).isTrue();
        assertThat(ch.isOpen()).isTrue();
        assertThat(text(new String(got.bytes(), StandardCharsets.UTF_8))).isEqualTo("card [CARD]");
        assertThat(relay.ended().join().outcome()).isEqualTo(Outcome.COMPLETED);
        assertEvidenceMatches(relay.ended().join(), got.bytes());
    }

    /** A completed stream whose evidence could not be committed is cut, never terminated as complete. */
    @Test
    void should_cut_a_completed_stream_whose_evidence_failed() throws Exception {
        StreamRelay relay = masked("text/event-stream", new ArrayList<>());
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, utf8(chunk("hello", "stop")), utf8("data: [DONE]\n\n"));
        relay.onComplete();

        Body got = dechunk(deliver(relay, ch, false));

        assertThat(got.terminated()).isFalse();
        assertThat(ch.isOpen()).isFalse();
        assertThat(new String(got.bytes(), StandardCharsets.UTF_8)).endsWith("data: [DONE]\n\n");
    }

    /**
     * The masker fails (or a block rule refuses the answer) while a finishing chunk waits in it, and the upstream's
     * cancel fails the upstream at once (its onError on the same thread): the stream is cut as masking_failed (or
     * blocked), never turned into a break-off, and nothing more of the masker's goes out, the waiting chunk included.
     */
    @Test
    void should_release_nothing_more_when_the_masker_fails_or_refuses() throws Exception {
        for (Outcome how : List.of(Outcome.MASKING_FAILED, Outcome.BLOCKED)) {
            List<String> reports = new ArrayList<>();
            StreamRelay relay = new StreamRelay(Clock.systemUTC(), 1 << 20);
            AnswerMasker.Streaming m = AnswerMasker.streaming("text/event-stream", MASKER,
                    r -> reports.add(r.entityType() + ":" + r.action()));
            relay.transform(new StreamRelay.Transform() {
                @Override
                public byte[] push(byte[] raw) {
                    if (new String(raw, StandardCharsets.UTF_8).contains("poison")) {
                        throw how.equals(Outcome.BLOCKED) ? new StreamRelay.Cut(how) : new IllegalStateException();
                    }
                    return m.push(raw);
                }

                @Override
                public byte[] finish() {
                    return m.finish();
                }

                @Override
                public byte[] abandon() {
                    return m.abandon();
                }
            });
            relay.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                }

                @Override
                public void cancel() {
                    relay.onError(new java.io.IOException("cancelled")); // as a transport that fails at once
                }
            });
            EmbeddedChannel ch = caller();
            relay.bind(ch, WATCH, Duration.ofSeconds(30));
            push(relay, utf8(chunk("hello ", null)), utf8(chunk("card 4111 1111 1111 1111", "stop")),
                    utf8("data: poison\n\n"));

            Body got = dechunk(deliver(relay, ch, true));
            String body = new String(got.bytes(), StandardCharsets.UTF_8);

            assertThat(relay.ended().join().outcome()).as(how.wire()).isEqualTo(how);
            assertThat(got.terminated()).isFalse();
            assertThat(body).as(how.wire()).contains("hello ").doesNotContain("finish_reason\":\"stop").doesNotContain("4111");
            assertEvidenceMatches(relay.ended().join(), got.bytes());
        }
    }

    /**
     * The gateway cuts its streams to stop (a drain): a caller that has not taken what is queued must not hold the
     * drain, so the record settles at once, counting only what the caller took, and nothing more goes out.
     */
    @Test
    void should_settle_a_stream_cut_by_a_drain_at_once_without_waiting_for_the_caller() throws Exception {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked("text/event-stream", reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, utf8(chunk("one ", null)), utf8(chunk("two ", "stop")));

        relay.abort(Outcome.ABORTED);

        StreamEnd end = relay.ended().getNow(null);
        assertThat(end).isNotNull();
        assertThat(end.outcome()).isEqualTo(Outcome.ABORTED);
        assertEvidenceMatches(end, new byte[0]);
        relay.release(true);
        ch.writeAndFlush(new StreamingHttpResponse(200, Map.of("Content-Type", "text/event-stream"), relay));
        ch.runPendingTasks();
        Body got = dechunk(wire(ch));
        assertThat(got.bytes()).isEmpty();
        assertThat(got.terminated()).isFalse();
        assertThat(ch.isOpen()).isFalse();
    }
}
