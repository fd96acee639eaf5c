package attest.upstream;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.ResponseHeaders;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import attest.masking.Action;
import attest.masking.MaskResponseProcessor;
import attest.masking.Masker;
import attest.masking.MaskingEngine;
import attest.masking.MaskingRuleSet;
import attest.masking.MaskingService;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Outsider attack on the BUFFERED answer path: the path a held call takes once approved (the upstream is called with
 * {@code buffered=true}: no caller connection to stream to), whose masked answer is stored and handed to the requester
 * on the waiting connection or at {@code GET /approvals/{id}/result}. Each row is an upstream answer (status, header
 * lines, body bytes) served by a real local server; the answer goes through the real upstream client (both
 * transports), {@link MaskResponseProcessor} and {@link RenderUpstreamResponseProcessor}, exactly as the route
 * {@code approval-execute} runs them, and what would be stored and delivered (status, the relayed headers, body) is
 * read back by every reader a caller may use (the label's charset and UTF-8; SSE, NDJSON, JSON and text readers; a
 * gunzip). No reader may find the card {@code 4111 1111 1111 1111} or the SSN {@code 536-90-4399}: the answer is masked,
 * or refused whole (502/403, no body of the upstream's).
 * <p>
 * Row labels say what the code did before the fix in the same commit: LEAK (a reader found the value), BREAK (no
 * value, but the caller could not read the masked answer), OK.
 */
class BufferedAnswerAttackTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CARD = "4111111111111111";
    static final String SSN = "536904399";
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));
    static final MaskingService SERVICE = new MaskingService(List.of(new MaskingRuleSet("default", List.of(), List.of(),
            false, true, List.of(), MASKER)), Duration.ofSeconds(5));

    static DefaultCamelContext camel;
    static ScheduledExecutorService scheduler;
    static RawUpstream upstream;
    static final Map<String, byte[]> ANSWERS = new java.util.concurrent.ConcurrentHashMap<>();
    static final Map<UpstreamClient.Kind, UpstreamClient> CLIENTS = new java.util.EnumMap<>(UpstreamClient.Kind.class);

    @BeforeAll
    static void start() throws Exception {
        camel = new DefaultCamelContext();
        scheduler = Executors.newSingleThreadScheduledExecutor();
        // the row to answer is named by the request's path: /row/<name>
        upstream = new RawUpstream(RawUpstream.each((c, r) -> {
            String path = r.line().split(" ")[1];
            c.write(ANSWERS.get(path.substring(path.lastIndexOf('/') + 1)));
        }));
        for (UpstreamClient.Kind k : UpstreamClient.Kind.values()) {
            CLIENTS.put(k, new UpstreamClient(Clock.systemUTC(), 1 << 20, UpstreamClient.DEFAULT_MAX_DECODED_BYTES, k));
        }
    }

    @AfterAll
    static void stop() {
        CLIENTS.values().forEach(UpstreamClient::close);
        upstream.close();
        scheduler.shutdownNow();
    }

    enum Expect { DELIVERED, REFUSED }

    /**
     * @param label    LEAK / BREAK / OK: what the code did before the fix
     * @param headers  the upstream's header lines (each ending CRLF), Content-Length excluded
     * @param readable text the caller must still read in the delivered answer (by the label it is told), or null
     */
    record Row(String name, String label, Expect expect, int status, String headers, byte[] body, String readable) {
        @Override
        public String toString() {
            return label + " " + name;
        }
    }

    // ---- answer builders ---------------------------------------------------------------------------------------

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(String s) {
        return com.fasterxml.jackson.databind.node.TextNode.valueOf(s).toString();
    }

    static String chunk(String delta) {
        return "data: {\"id\":\"cx\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":" + delta
                + ",\"finish_reason\":null}]}\n\n";
    }

    static String content(String text) {
        return chunk("{\"content\":" + str(text) + "}");
    }

    static String sseSplit() {
        return content("card 4111 1111") + content(" 1111 1111 and ssn 536-90-") + content("4399 tail-ok")
                + "data: [DONE]\n\n";
    }

    static String ollama(String text, boolean done) {
        return "{\"model\":\"llama\",\"message\":{\"role\":\"assistant\",\"content\":" + str(text) + "},\"done\":"
                + done + "}\n";
    }

    static String ndjsonSplit() {
        return ollama("card 4111 1111", false) + ollama(" 1111 1111 and ssn 536-90-", false) + ollama("4399 tail-ok", false)
                + ollama("", true);
    }

    static String completion(String text) {
        return "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                + "\"content\":" + str(text) + "},\"finish_reason\":\"stop\"}]}";
    }

    static byte[] gzip(byte[] b) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (var z = new java.util.zip.GZIPOutputStream(out)) {
            z.write(b);
        }
        return out.toByteArray();
    }

    static byte[] deflate(byte[] b) {
        java.util.zip.Deflater d = new java.util.zip.Deflater();
        d.setInput(b);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static Row row(String name, String label, Expect expect, int status, String headers, byte[] body, String readable) {
        return new Row(name, label, expect, status, headers, body, readable);
    }

    static Row ok(String name, String headers, byte[] body) {
        return row(name, "OK", Expect.DELIVERED, 200, headers, body, "tail-ok");
    }

    static Stream<Row> rows() throws Exception {
        String sse = "Content-Type: text/event-stream\r\n";
        String nd = "Content-Type: application/x-ndjson\r\n";
        String json = "Content-Type: application/json\r\n";
        List<Row> rows = new ArrayList<>();

        // -- charsets (the live path decodes a declared charset and relabels utf-8)
        rows.add(row("sse in utf-16le, card split across events", "BREAK", Expect.DELIVERED, 200,
                "Content-Type: text/event-stream; charset=utf-16le\r\n", sseSplit().getBytes(StandardCharsets.UTF_16LE),
                "tail-ok"));
        rows.add(row("ndjson in utf-16le, card split across lines", "BREAK", Expect.DELIVERED, 200,
                "Content-Type: application/x-ndjson; charset=utf-16le\r\n",
                ndjsonSplit().getBytes(StandardCharsets.UTF_16LE), "tail-ok"));
        rows.add(row("sse in UTF-16 with BOM, card whole", "BREAK", Expect.DELIVERED, 200,
                "Content-Type: text/event-stream; charset=UTF-16\r\n",
                (content("card 4111 1111 1111 1111 tail-ok") + "data: [DONE]\n\n").getBytes(StandardCharsets.UTF_16),
                "tail-ok"));
        rows.add(row("utf-8 ndjson labelled charset=utf-16le", "LEAK", Expect.DELIVERED, 200,
                "Content-Type: application/x-ndjson; charset=utf-16le\r\n", utf8(ndjsonSplit()), null));
        rows.add(row("utf-8 sse labelled charset=utf-16le", "LEAK", Expect.DELIVERED, 200,
                "Content-Type: text/event-stream; charset=utf-16le\r\n", utf8(sseSplit()), null));
        rows.add(row("utf-8 json labelled charset=utf-16le", "LEAK", Expect.DELIVERED, 200,
                "Content-Type: application/json; charset=utf-16le\r\n",
                utf8(completion("card 4111 1111 1111 1111 tail-ok")), null));
        rows.add(row("json in utf-16le labelled so", "OK", Expect.DELIVERED, 200,
                "Content-Type: application/json; charset=utf-16le\r\n",
                completion("card 4111 1111 1111 1111 tail-ok").getBytes(StandardCharsets.UTF_16LE), "tail-ok"));
        rows.add(row("Text/Event-Stream; Charset=\"ISO-8859-1\", ascii card split", "OK", Expect.DELIVERED, 200,
                "Content-Type: Text/Event-Stream; Charset=\"ISO-8859-1\"\r\n", utf8(sseSplit()), "tail-ok"));
        rows.add(row("Text/Event-Stream; Charset=\"ISO-8859-1\", utf-8 body, NBSP-grouped card", "LEAK",
                Expect.DELIVERED, 200, "Content-Type: Text/Event-Stream; Charset=\"ISO-8859-1\"\r\n",
                utf8(content("card 4111\u00a01111") + content("\u00a01111\u00a01111 tail-ok") + "data: [DONE]\n\n"),
                null));
        rows.add(row("latin-1 sse labelled so, NBSP-grouped card", "BREAK", Expect.DELIVERED, 200,
                "Content-Type: text/event-stream; charset=ISO-8859-1\r\n",
                (content("caf\u00e9 card 4111\u00a01111") + content("\u00a01111\u00a01111 tail-ok") + "data: [DONE]\n\n")
                        .getBytes(StandardCharsets.ISO_8859_1), "caf\u00e9"));
        rows.add(row("text/plain in UTF-16LE with its BOM, no charset", "LEAK", Expect.DELIVERED, 200,
                "Content-Type: text/plain\r\n", concat(new byte[] {(byte) 0xFF, (byte) 0xFE},
                        "card 4111 1111 1111 1111 tail-ok".getBytes(StandardCharsets.UTF_16LE)), null));
        rows.add(row("text/html; charset=utf-8 over UTF-16BE with its BOM", "LEAK", Expect.DELIVERED, 200,
                "Content-Type: text/html; charset=utf-8\r\n", concat(new byte[] {(byte) 0xFE, (byte) 0xFF},
                        "<p>card 4111-1111-1111-1111 tail-ok</p>".getBytes(StandardCharsets.UTF_16BE)), null));
        rows.add(row("no Content-Type, UTF-16LE text with its BOM", "LEAK", Expect.DELIVERED, 200, "",
                concat(new byte[] {(byte) 0xFF, (byte) 0xFE}, "ssn 536-90-4399 tail-ok".getBytes(StandardCharsets.UTF_16LE)),
                null));
        rows.add(ok("json in UTF-16LE with its BOM, no charset", json, concat(new byte[] {(byte) 0xFF, (byte) 0xFE},
                completion("card 4111 1111 1111 1111 tail-ok").getBytes(StandardCharsets.UTF_16LE))));
        rows.add(row("Application/X-NDJSON; Charset=\"UTF-8\" odd case", "OK", Expect.DELIVERED, 200,
                "Content-Type: Application/X-NDJSON; Charset=\"UTF-8\"\r\n", utf8(ndjsonSplit()), "tail-ok"));

        // -- the NDJSON shapes fixed on the live path
        rows.add(ok("ndjson CR-only line ends", nd, utf8(ndjsonSplit().replace("\n", "\r"))));
        rows.add(ok("json-seq RS-only records", "Content-Type: application/json-seq\r\n",
                utf8(("\u001e" + ndjsonSplit().replace("\n", "\u001e")))));
        rows.add(ok("ndjson lines that are JSON strings", nd,
                utf8("\"card 4111 1111\"\n\" 1111 1111 ssn 536-90-\"\n\"4399 tail-ok\"\n")));
        rows.add(ok("ndjson U+FFFD (stray byte) between card groups", nd, concat(
                utf8("{\"message\":{\"content\":\"card 4111 1111"), new byte[] {(byte) 0xFF},
                utf8(" 1111 1111 tail-ok\"},\"done\":false}\n" + ollama("", true)))));
        rows.add(ok("sse U+FFFD (stray byte) between card groups", sse, concat(
                utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111"), new byte[] {(byte) 0xFF},
                utf8(" 1111 1111 tail-ok\"}}]}\n\ndata: [DONE]\n\n"))));
        rows.add(row("json, a stray byte (read as U+FFFD) between card groups", "LEAK", Expect.DELIVERED, 200, json, concat(utf8("{\"choices\":[{\"message\":{\"content\":"
                + "\"card 4111 1111"), new byte[] {(byte) 0xC3}, utf8(" 1111 1111 tail-ok\"}}]}")), "tail-ok"));
        rows.add(row("text/plain, stray byte between card groups", "LEAK", Expect.DELIVERED, 200,
                "Content-Type: text/plain\r\n", concat(utf8("card 4111 1111"), new byte[] {(byte) 0xFF},
                        utf8(" 1111 1111 tail-ok")), "tail-ok"));
        rows.add(row("no Content-Type, text with a stray byte between card groups", "LEAK", Expect.DELIVERED, 200, "",
                concat(utf8("card 4111 1111"), new byte[] {(byte) 0xC3}, utf8(" 1111 1111 tail-ok")), "tail-ok"));
        rows.add(row("ndjson array lines", "OK", Expect.REFUSED, 200, nd,
                utf8("[\"card 4111 1111\"]\n[\" 1111 1111 ok\"]\n"), null));
        rows.add(row("ndjson duplicate keys, card split", "OK", Expect.REFUSED, 200, nd,
                utf8("{\"message\":{\"content\":\"x\"},\"message\":{\"content\":\"card 4111 1111\"},\"done\":false}\n"
                        + ollama(" 1111 1111 ok", false)), null));
        rows.add(row("ndjson two JSON values on one line", "OK", Expect.REFUSED, 200, nd,
                utf8(ollama("card 4111 1111", false).strip() + ollama(" 1111 1111 ok", false)), null));
        rows.add(row("sse labelled ndjson", "OK", Expect.REFUSED, 200, nd, utf8(sseSplit()), null));
        rows.add(row("ndjson labelled text/event-stream", "OK", Expect.REFUSED, 200, sse, utf8(ndjsonSplit()), null));
        rows.add(ok("two Content-Type lines: event stream, then text/plain", sse + "Content-Type: text/plain\r\n",
                utf8(sseSplit())));
        rows.add(ok("two Content-Type lines: text/plain, then image/png", "Content-Type: text/plain\r\n"
                + "Content-Type: image/png\r\n", utf8("card 4111 1111 1111 1111 tail-ok")));
        rows.add(ok("two Content-Encoding lines: identity, then gzip", sse + "Content-Encoding: identity\r\n"
                + "Content-Encoding: gzip\r\n", gzip(utf8(sseSplit()))));

        // -- what a stream may carry: logprobs, tool calls, reasoning, several choices
        rows.add(ok("sse logprobs tokens spelling the card", sse, utf8(
                chunk("{\"content\":\"card 4111 1111\"},\"logprobs\":{\"content\":[{\"token\":\"card 4111\","
                        + "\"logprob\":-0.1,\"bytes\":null,\"top_logprobs\":[]},{\"token\":\" 1111\",\"logprob\":-0.1,"
                        + "\"bytes\":null,\"top_logprobs\":[]}]}")
                        + chunk("{\"content\":\" 1111 1111 tail-ok\"},\"logprobs\":{\"content\":[{\"token\":\" 1111\","
                        + "\"logprob\":-0.1,\"bytes\":null,\"top_logprobs\":[]},{\"token\":\" 1111 tail-ok\",\"logprob\":-0.1,"
                        + "\"bytes\":null,\"top_logprobs\":[]}]}") + "data: [DONE]\n\n")));
        rows.add(ok("sse top_logprobs alternative spelling the card", sse, utf8(
                chunk("{\"content\":\"tail-ok\"},\"logprobs\":{\"content\":[{\"token\":\"tail-ok\",\"logprob\":-0.1,"
                        + "\"bytes\":null,\"top_logprobs\":[{\"token\":\"4111 1111 1111 1111\",\"logprob\":-3,"
                        + "\"bytes\":null}]}]}") + "data: [DONE]\n\n")));
        rows.add(ok("json logprobs tokens and bytes spelling the card", json, utf8("{\"choices\":[{\"index\":0,"
                + "\"message\":{\"content\":\"tail-ok\"},\"logprobs\":{\"content\":[{\"token\":\"4111 1111\",\"logprob\":-1,"
                + "\"bytes\":[52,49,49,49,32,49,49,49,49],\"top_logprobs\":[]},{\"token\":\" 1111 1111\",\"logprob\":-1,"
                + "\"bytes\":null,\"top_logprobs\":[]}]}}]}")));
        rows.add(ok("sse tool_calls arguments split across chunks", sse, utf8(
                chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"type\":\"function\",\"function\":{\"name\":\"pay\","
                        + "\"arguments\":\"{\\\"card\\\":\\\"4111 11\"}}]}")
                        + chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"11 1111 1111\\\",\\\"n\\\":"
                        + "\\\"tail-ok\\\"}\"}}]}") + "data: [DONE]\n\n")));
        rows.add(ok("json tool_calls arguments with an escaped digit inside the arguments' JSON", json,
                utf8("{\"choices\":[{\"message\":{\"content\":\"tail-ok\",\"tool_calls\":[{\"id\":\"t\",\"type\":\"function\","
                        + "\"function\":{\"name\":\"pay\",\"arguments\":\"{\\\"card\\\":\\\"\\\\u0034111111111111111\\\"}\"}}]}}]}")));
        rows.add(ok("sse reasoning_content and reasoning split", sse, utf8(
                chunk("{\"reasoning_content\":\"card 4111 1111\"}") + chunk("{\"reasoning_content\":\" 1111 1111\"}")
                        + chunk("{\"reasoning\":\"ssn 536-90-\"}") + chunk("{\"reasoning\":\"4399\"}")
                        + content("tail-ok") + "data: [DONE]\n\n")));
        rows.add(ok("sse two choices interleaved, card split within choice 1", sse, utf8(
                "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"card 4111 1111\"}}]}\n\n"
                        + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"1111 tail-ok \"}}]}\n\n"
                        + "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\" 1111 1111\"}}]}\n\n"
                        + "data: [DONE]\n\n")));
        rows.add(ok("responses api deltas split", sse, utf8(
                "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"m\","
                        + "\"output_index\":0,\"content_index\":0,\"delta\":\"card 4111 1111\"}\n\n"
                        + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"m\","
                        + "\"output_index\":0,\"content_index\":0,\"delta\":\" 1111 1111 tail-ok\"}\n\n")));

        // -- content codings
        rows.add(ok("gzip-encoded event stream", sse + "Content-Encoding: gzip\r\n", gzip(utf8(sseSplit()))));
        rows.add(ok("deflate-encoded json", json + "Content-Encoding: deflate\r\n",
                deflate(utf8(completion("card 4111 1111 1111 1111 tail-ok")))));
        rows.add(ok("gzip-encoded ndjson", nd + "Content-Encoding: gzip\r\n", gzip(utf8(ndjsonSplit()))));
        rows.add(row("br-encoded json (no decoder: refused)", "OK", Expect.REFUSED, 200, json
                + "Content-Encoding: br\r\n", utf8(completion("card 4111 1111 1111 1111")), null));
        rows.add(row("json gzip-compressed twice, one coding named", "LEAK", Expect.REFUSED, 200,
                json + "Content-Encoding: gzip\r\n", gzip(gzip(utf8(completion("card 4111 1111 1111 1111 tail-ok")))),
                null));
        rows.add(row("event stream gzip-compressed, no coding named", "LEAK", Expect.REFUSED, 200, sse,
                gzip(utf8(sseSplit())), null));

        // -- labels that are not the content
        rows.add(ok("json, no Content-Type", "", utf8(completion("card 4111 1111 1111 1111 tail-ok"))));
        rows.add(row("event stream, no Content-Type, card split across events", "LEAK", Expect.DELIVERED, 200, "",
                utf8(sseSplit()), "tail-ok"));
        rows.add(row("event stream labelled application/json, card split", "LEAK", Expect.DELIVERED, 200, json,
                utf8(sseSplit()), "tail-ok"));
        rows.add(row("event stream labelled text/plain, card split", "LEAK", Expect.DELIVERED, 200,
                "Content-Type: text/plain; charset=utf-8\r\n", utf8(sseSplit()), "tail-ok"));
        rows.add(ok("ndjson, no Content-Type, card split across lines", "", utf8(ndjsonSplit())));
        rows.add(ok("ndjson labelled application/json, card split", json, utf8(ndjsonSplit())));
        rows.add(row("ndjson with a line that is not JSON, labelled text/plain, card split", "LEAK", Expect.DELIVERED, 200,
                "Content-Type: text/plain\r\n", utf8(ndjsonSplit() + "upstream: end of stream\n"), "tail-ok"));
        rows.add(row("ndjson with a line that is not JSON, no Content-Type, card split", "LEAK", Expect.DELIVERED, 200, "",
                utf8("note: streaming\n" + ndjsonSplit()), "tail-ok"));
        rows.add(row("event stream labelled application/octet-stream, card whole", "LEAK", Expect.DELIVERED, 200,
                "Content-Type: application/octet-stream\r\n",
                utf8(content("card 4111 1111 1111 1111 tail-ok") + "data: [DONE]\n\n"), "tail-ok"));

        // -- errors that echo the prompt
        rows.add(row("400 json error echoing the card", "OK", Expect.DELIVERED, 400, json,
                utf8("{\"error\":{\"message\":\"Invalid prompt: 'pay with 4111 1111 1111 1111' tail-ok\","
                        + "\"type\":\"invalid_request_error\"}}"), "tail-ok"));
        rows.add(row("422 html error echoing the card", "OK", Expect.DELIVERED, 422, "Content-Type: text/html\r\n",
                utf8("<html><body><p>bad input: 4111-1111-1111-1111 ssn 536-90-4399 tail-ok</p></body></html>"),
                "tail-ok"));
        rows.add(row("429 event-stream error echoing the card split", "OK", Expect.DELIVERED, 429, sse,
                utf8("event: error\ndata: {\"error\":{\"message\":\"card 4111 1111 1111 1111 tail-ok\"}}\n\n"),
                "tail-ok"));
        rows.add(row("500 error echoing the card", "OK", Expect.REFUSED, 500, json,
                utf8("{\"error\":{\"message\":\"failed on 4111 1111 1111 1111\"}}"), null));
        rows.add(row("503 text error echoing the card", "OK", Expect.REFUSED, 503, "Content-Type: text/plain\r\n",
                utf8("overloaded: 4111 1111 1111 1111"), null));
        return rows.stream();
    }

    // ---- the buffered path, as approval-execute runs it -------------------------------------------------------

    record Delivered(int status, Map<String, String> headers, byte[] body, GatewayException refused) {
        String contentType() {
            return headers.get("content-type");
        }
    }

    static Delivered held(Row row, UpstreamClient.Kind kind) {
        String name = Integer.toHexString(row.name().hashCode()) + kind;
        byte[] head = ("HTTP/1.1 " + row.status() + " X\r\n" + row.headers() + "Content-Length: " + row.body().length
                + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        ANSWERS.put(name, concat(head, row.body()));
        Upstream up = new Upstream("llm", "/llm", URI.create("http://127.0.0.1:" + upstream.port()),
                UpstreamCredential.NONE, Duration.ofSeconds(2), Duration.ofSeconds(10), Duration.ofSeconds(10));
        UpstreamTarget target = new UpstreamTarget(up, "/row/" + name,
                URI.create("http://127.0.0.1:" + upstream.port() + "/row/" + name));
        Exchange ex = new DefaultExchange(camel);
        ex.setProperty(Exchanges.REQUEST_ID, "r-" + name);
        ex.setProperty(Exchanges.TARGET, target);
        try {
            UpstreamResponse answer = CLIENTS.get(kind).call(target, "POST", new ForwardHeaders(List.of(
                    Map.entry("Content-Type", "application/json"))), utf8("{\"stream\":true}"), true);
            assertThat(answer.streaming()).as("a held call's answer is read whole").isFalse();
            ex.setProperty(Exchanges.UPSTREAM_RESPONSE, answer);
            new MaskResponseProcessor(SERVICE).process(ex);
            new RenderUpstreamResponseProcessor(scheduler).process(ex);
        } catch (GatewayException e) {
            return new Delivered(e.status(), Map.of(), null, e);
        }
        Map<String, String> headers = new java.util.HashMap<>();
        for (Map.Entry<String, String> h : ResponseHeaders.of(ex).entries()) {
            // what StoreApprovalResultProcessor keeps for the requester
            if (ResponseHeaders.allowed(h.getKey())) {
                headers.put(h.getKey().toLowerCase(Locale.ROOT), h.getValue());
            }
        }
        return new Delivered(ex.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class), headers,
                ex.getMessage().getBody(byte[].class), null);
    }

    // ---- readers --------------------------------------------------------------------------------------------

    static Charset labelled(String contentType) {
        if (contentType == null) {
            return null;
        }
        for (String p : contentType.split(";")) {
            String t = p.trim();
            if (t.regionMatches(true, 0, "charset=", 0, 8)) {
                try {
                    return Charset.forName(t.substring(8).replace("\"", "").trim());
                } catch (RuntimeException e) {
                    return null;
                }
            }
        }
        return null;
    }

    /** Every string of a JSON value, in document order (member names too). */
    static void strings(JsonNode n, StringBuilder out) {
        if (n.isTextual()) {
            out.append(n.asText());
        } else if (n.isArray()) {
            n.forEach(e -> strings(e, out));
        } else if (n.isObject()) {
            n.properties().forEach(e -> {
                out.append(e.getKey());
                strings(e.getValue(), out);
            });
        }
    }

    static String sseReader(String text) {
        StringBuilder t = new StringBuilder();
        for (String ev : text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")) {
            StringBuilder data = new StringBuilder();
            for (String line : ev.split("\n")) {
                if (line.startsWith("data:")) {
                    String v = line.substring(5);
                    data.append(data.length() > 0 ? "\n" : "").append(v.startsWith(" ") ? v.substring(1) : v);
                }
            }
            try {
                strings(JSON.readTree(data.toString()), t);
            } catch (Exception e) {
                t.append(data);
            }
        }
        return t.toString();
    }

    static String linesReader(String text) {
        StringBuilder t = new StringBuilder();
        for (String line : text.split("[\n\r\u001e]")) {
            try {
                strings(JSON.readTree(line.replace("\uFEFF", "").strip()), t);
            } catch (Exception e) {
                t.append(line);
            }
        }
        return t.toString();
    }

    static String jsonReader(String text) {
        StringBuilder t = new StringBuilder();
        try (var it = JSON.readerFor(JsonNode.class).<JsonNode>readValues(text)) {
            while (it.hasNext()) {
                strings(it.next(), t);
            }
        } catch (Exception e) {
            return "";
        }
        return t.toString();
    }

    static byte[] inflated(byte[] b) {
        try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(b))) {
            return in.readAllBytes();
        } catch (Exception notGzip) {
            try (var in = new java.util.zip.InflaterInputStream(new java.io.ByteArrayInputStream(b))) {
                return in.readAllBytes();
            } catch (Exception notDeflate) {
                return null;
            }
        }
    }

    /** What each reader makes of the body: by the label's charset and as UTF-8; SSE, lines, JSON, text; gunzipped too. */
    static Map<String, String> readings(byte[] body, String contentType) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        List<byte[]> forms = new ArrayList<>(List.of(body));
        byte[] z = inflated(body);
        while (z != null && forms.size() < 4) {
            forms.add(z);
            z = inflated(z);
        }
        for (int f = 0; f < forms.size(); f++) {
            List<Charset> charsets = new ArrayList<>(List.of(StandardCharsets.UTF_8));
            Charset label = labelled(contentType);
            if (label != null && !label.equals(StandardCharsets.UTF_8)) {
                charsets.add(label);
            }
            byte[] b = forms.get(f);
            if (b.length >= 2 && (b[0] == (byte) 0xFF && b[1] == (byte) 0xFE || b[0] == (byte) 0xFE && b[1] == (byte) 0xFF)) {
                charsets.add(StandardCharsets.UTF_16); // a browser: the BOM decides, whatever the label
            }
            for (Charset cs : charsets) {
                String text = new String(forms.get(f), cs);
                String k = (f == 0 ? "" : "inflated" + f + " ") + cs + " ";
                out.put(k + "text", text);
                out.put(k + "sse", sseReader(text));
                out.put(k + "lines", linesReader(text));
                out.put(k + "json", jsonReader(text));
            }
        }
        return out;
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> cases() throws Exception {
        return rows().flatMap(r -> Stream.of(UpstreamClient.Kind.values())
                .map(k -> org.junit.jupiter.params.provider.Arguments.of(r, k)));
    }

    @ParameterizedTest(name = "[{1}] {0}")
    @MethodSource("cases")
    void should_mask_or_refuse_a_held_calls_answer_whatever_its_shape(Row row, UpstreamClient.Kind kind) {
        Delivered d = held(row, kind);
        if (row.expect() == Expect.REFUSED) {
            assertThat(d.refused()).as(row + ": refused whole, fail closed").isNotNull();
            assertThat(d.refused().status()).isIn(403, 502);
            assertThat(d.refused().getMessage()).doesNotContain("4111").doesNotContain("536-90");
            return;
        }
        assertThat(d.refused()).as(row + ": delivered").isNull();
        assertThat(d.status()).isEqualTo(row.status());
        for (Map.Entry<String, String> r : readings(d.body(), d.contentType()).entrySet()) {
            String digits = r.getValue().replaceAll("[^0-9]", "");
            assertThat(digits).as(row + ": " + r.getKey() + " reader of [" + d.contentType() + "]: " + r.getValue())
                    .doesNotContain(CARD).doesNotContain(SSN);
        }
        if (row.readable() != null) {
            Charset told = labelled(d.contentType());
            String text = new String(d.body(), told == null ? StandardCharsets.UTF_8 : told);
            assertThat(text).as(row + ": readable by the label it is told [" + d.contentType() + "]").contains(row.readable());
        }
    }

    /**
     * What the buffered path now reads twice or refuses must not touch clean answers: text that starts like a zlib
     * header, and text with event-stream or JSON lines but no entity, come out byte for byte.
     */
    @org.junit.jupiter.api.Test
    void should_leave_clean_answers_that_look_like_streams_or_zlib_byte_for_byte() {
        for (String[] c : new String[][] {
                {"text/plain", "x^2 + y^2 = z^2, so the order 4111 ships"},
                {"text/plain", "HK stocks rose 3% on 2026-11-30"},
                {"text/plain", "x= 5"},
                {null, "data: hello\n\ndata: world\n\n"},
                {"application/json", "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"},
                {"text/plain", "{\"a\":\"x\"}\nnot json\n{\"b\":\"y\"}\n"},
                {"image/png", "data: not an image, no entity\n\n"}}) {
            byte[] body = utf8(c[1]);
            assertThat(attest.masking.AnswerMasker.mask(body, c[0], MASKER, r -> { })).as(c[1]).isEqualTo(body);
        }
    }
}
