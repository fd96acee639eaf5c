package attest.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static attest.upstream.StreamRelayBreakOffTest.Body;
import static attest.upstream.StreamRelayBreakOffTest.assertEvidenceMatches;
import static attest.upstream.StreamRelayBreakOffTest.caller;
import static attest.upstream.StreamRelayBreakOffTest.dechunk;
import static attest.upstream.StreamRelayBreakOffTest.masked;
import static attest.upstream.StreamRelayBreakOffTest.push;
import static attest.upstream.StreamRelayBreakOffTest.utf8;
import static attest.upstream.StreamRelayBreakOffTest.wire;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Outsider attack on live relaying (NDJSON and SSE) through the real relay, chunked writer and HTTP encoder: what a
 * caller's client reconstructs from the wire must hold no raw entity, and the evidence must equal the wire.
 */
class LiveStreamAttackTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final java.util.concurrent.ScheduledExecutorService WATCH =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "live-attack-watch");
                t.setDaemon(true);
                return t;
            });

    @org.junit.jupiter.api.AfterAll
    static void stop() {
        WATCH.shutdownNow();
    }

    record Run(Body got, StreamRelay relay, List<String> reports) {
    }

    /** Relays {@code pieces} labelled {@code contentType}; the upstream completes, or breaks off when {@code breakOff}. */
    static Run relay(String contentType, boolean breakOff, byte[]... pieces) {
        List<String> reports = new ArrayList<>();
        StreamRelay relay = masked(contentType, reports);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, pieces);
        if (breakOff) {
            relay.onError(new java.io.IOException("reset"));
        } else {
            relay.onComplete();
        }
        ch.writeAndFlush(new StreamingHttpResponse(200, Map.of("Content-Type", contentType), relay));
        for (int i = 0; i < 1000 && !relay.ended().isDone(); i++) {
            ch.runPendingTasks();
        }
        assertThat(relay.ended()).isDone();
        relay.release(true);
        ch.runPendingTasks();
        Body got = dechunk(wire(ch));
        System.out.println("WIRE[" + contentType + "] " + new String(got.bytes(), StandardCharsets.UTF_8).replace("\u0000", "").replace("\r", "\\r").replace("\u001e", "<RS>") + " REPORTS " + reports);
        return new Run(got, relay, reports);
    }

    static byte[][] cutAt(byte[] all, int cut) {
        return new byte[][] {Arrays.copyOf(all, cut), Arrays.copyOfRange(all, cut, all.length)};
    }

    static String chat(String content, boolean done) {
        return "{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":"
                + com.fasterxml.jackson.databind.node.TextNode.valueOf(content) + "},\"done\":" + done + "}\n";
    }

    /** Digits (and letters, @ .) only: no run of the card or SSN, however the client joins its pieces. */
    static void assertNoCard(String what, String clientText) {
        String compact = clientText.replaceAll("[^0-9]", "");
        assertThat(compact).as(what + ": client reads " + clientText).doesNotContain("4111111111111111")
                .doesNotContain("536904399");
    }

    /**
     * The stream was cut, fail closed: recorded {@code masking_failed} with the reason in the report, the evidence equal
     * to the wire, and not one digit of the card on it (the first half held on the line before is not released either).
     */
    static void assertCut(String what, Run r, String why) throws Exception {
        StreamEnd end = r.relay().ended().join();
        assertThat(end.outcome()).as(what).isEqualTo(attest.evidence.Outcome.MASKING_FAILED);
        assertEvidenceMatches(end, r.got().bytes());
        assertThat(r.reports()).as(what).contains("MALFORMED_STREAM:cut@" + why);
        String wire = new String(r.got().bytes(), StandardCharsets.UTF_8);
        assertThat(wire).as(what + ": " + wire).doesNotContain("4111").doesNotContain("1111");
    }

    /** An Ollama-style client: decode the body in {@code cs}, split lines on LF, parse each, join message.content. */
    static String ollamaClient(byte[] body, Charset cs) {
        StringBuilder t = new StringBuilder();
        for (String line : new String(body, cs).split("\n")) {
            String l = line.strip();
            if (l.startsWith("\u001e")) {
                l = l.substring(1);
            }
            if (l.isEmpty()) {
                continue;
            }
            try {
                JsonNode n = JSON.readTree(l);
                t.append(n.path("message").path("content").asText()).append(n.path("response").asText());
            } catch (Exception notJson) {
                t.append(l);
            }
        }
        return t.toString();
    }

    /** An RFC 7464 reader: split on RS, parse each record, join message.content. */
    static String jsonSeqClient(byte[] body) {
        StringBuilder t = new StringBuilder();
        for (String rec : new String(body, StandardCharsets.UTF_8).split("\u001e")) {
            if (rec.isBlank()) {
                continue;
            }
            try {
                JsonNode n = JSON.readTree(rec.strip());
                t.append(n.path("message").path("content").asText());
            } catch (Exception bad) {
                // RFC 7464: a record that does not parse is skipped
            }
        }
        return t.toString();
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** The charset the caller is told (the relabelled Content-Type), as a client that honours the label reads it. */
    static Charset told(String upstreamContentType) {
        String ct = attest.masking.AnswerMasker.streamContentType(upstreamContentType);
        int at = ct.toLowerCase(java.util.Locale.ROOT).indexOf("charset=");
        return at < 0 ? StandardCharsets.UTF_8 : Charset.forName(ct.substring(at + 8).split(";")[0].trim());
    }

    /**
     * NDJSON that declares charset=UTF-16LE (or UTF-16 with a BOM), split at every byte: as Ollama-style clients
     * (httpx iter_lines) decode it by the label they get, and as a client that reads UTF-8 whatever the label says.
     */
    @Test
    void ndjson_in_utf16_declared_by_charset() throws Exception {
        for (String cs : List.of("utf-16le", "UTF-16", "utf-32be")) {
            String ct = "application/x-ndjson; charset=" + cs;
            byte[] all = (chat("card 4111 1111", false) + chat(" 1111 1111 ok", false) + chat("", true))
                    .getBytes(Charset.forName(cs));
            for (int cut = 1; cut < all.length; cut++) {
                Run r = relay(ct, false, cutAt(all, cut));
                assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
                assertNoCard(cs + " ndjson, label honoured, cut " + cut, ollamaClient(r.got().bytes(), told(ct)));
                assertNoCard(cs + " ndjson, read as UTF-8, cut " + cut,
                        ollamaClient(r.got().bytes(), StandardCharsets.UTF_8));
                assertThat(ollamaClient(r.got().bytes(), told(ct))).isEqualTo("card [CARD] ok");
            }
        }
    }

    /** An event stream that declares charset=UTF-16 (a client that honours the label decodes it so). */
    @Test
    void sse_in_utf16_declared_by_charset() throws Exception {
        String ct = "text/event-stream; charset=utf-16le";
        String ev = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111 1111 1111 ok\"}}]}\n\n"
                + "data: [DONE]\n\n";
        Run r = relay(ct, false, ev.getBytes(StandardCharsets.UTF_16LE));
        assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
        assertNoCard("utf-16le sse", new String(r.got().bytes(), told(ct)));
        assertThat(new String(r.got().bytes(), told(ct))).contains("[CARD] ok");
        assertThat(attest.masking.AnswerMasker.streamContentType(ct)).isEqualTo("text/event-stream; charset=utf-8");
    }

    /** A label that lies the other way: UTF-16 declared, UTF-8 sent; a UTF-8 reader must not see the card either. */
    @Test
    void utf8_body_labelled_utf16() throws Exception {
        String ct = "application/x-ndjson; charset=utf-16le";
        Run r = relay(ct, false, utf8(chat("card 4111 1111 1111 1111 ok", false) + chat("", true)));
        assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
        assertNoCard("utf-8 body, utf-16 label, read as UTF-8", new String(r.got().bytes(), StandardCharsets.UTF_8));
        assertNoCard("utf-8 body, utf-16 label, read by label",
                new String(r.got().bytes(), told(ct)));
    }

    /** The label lies: text/event-stream, but the body is Ollama NDJSON (Ollama's clients parse lines whatever the label). */
    @Test
    void ndjson_body_labelled_event_stream() throws Exception {
        byte[] all = utf8(chat("card 4111 1111 1111 1111 ok", false) + chat("", true));
        Run r = relay("text/event-stream", false, all);
        assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
        assertNoCard("ndjson as sse", ollamaClient(r.got().bytes(), StandardCharsets.UTF_8));
    }

    /**
     * The same, with the card split across two lines: the body is not an event stream (its lines are JSON where SSE
     * expects fields), so the stream is cut before anything goes out, every cut, with blank lines between the objects
     * too, and at a break-off.
     */
    @Test
    void ndjson_body_labelled_event_stream_split() throws Exception {
        for (String sep : List.of("", "\n", "\r\n")) {
            byte[] all = utf8(chat("card 4111 1111", false) + sep + chat(" 1111 1111 ok", false) + sep + chat("", true));
            for (int cut = 1; cut < all.length; cut++) {
                Run r = relay("text/event-stream", false, cutAt(all, cut));
                assertCut("ndjson as sse, split, cut " + cut, r, "sse-event");
                assertNoCard("ndjson as sse, split, cut " + cut, ollamaClient(r.got().bytes(), StandardCharsets.UTF_8));
            }
            Run r = relay("text/event-stream", true, utf8(chat("card 4111 1111", false) + sep + chat(" 1111 1111 ok", false) + sep));
            assertNoCard("ndjson as sse, break-off", ollamaClient(r.got().bytes(), StandardCharsets.UTF_8));
        }
        // a JSON line after a well-formed event (with a BOM, indented): cut at that event; the held first half stays held
        byte[] after = utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111\"}}]}\n\n"
                + " \uFEFF" + chat(" 1111 1111 ok", false) + "\n");
        Run r = relay("text/event-stream", false, after);
        assertCut("json after an event", r, "sse-event");
    }

    /** The label lies the other way: NDJSON, but the body is SSE chunks (an OpenAI SDK reads data: lines). */
    @Test
    void sse_body_labelled_ndjson_split_at_every_byte() throws Exception {
        byte[] all = utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111\"}}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" 1111 1111 ok\"}}]}\n\ndata: [DONE]\n\n");
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/x-ndjson", false, cutAt(all, cut));
            assertCut("sse as ndjson cut " + cut, r, "ndjson-line");
            String body = new String(r.got().bytes(), StandardCharsets.UTF_8);
            StringBuilder t = new StringBuilder();
            for (String line : body.split("\n")) {
                if (line.startsWith("data: ") && !line.contains("[DONE]")) {
                    try {
                        t.append(JSON.readTree(line.substring(6)).path("choices").path(0).path("delta").path("content").asText());
                    } catch (Exception e) {
                        t.append(line);
                    }
                }
            }
            assertNoCard("sse as ndjson cut " + cut, t.toString());
        }
    }

    /** JSON text sequence records joined by RS only (no LF between them), card split across two records, every cut. */
    @Test
    void json_seq_records_without_line_feed() throws Exception {
        byte[] all = utf8("\u001e" + chat("card 4111 1111", false).strip() + "\u001e" + chat(" 1111 1111 ok", false).strip()
                + "\u001e" + chat("", true));
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/json-seq", false, cutAt(all, cut));
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            assertNoCard("json-seq RS only, cut " + cut, jsonSeqClient(r.got().bytes()));
            assertThat(jsonSeqClient(r.got().bytes())).isEqualTo("card [CARD] ok");
        }
        byte[] buffered = attest.masking.AnswerMasker.mask(all, "application/json-seq",
                StreamRelayBreakOffTest.MASKER, x -> { });
        assertNoCard("json-seq RS only, buffered", jsonSeqClient(buffered));
    }

    /** CR-only line ends (httpx's iter_lines, which Ollama's Python client reads with, splits on CR), every cut. */
    @Test
    void ndjson_cr_only_line_ends() throws Exception {
        byte[] all = utf8((chat("card 4111 1111", false) + chat(" 1111 1111 ok", false) + chat("", true)).replace("\n", "\r"));
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/x-ndjson", false, cutAt(all, cut));
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            String body = new String(r.got().bytes(), StandardCharsets.UTF_8).replace("\r\n", "\n").replace("\r", "\n");
            assertNoCard("cr only, cut " + cut, ollamaClient(body.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
            assertThat(ollamaClient(body.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)).isEqualTo("card [CARD] ok");
        }
        byte[] buffered = attest.masking.AnswerMasker.mask(all, "application/x-ndjson",
                StreamRelayBreakOffTest.MASKER, x -> { });
        String body = new String(buffered, StandardCharsets.UTF_8).replace("\r", "\n");
        assertNoCard("cr only, buffered", ollamaClient(body.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
    }

    /** CRLF line ends with the CR and the LF in different pieces: no empty line, no card. */
    @Test
    void ndjson_crlf_split_between_pieces() throws Exception {
        byte[] all = utf8((chat("card 4111 1111", false) + chat(" 1111 1111 ok", false) + chat("", true)).replace("\n", "\r\n"));
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/x-ndjson", false, cutAt(all, cut));
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            String body = new String(r.got().bytes(), StandardCharsets.UTF_8);
            assertThat(body).as("cut " + cut).doesNotContain("\r\r").doesNotContain("\n\n").doesNotContain("\r\n\r\n");
            assertThat(ollamaClient(r.got().bytes(), StandardCharsets.UTF_8)).as("cut " + cut).isEqualTo("card [CARD] ok");
        }
    }

    /**
     * Duplicate member: the last value wins for the client (Jackson, JS, Python), card split across lines. Such a line is
     * not JSON a reader agrees on: the stream is cut, every cut, nested repeats and a repeat on a later line too.
     */
    @Test
    void ndjson_duplicate_key_then_split() throws Exception {
        byte[] all = utf8("{\"message\":{\"content\":\"x\"},\"message\":{\"content\":\"card 4111 1111\"},\"done\":false}\n"
                + chat(" 1111 1111 ok", false) + chat("", true));
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/x-ndjson", false, cutAt(all, cut));
            assertCut("dup key cut " + cut, r, "ndjson-line");
            assertNoCard("dup key cut " + cut, ollamaClient(r.got().bytes(), StandardCharsets.UTF_8));
        }
        Run nested = relay("application/x-ndjson", false, utf8(chat("card 4111 1111", false)
                + "{\"message\":{\"content\":\" 1111\",\"content\":\" 1111 1111 ok\"},\"done\":false}\n"));
        assertCut("nested dup key on the second line", nested, "ndjson-line");
        Run broke = relay("application/x-ndjson", true, utf8(chat("card 4111 1111", false)
                + "{\"message\":{\"content\":\"x\"},\"message\":{\"content\":\" 1111 1111 ok\"}}"));
        // at a break-off such a last line (no line end) is a line cut short to the masker: dropped and reported
        assertThat(broke.reports()).anyMatch(x -> x.endsWith("@ndjson-line"));
        assertThat(new String(broke.got().bytes(), StandardCharsets.UTF_8)).doesNotContain("1111");
    }

    /** Several JSON objects on one line (a streaming JSON reader, e.g. Jackson's MappingIterator, reads them all). */
    @Test
    void ndjson_concatenated_objects_on_one_line() throws Exception {
        byte[] all = utf8(chat("card 4111 1111", false).strip() + chat(" 1111 1111 ok", false).strip() + "\n"
                + chat("", true));
        for (int cut = 1; cut < all.length; cut++) {
            assertCut("concatenated, cut " + cut, relay("application/x-ndjson", false, cutAt(all, cut)), "ndjson-line");
        }
        // the second object on the line after the first: the first line's held half is not released either
        assertCut("concatenated on the second line", relay("application/x-ndjson", false, utf8(chat("card 4111 1111", false)
                + chat(" 1111 1111 ok", false).strip() + " {\"done\":true}\n")), "ndjson-line");
        assertCut("text after a value", relay("application/x-ndjson", false, utf8(chat("card 4111 1111", false)
                + chat(" 1111 1111 ok", false).strip() + " trailing\n")), "ndjson-line");
        Run r = relay("application/x-ndjson", false, all);
        assertCut("concatenated", r, "ndjson-line");
        StringBuilder t = new StringBuilder();
        try (var it = JSON.readerFor(JsonNode.class).<JsonNode>readValues(r.got().bytes())) {
            while (it.hasNext()) {
                t.append(it.next().path("message").path("content").asText());
            }
        } catch (Exception e) {
            t.append(new String(r.got().bytes(), StandardCharsets.UTF_8));
        }
        assertNoCard("concatenated", t.toString());
    }

    /** A card split across /api/generate's response and /api/chat's message.content: each client reads one field. */
    @Test
    void ndjson_card_split_across_fields() throws Exception {
        byte[] all = utf8("{\"response\":\"card 4111 1111\",\"done\":false}\n"
                + chat(" 1111 1111 ok", false) + chat("", true));
        Run r = relay("application/x-ndjson", false, all);
        assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
        StringBuilder response = new StringBuilder();
        StringBuilder content = new StringBuilder();
        for (String line : new String(r.got().bytes(), StandardCharsets.UTF_8).split("\n")) {
            JsonNode n = JSON.readTree(line);
            response.append(n.path("response").asText());
            content.append(n.path("message").path("content").asText());
        }
        assertNoCard("generate client", response.toString());
        assertNoCard("chat client", content.toString());
    }

    /** An invalid UTF-8 byte between the card's groups: a client that skips bad bytes sees the card whole. */
    @Test
    void ndjson_invalid_utf8_byte_inside_card() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(utf8("{\"message\":{\"content\":\"card 4111 1111"));
        b.write(0xFF);
        b.writeBytes(utf8(" 1111 1111 ok\"},\"done\":false}\n" + chat("", true)));
        Run r = relay("application/x-ndjson", false, b.toByteArray());
        assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
        var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.IGNORE);
        String lenient = dec.decode(java.nio.ByteBuffer.wrap(r.got().bytes())).toString();
        assertNoCard("invalid byte", ollamaClient(lenient.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
    }

    /** A break-off at every byte of a stream that splits a card across lines: never a raw piece, evidence = wire. */
    @Test
    void ndjson_break_off_at_every_byte() throws Exception {
        byte[] all = utf8(chat("card 4111 1111", false) + chat(" 1111 1111, ssn 536-90-", false) + chat("4399 ok", false));
        for (int cut = 1; cut <= all.length; cut++) {
            Run r = relay("application/x-ndjson", true, Arrays.copyOf(all, cut));
            assertThat(r.got().terminated()).isFalse();
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            String body = new String(r.got().bytes(), StandardCharsets.UTF_8);
            assertThat(body).as("cut " + cut).doesNotContain("4111").doesNotContain("536-90");
            assertNoCard("break off " + cut, ollamaClient(r.got().bytes(), StandardCharsets.UTF_8));
        }
    }

    /** A client reading JSON Lines whose values are JSON strings (or arrays of them): it joins their text. */
    static String stringLinesClient(byte[] body) {
        StringBuilder t = new StringBuilder();
        for (String line : new String(body, StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode n = JSON.readTree(line);
                if (n.isArray()) {
                    n.forEach(e -> t.append(e.asText()));
                } else {
                    t.append(n.asText());
                }
            } catch (Exception e) {
                t.append(line);
            }
        }
        return t.toString();
    }

    /** JSON Lines of JSON strings, the card split across two of them, every cut. */
    @Test
    void ndjson_lines_that_are_json_strings() throws Exception {
        byte[] all = utf8("\"card 4111 1111\"\n\" 1111 1111 ok\"\n");
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/x-ndjson", false, cutAt(all, cut));
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            assertNoCard("string lines, cut " + cut, stringLinesClient(r.got().bytes()));
            assertThat(stringLinesClient(r.got().bytes())).as("cut " + cut).isEqualTo("card [CARD] ok");
        }
        byte[] buffered = attest.masking.AnswerMasker.mask(all, "application/x-ndjson", StreamRelayBreakOffTest.MASKER,
                x -> { });
        assertNoCard("string lines, buffered", stringLinesClient(buffered));
        // string lines that masking leaves alone go out byte for byte; a held tail keeps its line (empty)
        byte[] clean = utf8("\"Hello there. \"\n\"How are you? \"\n");
        assertThat(relay("application/x-ndjson", false, clean).got().bytes()).isEqualTo(clean);
        Run r = relay("application/x-ndjson", false, utf8("\"hello\"\n\"world\"\n"));
        assertThat(new String(r.got().bytes(), StandardCharsets.UTF_8).split("\n").length).isGreaterThanOrEqualTo(2);
        assertThat(stringLinesClient(r.got().bytes())).isEqualTo("helloworld");
    }

    /** JSON Lines of arrays of strings, the card split across two of them. */
    @Test
    void ndjson_lines_that_are_arrays() throws Exception {
        byte[] all = utf8("[\"card 4111 1111\"]\n[\" 1111 1111 ok\"]\n");
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/x-ndjson", false, cutAt(all, cut));
            assertCut("array lines, cut " + cut, r, "ndjson-line");
            assertNoCard("array lines, cut " + cut, stringLinesClient(r.got().bytes()));
        }
        // an array after a line that holds the first half (string lines, then an array): that half stays held
        assertCut("array after a string line", relay("application/x-ndjson", false,
                utf8("\"card 4111 1111\"\n[\" 1111 1111 ok\"]\n")), "ndjson-line");
        assertCut("array of objects", relay("application/x-ndjson", false,
                utf8(chat("card 4111 1111", false) + "[" + chat(" 1111 1111 ok", false).strip() + "]\n")), "ndjson-line");
    }

    /** Ollama's thinking (message.thinking), the card split across lines, every cut. */
    @Test
    void ndjson_thinking_split() throws Exception {
        byte[] all = utf8("{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"card 4111 1111\"},\"done\":false}\n"
                + "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\" 1111 1111 ok\"},\"done\":false}\n"
                + chat("", true));
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/x-ndjson", false, cutAt(all, cut));
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            StringBuilder t = new StringBuilder();
            for (String line : new String(r.got().bytes(), StandardCharsets.UTF_8).split("\n")) {
                t.append(JSON.readTree(line).path("message").path("thinking").asText());
            }
            assertNoCard("thinking, cut " + cut, t.toString());
        }
    }

    /** /api/generate's response with JSON escapes cutting the card (\u0034 for 4, \/ between groups), every cut. */
    @Test
    void ndjson_generate_escapes_split() throws Exception {
        byte[] all = utf8("{\"response\":\"card \\u00341\\u0031\",\"done\":false}\n{\"response\":\"1 1111 \\u0031111\",\"done\":false}\n"
                + "{\"response\":\" 1111 ok\",\"done\":true}\n");
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/x-ndjson", false, cutAt(all, cut));
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            assertNoCard("escapes, cut " + cut, ollamaClient(r.got().bytes(), StandardCharsets.UTF_8));
        }
    }

    /** A BOM before every line and blank lines between them. */
    @Test
    void ndjson_bom_and_blank_lines() throws Exception {
        byte[] all = utf8("\uFEFF" + chat("card 4111 1111", false) + "\n\r\n\uFEFF" + chat(" 1111 1111 ok", false)
                + "\n" + chat("", true));
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("application/x-ndjson", false, cutAt(all, cut));
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            String body = new String(r.got().bytes(), StandardCharsets.UTF_8).replace("\uFEFF", "");
            assertNoCard("bom, cut " + cut, ollamaClient(body.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
        }
    }

    /**
     * A break-off right after a whole last line (no line end) whose text ends in a complete e-mail that is still held:
     * it is dropped and reported, and what went out is the evidence.
     */
    @Test
    void ndjson_break_off_after_a_held_complete_entity() throws Exception {
        byte[] all = utf8(chat("write to jane.doe@example.com", false).strip());
        Run r = relay("application/x-ndjson", true, all);
        assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
        assertThat(new String(r.got().bytes(), StandardCharsets.UTF_8)).doesNotContain("jane.doe").doesNotContain("example.com");
        assertThat(r.reports()).anyMatch(x -> x.startsWith("EMAIL:") || x.startsWith("HELD_TEXT:"));
    }

    /** The same stray byte inside a card in an SSE chunk's content and in a plain-text body (the text path's promise). */
    @Test
    void sse_invalid_utf8_byte_inside_card() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111"));
        b.write(0xFF);
        b.writeBytes(utf8(" 1111 1111 ok\"}}]}\n\ndata: [DONE]\n\n"));
        Run r = relay("text/event-stream", false, b.toByteArray());
        assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
        assertNoCard("sse stray byte", new String(r.got().bytes(), StandardCharsets.UTF_8));
    }

    /** An SSE client: events split on blank lines (LF, CRLF or CR), data lines joined with LF, chat deltas joined. */
    static String sseClient(byte[] body) {
        String all = new String(body, StandardCharsets.UTF_8).replace("\r\n", "\n").replace("\r", "\n");
        StringBuilder t = new StringBuilder();
        for (String ev : all.split("\n\n")) {
            StringBuilder data = new StringBuilder();
            for (String line : ev.split("\n")) {
                if (line.startsWith("data:")) {
                    String v = line.substring(5);
                    if (v.startsWith(" ")) {
                        v = v.substring(1);
                    }
                    data.append(data.length() > 0 ? "\n" : "").append(v);
                }
            }
            if (data.length() == 0 || data.toString().equals("[DONE]")) {
                continue;
            }
            try {
                JsonNode n = JSON.readTree(data.toString());
                t.append(n.path("choices").path(0).path("delta").path("content").asText());
                t.append(n.path("delta").isTextual() ? n.path("delta").asText() : "");
            } catch (Exception e) {
                t.append(data);
            }
        }
        return t.toString();
    }

    /** One event's JSON split over two data: lines, CRLF line ends, keep-alive comments, every cut. */
    @Test
    void sse_multi_line_data_crlf_and_comments() throws Exception {
        byte[] all = utf8(("data: {\"choices\":[{\"index\":0,\"delta\":\ndata: {\"content\":\"card 4111 1111\"}}]}\n\n"
                + ": ping\n\n"
                + "data:{\"choices\":[{\"index\":0,\n"
                + "data: \"delta\":{\"content\":\" 1111 1111 ok\"}}]}\n\n: ping\n\ndata: [DONE]\n\n").replace("\n", "\r\n"));
        for (int cut = 1; cut < all.length; cut++) {
            Run r = relay("text/event-stream", false, cutAt(all, cut));
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            assertNoCard("multi-line data, cut " + cut, sseClient(r.got().bytes()));
        }
    }

    /** Responses API deltas splitting a card, broken off at every byte: no piece out, evidence = wire. */
    @Test
    void responses_deltas_break_off_at_every_byte() throws Exception {
        String d = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"m1\","
                + "\"output_index\":0,\"content_index\":0,\"delta\":\"%s\"}\n\n";
        byte[] all = utf8(String.format(d, "card 4111 1111") + String.format(d, " 1111 1111 ok") + String.format(d, " ssn 536-90-")
                + String.format(d, "4399"));
        for (int cut = 1; cut <= all.length; cut++) {
            Run r = relay("text/event-stream", true, Arrays.copyOf(all, cut));
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            assertThat(r.got().terminated()).isFalse();
            assertNoCard("responses break-off, cut " + cut, sseClient(r.got().bytes()));
            assertThat(new String(r.got().bytes(), StandardCharsets.UTF_8)).as("cut " + cut).doesNotContain("4111")
                    .doesNotContain("536-90");
        }
    }

    static byte[] gzip(byte[] b) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (var z = new java.util.zip.GZIPOutputStream(out)) {
            z.write(b);
        }
        return out.toByteArray();
    }

    /**
     * A body still compressed when it reaches the masker (encoded twice, or an encoding the label does not name): the
     * caller must not get bytes that a gunzip turns into the raw card.
     */
    @Test
    void compressed_body_reaching_the_masker() throws Exception {
        for (String ct : List.of("text/event-stream", "application/x-ndjson")) {
            byte[] plain = utf8(ct.equals("text/event-stream")
                    ? "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111 1111 1111 ok\"}}]}\n\ndata: [DONE]\n\n"
                    : chat("card 4111 1111 1111 1111 ok", false) + chat("", true));
            byte[] z = gzip(plain);
            Run r = relay(ct, false, z);
            assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
            String gunzipped;
            try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(r.got().bytes()))) {
                gunzipped = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (Exception notGzip) {
                gunzipped = "";
            }
            assertNoCard(ct + " gzip reaching the masker", gunzipped);
        }
    }

    /**
     * A LEAK on the live path until the relay read each valid UTF-8 sequence under a single-byte label as UTF-8
     * (AnswerMasker.transcoded): a UTF-8 event stream labelled {@code Text/Event-Stream; Charset="ISO-8859-1"} whose
     * card is grouped by NBSP (C2 A0) was decoded as Latin-1 (each NBSP "A-circumflex NBSP", so the detectors saw no
     * card) and relabelled charset=utf-8: every reader read "4111Â 1111Â 1111Â 1111", every digit of the card.
     */
    @Test
    void sse_utf8_body_labelled_latin1_nbsp_grouped_card() throws Exception {
        String ct = "Text/Event-Stream; Charset=\"ISO-8859-1\"";
        byte[] all = utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111\u00a01111\"}}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\u00a01111\u00a01111 ok\"}}]}\n\n"
                + "data: [DONE]\n\n");
        Run r = relay(ct, false, all);
        assertEvidenceMatches(r.relay().ended().join(), r.got().bytes());
        assertNoCard("utf-8 nbsp card under a latin-1 label, as the SDK reads it", sseClient(r.got().bytes()));
    }
}
