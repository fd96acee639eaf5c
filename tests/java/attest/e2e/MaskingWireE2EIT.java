package attest.e2e;

import attest.stack.Gateway;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.InflaterInputStream;

import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A hostile reviewer's attack on masking at the wire: what the upstream's bytes say beside the text. An upstream of
 * our own (JDK HttpServer) answers a chosen body with chosen headers (content codings, charsets, a byte order mark,
 * a byte that is not UTF-8, SSE fields beside {@code data:}, JSON inside a JSON string) through a real gateway on the
 * suite's rule set ({@code tests/e2e-masking-rules}: cards partial, the rest redacted). Written from docs/masking.md
 * only. The caller is the official OpenAI Java SDK where the answer is OpenAI's shape, raw HTTP otherwise; every
 * check reads the answer as that caller does, and the delivered body in the evidence.
 */
class MaskingWireE2EIT {
    static final String CARD = "4111 1111 1111 1111";
    static final String EMAIL = "jane.doe@example.com";
    static final String SSN = "536-90-4399";
    /** Digits of the card with everything else removed: no 8 of them may survive in a row. */
    static final List<String> DIGIT_RUNS = List.of("41111111", "11111111", "536904399");

    static HttpServer upstream;
    static ExecutorService upstreamThreads;
    static Gateway gateway;
    static int port;
    static int controlPort;
    static final Map<String, Reply> REPLIES = new ConcurrentHashMap<>();
    static final Pattern CASE = Pattern.compile("case:([A-Za-z0-9_.-]+)");

    /**
     * What the upstream answers: status, headers, and the body written piece by piece (each piece flushed); with
     * {@code breakOff} the connection is then closed without the body's end (no terminating chunk).
     */
    record Reply(int status, Map<String, String> headers, List<byte[]> pieces, boolean breakOff,
                 java.util.concurrent.CountDownLatch gate, int gateAt, java.util.concurrent.atomic.AtomicLong written) {
        Reply(int status, Map<String, String> headers, List<byte[]> pieces) {
            this(status, headers, pieces, false);
        }

        Reply(int status, Map<String, String> headers, List<byte[]> pieces, boolean breakOff) {
            this(status, headers, pieces, breakOff, null, -1, new java.util.concurrent.atomic.AtomicLong());
        }

        /** Before piece {@code i}: the upstream waits for the gate, when there is one there (at most 30 s). */
        void before(int i) throws IOException {
            if (gate != null && i == gateAt) {
                try {
                    gate.await(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }
        }
    }

    @BeforeAll
    static void up() throws Exception {
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        upstreamThreads = Executors.newFixedThreadPool(4);
        upstream.setExecutor(upstreamThreads);
        upstream.createContext("/", MaskingWireE2EIT::serve);
        upstream.start();
        Map<String, String> p = stack().extraGatewaySettings();
        p.put("attest.instance-id", "masking-wire");
        p.put("attest.upstream.llm.base-url", "http://127.0.0.1:" + upstream.getAddress().getPort());
        p.put("attest.masking.rules-dir", "tests/e2e-masking-rules");
        port = Integer.parseInt(p.get("attest.data.port"));
        controlPort = Integer.parseInt(p.get("attest.control.port"));
        gateway = new Gateway(p).start();
    }

    @AfterAll
    static void down() {
        if (gateway != null) {
            gateway.close();
        }
        if (upstream != null) {
            upstream.stop(0);
            upstreamThreads.shutdownNow();
        }
    }

    static void serve(HttpExchange ex) throws IOException {
        String req = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Matcher m = CASE.matcher(req);
        Reply r = m.find() ? REPLIES.get(m.group(1)) : null;
        if (r != null && r.breakOff()) {
            r.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
            ex.sendResponseHeaders(r.status(), 0);
            OutputStream out = ex.getResponseBody();
            for (int i = 0; i < r.pieces().size(); i++) {
                r.before(i);
                out.write(r.pieces().get(i));
                out.flush();
            }
            // the exchange is never closed: the server closes the connection, the body's end never written
            throw new IOException("the stand-in upstream breaks off");
        }
        try (ex) {
            if (r == null) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            r.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
            OutputStream out = ex.getResponseBody();
            if (r.pieces().size() == 1) {
                ex.sendResponseHeaders(r.status(), r.pieces().get(0).length);
                out.write(r.pieces().get(0));
                return;
            }
            ex.sendResponseHeaders(r.status(), 0); // chunked: one chunk per piece
            for (int i = 0; i < r.pieces().size(); i++) {
                r.before(i);
                out.write(r.pieces().get(i));
                out.flush();
                r.written().addAndGet(r.pieces().get(i).length);
            }
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String reply(String name, int status, Map<String, String> headers, List<byte[]> pieces) {
        REPLIES.put(name, new Reply(status, headers, pieces));
        return name;
    }

    /** An answer whose connection breaks off after these pieces: no terminating chunk. */
    static String breakingOff(String name, Map<String, String> headers, List<byte[]> pieces) {
        REPLIES.put(name, new Reply(200, headers, pieces, true));
        return name;
    }

    static String chat(String content) {
        return "{\"id\":\"chatcmpl-w\",\"object\":\"chat.completion\",\"created\":1764000000,\"model\":\"w\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":" + JSON.valueToTree(content)
                + "},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";
    }

    static String chunk(String content, String finish) {
        return "{\"id\":\"chatcmpl-w\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"w\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":" + JSON.valueToTree(content) + "},\"finish_reason\":"
                + finish + "}]}";
    }

    static OpenAIClient sdk(String rid) {
        return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/llm/v1")
                .apiKey(stack().userToken("alice")).putHeader("X-Request-Id", rid).maxRetries(0)
                .timeout(Duration.ofSeconds(30)).build();
    }

    static ChatCompletionCreateParams params(String name) {
        return ChatCompletionCreateParams.builder().model("w").addUserMessage("case:" + name).build();
    }

    static HttpResponse<byte[]> raw(String rid, String name, boolean stream) throws Exception {
        String body = "{\"model\":\"w\"," + (stream ? "\"stream\":true," : "")
                + "\"messages\":[{\"role\":\"user\",\"content\":\"case:" + name + "\"}]}";
        return E2E.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/llm/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + stack().userToken("alice"))
                .header("Content-Type", "application/json").header("X-Request-Id", rid)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Every way a reader sees the text: as is, NFKC, and with everything but letters, digits, '@' and '.' removed. */
    static void assertNoEntity(String what, String text) {
        String nfkc = Normalizer.normalize(text, Normalizer.Form.NFKC);
        String compact = nfkc.replaceAll("[^\\p{L}\\p{Nd}@.]", "");
        StringBuilder ascii = new StringBuilder();
        compact.codePoints().forEach(c -> ascii.append(Character.isDigit(c) ? (char) ('0' + Character.digit(c, 10))
                : new String(Character.toChars(c))));
        for (String run : DIGIT_RUNS) {
            assertThat(ascii.toString()).as("%s leaked digits %s: %s", what, run, text).doesNotContain(run);
        }
        assertThat(ascii.toString()).as("%s leaked an e-mail: %s", what, text).doesNotContain("jane.doe")
                .doesNotContain("rgen@k").doesNotContain("@example.com");
    }

    static Map<String, Object> terminal(String rid) {
        return await().atMost(Duration.ofSeconds(15)).until(() -> evidence(rid),
                row -> row != null && "terminal".equals(row.get("state")));
    }

    static void assertDeliveredClean(String rid, Charset charset) {
        Map<String, Object> row = terminal(rid);
        byte[] delivered = (byte[]) row.get("response_body");
        if (delivered != null) {
            assertNoEntity("the evidence's delivered body", new String(delivered, charset));
        }
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(o)) {
            g.write(b);
        }
        return o.toByteArray();
    }

    static byte[] deflate(byte[] b, boolean raw) throws IOException {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (DeflaterOutputStream d = new DeflaterOutputStream(o, new Deflater(Deflater.DEFAULT_COMPRESSION, raw))) {
            d.write(b);
        }
        return o.toByteArray();
    }

    static List<byte[]> pieces(byte[] b, int size) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < b.length; i += size) {
            out.add(java.util.Arrays.copyOfRange(b, i, Math.min(b.length, i + size)));
        }
        return out;
    }

    /** Decodes what the caller got as a client does: by the Content-Encoding it was told, outermost last. */
    static byte[] decode(byte[] body, String contentEncoding) throws IOException {
        List<String> codings = new ArrayList<>(List.of(contentEncoding.toLowerCase().split("\\s*,\\s*")));
        java.util.Collections.reverse(codings);
        for (String c : codings) {
            body = switch (c.trim()) {
                case "gzip", "x-gzip" -> new GZIPInputStream(new ByteArrayInputStream(body)).readAllBytes();
                case "deflate" -> new InflaterInputStream(new ByteArrayInputStream(body)).readAllBytes();
                default -> body;
            };
        }
        return body;
    }

    // ---- content codings: an answer the gateway cannot read is refused, one it can is masked ------------------------

    static Stream<Object[]> codings() throws IOException {
        byte[] plain = utf8(chat("card " + CARD + " mail " + EMAIL + " ssn " + SSN));
        byte[] sse = utf8("data: " + chunk("card 4111 1111", "null") + "\n\ndata: " + chunk(" 1111 1111 mail jane.doe",
                "null") + "\n\ndata: " + chunk("@example.com ok", "\"stop\"") + "\n\ndata: [DONE]\n\n");
        Map<String, String> json = Map.of("Content-Type", "application/json");
        Map<String, String> events = Map.of("Content-Type", "text/event-stream");
        List<Object[]> rows = new ArrayList<>();
        rows.add(new Object[] {"GZIP upper case", with(json, "GZIP"), List.of(gzip(plain)), false});
        rows.add(new Object[] {"gzip, identity", with(json, "gzip, identity"), List.of(gzip(plain)), false});
        rows.add(new Object[] {"identity, gzip", with(json, "identity, gzip"), List.of(gzip(plain)), false});
        rows.add(new Object[] {"x-gzip", with(json, "x-gzip"), List.of(gzip(plain)), false});
        rows.add(new Object[] {"deflate zlib", with(json, "deflate"), List.of(deflate(plain, false)), false});
        rows.add(new Object[] {"deflate raw", with(json, "deflate"), List.of(deflate(plain, true)), false});
        rows.add(new Object[] {"gzip twice", with(json, "gzip, gzip"), List.of(gzip(gzip(plain))), false});
        rows.add(new Object[] {"deflate then gzip", with(json, "deflate, gzip"), List.of(gzip(deflate(plain, false))),
            false});
        rows.add(new Object[] {"plain body labelled gzip", with(json, "gzip"), List.of(plain), false});
        rows.add(new Object[] {"plain body labelled an unknown coding", with(json, "foo"), List.of(plain), false});
        rows.add(new Object[] {"plain body labelled br", with(json, "br"), List.of(plain), false});
        rows.add(new Object[] {"gzip body cut short", with(json, "gzip"),
            List.of(java.util.Arrays.copyOf(gzip(plain), gzip(plain).length - 12)), false});
        rows.add(new Object[] {"gzip stream in 1-byte chunks", with(events, "gzip"), pieces(gzip(sse), 1), true});
        rows.add(new Object[] {"deflate stream in 3-byte chunks", with(events, "deflate"), pieces(deflate(sse, false), 3),
            true});
        rows.add(new Object[] {"zstd stream", with(events, "zstd"), pieces(com.github.luben.zstd.Zstd.compress(sse), 7),
            true});
        rows.add(new Object[] {"gzip stream labelled twice", with(events, "gzip, gzip"), pieces(gzip(gzip(sse)), 5),
            true});
        return rows.stream();
    }

    static Map<String, String> with(Map<String, String> base, String coding) {
        Map<String, String> h = new LinkedHashMap<>(base);
        h.put("Content-Encoding", coding);
        return h;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("codings")
    void should_mask_or_refuse_whatever_content_coding_the_upstream_claims(String name, Map<String, String> headers,
            List<byte[]> body, boolean stream) throws Exception {
        String c = reply("coding-" + name.replaceAll("[^A-Za-z0-9]", "-"), 200, headers, body);
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, stream);
        String coding = r.headers().firstValue("Content-Encoding").orElse("identity");
        byte[] got;
        try {
            got = decode(r.body(), coding);
        } catch (IOException unreadable) {
            got = r.body();
        }
        String text = new String(got, StandardCharsets.UTF_8);
        assertNoEntity(name + " (status " + r.statusCode() + ", Content-Encoding " + coding + ")", text);
        assertNoEntity(name + " read as ISO-8859-1", new String(got, StandardCharsets.ISO_8859_1));
        if (r.statusCode() == 200) {
            assertThat(coding).as("a masked answer goes out decoded").isEqualTo("identity");
            assertThat(text).contains("[EMAIL]");
        } else {
            assertThat(r.statusCode()).as(text).isEqualTo(502);
        }
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }
    // ---- JSON inside a JSON string: tool-call arguments and JSON-mode content --------------------------------------

    /** Arguments as Python's json.dumps writes them (ensure_ascii): every non-ASCII character a \\u escape. */
    static final String ARGS = "{\"to\": \"j\\u00fcrgen@k\\u00f6ln-messe.example\", \"cc\": \"jane.doe\\u0040example.com\","
            + " \"card\": \"\\uff14\\uff11\\uff11\\uff11 1111 1111 1111\", \"ssn\": \"536\\u201190\\u20114399\"}";

    static String toolCall(String arguments) {
        return "{\"id\":\"chatcmpl-w\",\"object\":\"chat.completion\",\"created\":1764000000,\"model\":\"w\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
                + "\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"send\",\"arguments\":"
                + JSON.valueToTree(arguments) + "}}]},\"finish_reason\":\"tool_calls\"}]}";
    }

    static String toolChunk(String arguments, String finish) {
        return "{\"id\":\"chatcmpl-w\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"w\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                + JSON.valueToTree(arguments) + "}}]},\"finish_reason\":" + finish + "}]}";
    }

    /** The values a caller gets by parsing the arguments, as every tool-calling client does. */
    static String parsedValues(String arguments) throws Exception {
        StringBuilder b = new StringBuilder();
        JSON.readTree(arguments).forEach(v -> b.append(v.asText()).append('\n'));
        return b.toString();
    }

    @Test
    void should_mask_entities_written_as_escapes_in_tool_call_arguments() throws Exception {
        String c = reply("args-escaped", 200, Map.of("Content-Type", "application/json"), List.of(utf8(toolCall(ARGS))));
        String rid = newRequestId();
        ChatCompletion got = sdk(rid).chat().completions().create(params(c));
        String arguments = got.choices().get(0).message().toolCalls().orElseThrow().get(0).asFunction().function()
                .arguments();
        assertNoEntity("parsed tool-call arguments", parsedValues(arguments));
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    @Test
    void should_mask_entities_written_as_escapes_in_streamed_tool_call_arguments() throws Exception {
        int cut = ARGS.indexOf("example.com");
        String first = "{\"id\":\"chatcmpl-w\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"w\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
                + "\"type\":\"function\",\"function\":{\"name\":\"send\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}";
        String c = reply("args-escaped-stream", 200, Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("data: " + first + "\n\n"), utf8("data: " + toolChunk(ARGS.substring(0, cut), "null") + "\n\n"),
                utf8("data: " + toolChunk(ARGS.substring(cut), "\"tool_calls\"") + "\n\n"), utf8("data: [DONE]\n\n")));
        String rid = newRequestId();
        StringBuilder arguments = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = sdk(rid).chat().completions().createStreaming(params(c))) {
            s.stream().forEach(ch -> ch.choices().forEach(x -> x.delta().toolCalls().ifPresent(calls -> calls.forEach(
                    call -> call.function().flatMap(f -> f.arguments()).ifPresent(arguments::append)))));
        }
        assertNoEntity("parsed streamed tool-call arguments", parsedValues(arguments.toString()));
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    @Test
    void should_mask_entities_written_as_escapes_in_json_mode_content() throws Exception {
        String c = reply("json-mode", 200, Map.of("Content-Type", "application/json"), List.of(utf8(chat(ARGS))));
        String rid = newRequestId();
        ChatCompletion got = sdk(rid).chat().completions().create(params(c));
        assertNoEntity("parsed JSON-mode content", parsedValues(got.choices().get(0).message().content().orElseThrow()));
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    // ---- charsets and bytes -----------------------------------------------------------------------------------------

    @Test
    void should_mask_a_text_answer_with_one_byte_that_is_not_utf8() throws Exception {
        byte[] body = utf8("card 4111\u00a01111\u00a01111\u00a01111, again \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11"
                + " \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11, mail j\u00fcrgen@k\u00f6ln-messe.example \u2603 ~");
        body[body.length - 1] = (byte) 0xFF; // one stray byte: every reader shows it as U+FFFD
        String c = reply("stray-byte", 200, Map.of("Content-Type", "text/plain"), List.of(body));
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, false);
        String text = new String(r.body(), StandardCharsets.UTF_8); // as java.net.http, browsers and requests read it
        assertNoEntity("status " + r.statusCode(), text);
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    static Stream<String> charsets() {
        return Stream.of("UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("charsets")
    void should_mask_a_text_answer_in_the_charset_it_declares(String charset) throws Exception {
        Charset cs = Charset.forName(charset);
        String c = reply("charset-" + charset, 200, Map.of("Content-Type", "text/plain; charset=" + charset),
                List.of(("card " + CARD + " mail " + EMAIL + " ssn " + SSN).getBytes(cs)));
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, false);
        // read by the charset the answer declares, as java.net.http's ofString and every browser do
        String type = r.headers().firstValue("Content-Type").orElse("");
        Matcher m = Pattern.compile("charset=\"?([A-Za-z0-9_-]+)").matcher(type);
        String text = new String(r.body(), m.find() ? Charset.forName(m.group(1)) : StandardCharsets.UTF_8);
        assertNoEntity("status " + r.statusCode() + ", " + type, text);
        assertDeliveredClean(rid, cs);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("charsets")
    void should_mask_a_relayed_text_answer_in_the_charset_it_declares(String charset) throws Exception {
        Charset cs = Charset.forName(charset);
        byte[] body = ("card " + CARD + " mail " + EMAIL + " ssn " + SSN + " ok").getBytes(cs);
        String c = reply("relayed-charset-" + charset, 200, Map.of("Content-Type", "text/plain; charset=" + charset),
                pieces(body, 5)); // chunked, cut inside characters
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, true);
        String type = r.headers().firstValue("Content-Type").orElse("");
        Matcher m = Pattern.compile("charset=\"?([A-Za-z0-9_-]+)").matcher(type);
        String text = new String(r.body(), m.find() ? Charset.forName(m.group(1)) : StandardCharsets.UTF_8);
        assertNoEntity("status " + r.statusCode() + ", " + type, text);
        assertDeliveredClean(rid, cs);
    }

    // ---- SSE framing ---------------------------------------------------------------------------------------------------

    /** An event stream read as the WHATWG spec reads it: one leading BOM ignored, the data of each event joined. */
    static List<String> whatwgData(String stream) {
        if (stream.startsWith("\uFEFF")) {
            stream = stream.substring(1);
        }
        List<String> events = new ArrayList<>();
        StringBuilder data = null;
        for (String line : stream.split("\r\n|\r|\n", -1)) {
            if (line.isEmpty()) {
                if (data != null) {
                    events.add(data.toString());
                }
                data = null;
            } else if (line.startsWith("data")) {
                String v = line.substring(4);
                v = v.startsWith(":") ? v.substring(1) : "";
                v = v.startsWith(" ") ? v.substring(1) : v;
                data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
            }
        }
        return events;
    }

    static String joinedContent(List<String> events) throws Exception {
        StringBuilder b = new StringBuilder();
        for (String e : events) {
            if (e.startsWith("{")) {
                JSON.readTree(e).path("choices").forEach(ch -> b.append(ch.path("delta").path("content").asText("")));
            }
        }
        return b.toString();
    }

    @Test
    void should_mask_a_stream_that_starts_with_a_byte_order_mark() throws Exception {
        String c = reply("sse-bom", 200, Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("\uFEFFdata: " + chunk("card 4111 1111", "null") + "\n\n"),
                utf8("data: " + chunk(" 1111 1111 ok", "\"stop\"") + "\n\n"), utf8("data: [DONE]\n\n")));
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, true);
        String text = joinedContent(whatwgData(new String(r.body(), StandardCharsets.UTF_8)));
        assertNoEntity("a stream with a BOM, as an EventSource reads it", text);
        assertThat(text).contains("ok");
        Map<String, Object> row = terminal(rid);
        assertNoEntity("the delivered stream", joinedContent(whatwgData(new String((byte[]) row.get("response_body"),
                StandardCharsets.UTF_8))));
    }

    @Test
    void should_not_copy_an_event_name_with_an_entity_onto_a_released_event() throws Exception {
        // the event's name and id are what EventSource hands the caller (event.type, lastEventId)
        String c = reply("sse-event-name", 200, Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("event: chunk\ndata: " + chunk("card 4111 1111 1111 1111 and", "null") + "\n\n"),
                utf8("event: chunk " + SSN + "\ndata: " + chunk(" order 12", "null") + "\n\n"),
                utf8("data: [DONE]\n\n")));
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, true);
        String text = new String(r.body(), StandardCharsets.UTF_8);
        assertNoEntity("the stream's bytes", text);
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    @Test
    void should_not_release_half_a_card_when_text_follows_a_finish_reason() throws Exception {
        String c = reply("sse-after-finish", 200, Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("data: " + chunk("card 4111 1111", "\"length\"") + "\n\n"),
                utf8("data: " + chunk(" 1111 1111 ok", "\"stop\"") + "\n\n"), utf8("data: [DONE]\n\n")));
        String rid = newRequestId();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = sdk(rid).chat().completions().createStreaming(params(c))) {
            s.stream().forEach(ch -> ch.choices().forEach(x -> x.delta().content().ifPresent(text::append)));
        }
        assertNoEntity("the SDK's joined content", text.toString().replace(" ", "").replace("[CARD****1111]", " "));
        assertThat(text.toString()).doesNotContain("4111 1111").contains("ok");
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    @Test
    void should_not_release_half_a_card_when_a_usage_chunk_and_text_follow_a_finish_reason() throws Exception {
        String usage = "{\"id\":\"chatcmpl-w\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,"
                + "\"model\":\"w\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,"
                + "\"total_tokens\":3}}";
        String c = reply("sse-usage-after-finish", 200, Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("data: " + chunk("card 4111 1111", "\"length\"") + "\n\n"), utf8("data: " + usage + "\n\n"),
                utf8("data: " + chunk(" 1111 1111 ok", "\"stop\"") + "\n\n"), utf8("data: [DONE]\n\n")));
        String rid = newRequestId();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = sdk(rid).chat().completions().createStreaming(params(c))) {
            s.stream().forEach(ch -> ch.choices().forEach(x -> x.delta().content().ifPresent(text::append)));
        }
        assertNoEntity("the SDK's joined content", text.toString().replace(" ", "").replace("[CARD****1111]", " "));
        assertThat(text.toString()).doesNotContain("4111 1111").contains("ok");
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    // ---- where a stream's held text ends up (StreamEndsAttackTest) ---------------------------------------------------

    /** An error event whose message ends in a card went out twice: cut before the card, then with the card's tail. */
    @Test
    void should_send_an_error_event_once_masked() throws Exception {
        String c = reply("sse-error-event", 200, Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("data: " + chunk("hello", "null") + "\n\n"),
                utf8("event: error\ndata: {\"error\":{\"message\":\"declined: card " + CARD + "\"}}\n\n")));
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, true);
        String body = new String(r.body(), StandardCharsets.UTF_8);
        assertNoEntity("the stream's bytes", body);
        assertThat(body.split("event: error", -1)).as(body).hasSize(2);
        assertThat(whatwgData(body)).as(body).filteredOn(d -> d.contains("\"error\"")).singleElement()
                .satisfies(d -> assertThat(d).contains("declined: card [CARD"));
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    /** Logprobs held with text that [DONE] released went out nowhere, and the report did not say they were hidden. */
    @Test
    void should_release_held_logprobs_with_their_text_at_done_and_report_them() throws Exception {
        String lp = "{\"content\":[{\"token\":\"ssn\",\"logprob\":-0.1,\"bytes\":[115,115,110],\"top_logprobs\":[]},"
                + "{\"token\":\" 536-90-4399\",\"logprob\":-0.2,\"bytes\":null,\"top_logprobs\":[]}],\"refusal\":null}";
        String c = reply("sse-logprobs-at-done", 200, Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("data: " + chunk("ssn " + SSN, "null").replace("\"finish_reason\"", "\"logprobs\":" + lp
                        + ",\"finish_reason\"") + "\n\n"), utf8("data: [DONE]\n\n")));
        String rid = newRequestId();
        StringBuilder text = new StringBuilder();
        StringBuilder tokens = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = sdk(rid).chat().completions().createStreaming(params(c))) {
            s.stream().forEach(ch -> ch.choices().forEach(x -> {
                x.delta().content().ifPresent(text::append);
                x.logprobs().flatMap(l -> l.content()).ifPresent(l -> l.forEach(t -> tokens.append(t.token())));
            }));
        }
        assertThat(text.toString()).isEqualTo("ssn [SSN]");
        assertNoEntity("the SDK's logprobs tokens", tokens.toString());
        Map<String, Object> row = terminal(rid);
        assertThat((String) row.get("masking_report")).contains("LOGPROBS").contains("redact_field");
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    /** A card split between a chunk's text and an event that is not valid JSON went out in halves, both unmasked. */
    @Test
    void should_mask_a_card_split_between_a_chunk_and_an_event_that_is_not_json() throws Exception {
        String c = reply("sse-not-json", 200, Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("data: " + chunk("card 4111 1111", "null") + "\n\n"), utf8("data:  1111 1111 ok\n\n"),
                utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"mail jane.d\"}}\n\n"),
                utf8("data: " + chunk("oe@example.com done", "\"stop\"") + "\n\n"), utf8("data: [DONE]\n\n")));
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, true);
        String body = new String(r.body(), StandardCharsets.UTF_8);
        StringBuilder read = new StringBuilder(); // as a client that shows chunks' text and other data as it comes
        for (String data : whatwgData(body)) {
            if (data.equals("[DONE]")) {
                continue;
            }
            JsonNode json = null;
            try {
                json = data.startsWith("{") ? JSON.readTree(data) : null;
            } catch (IOException notJson) {
                // shown as it came
            }
            if (json == null) {
                read.append(data);
            } else {
                json.path("choices").forEach(x -> read.append(x.path("delta").path("content").asText("")));
            }
        }
        assertNoEntity("the stream read in order", read.toString());
        assertNoEntity("the stream's bytes", body);
        assertThat(read.toString()).contains("ok").endsWith("done");
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    // ---- streams of other APIs: a text split across events ----------------------------------------------------------

    /** The pieces every stream below splits its text into: a card and an address across three events. */
    static final List<String> SPLIT = List.of("card 4111 1111", " 1111 1111 mail jane.doe", "@example.com ok");

    static Stream<Object[]> splitStreams() {
        return Stream.of(
                new Object[] {"Triton generate_stream (text_output)", "text/event-stream", "/text_output",
                    "data: {\"model_name\":\"m\",\"model_version\":\"1\",\"text_output\":%s}\n\n", ""},
                new Object[] {"OpenAI Assistants thread.message.delta (text.value)", "text/event-stream",
                    "/delta/content/0/text/value", "event: thread.message.delta\ndata: {\"id\":\"msg_1\",\"object\":"
                        + "\"thread.message.delta\",\"delta\":{\"content\":[{\"index\":0,\"type\":\"text\",\"text\":"
                        + "{\"value\":%s,\"annotations\":[]}}]}}\n\n", "event: done\ndata: [DONE]\n\n"},
                new Object[] {"chat chunk whose delta.content is a list of parts (Mistral)", "text/event-stream",
                    "/choices/0/delta/content", "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
                        + "\"model\":\"magistral\",\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"text\","
                        + "\"text\":%s}]},\"finish_reason\":null}]}\n\n", "data: [DONE]\n\n"},
                new Object[] {"events whose data is a JSON string", "text/event-stream", "", "data: %s\n\n", ""},
                new Object[] {"NDJSON with a leading byte order mark (Ollama)", "application/x-ndjson", "/response",
                    "{\"model\":\"m\",\"response\":%s,\"done\":false}\n", "{\"model\":\"m\",\"response\":\"\",\"done\":true}\n"});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("splitStreams")
    void should_mask_a_text_split_across_the_events_of_other_apis(String name, String type, String pointer,
            String event, String last) throws Exception {
        List<byte[]> pieces = new ArrayList<>();
        for (int i = 0; i < SPLIT.size(); i++) {
            String e = event.formatted(JSON.writeValueAsString(SPLIT.get(i)));
            pieces.add(utf8(i == 0 && type.contains("ndjson") ? "\uFEFF" + e : e));
        }
        pieces.add(utf8(last));
        String c = reply("split-" + name.replaceAll("[^A-Za-z0-9]", "-"), 200, Map.of("Content-Type", type), pieces);
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, true);
        String body = new String(r.body(), StandardCharsets.UTF_8);
        List<String> records = type.contains("ndjson")
                ? List.of(body.replaceFirst("^\uFEFF", "").split("\n")) : whatwgData(body);
        StringBuilder joined = new StringBuilder();
        for (String data : records) {
            if (!data.isBlank() && !data.equals("[DONE]")) {
                JsonNode text = JSON.readTree(data).at(pointer);
                if (text.isArray()) { // content parts: a client joins their texts (Mistral's takes a string or parts)
                    text.forEach(part -> joined.append(part.path("text").asText("")));
                } else {
                    joined.append(text.asText(""));
                }
            }
        }
        assertNoEntity(name + " joined as its client joins it", joined.toString());
        assertThat(joined.toString()).endsWith(" ok");
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    // ---- content types that lie -------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"application/octet-stream", "image/png",
        "application/x-protobuf", "audio/mpeg"})
    void should_mask_a_json_answer_labelled_binary(String type) throws Exception {
        String c = reply("labelled-" + type.replace('/', '-'), 200, Map.of("Content-Type", type),
                List.of(utf8(chat("card " + CARD + " mail " + EMAIL + " ssn " + SSN))));
        String rid = newRequestId();
        // the SDK reads a chat completion's body as JSON whatever its label
        ChatCompletion got = sdk(rid).chat().completions().create(params(c));
        assertNoEntity("the SDK's content under " + type, got.choices().get(0).message().content().orElse(""));
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    // ---- held calls: executed after approval, masked by the same masker ---------------------------------------------

    @ParameterizedTest(name = "stream {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void should_mask_a_held_call_released_after_approval(boolean stream) throws Exception {
        String c = stream
                ? reply("held-stream", 200, Map.of("Content-Type", "text/event-stream"), List.of(
                        utf8("\uFEFFdata: " + chunk("card 4111 1111", "null") + "\n\n"),
                        utf8("data: " + chunk(" 1111 1111 mail j\u00fcrgen@k", "null") + "\n\n"),
                        utf8("data: " + chunk("\u00f6ln-messe.example ok", "\"stop\"") + "\n\ndata: [DONE]\n\n")))
                : reply("held-args", 200, Map.of("Content-Type", "application/octet-stream"),
                        List.of(utf8(toolCall(ARGS))));
        String base = "http://127.0.0.1:" + port;
        String rid = newRequestId();
        String id = ApprovalE2EIT.hold(base, "alice", rid, "{\"model\":\"w\"," + (stream ? "\"stream\":true," : "")
                + "\"messages\":[{\"role\":\"user\",\"content\":\"" + ApprovalE2EIT.RISKY + " case:" + c + "\"}]}");
        HttpResponse<String> decided = ApprovalE2EIT.decide("http://127.0.0.1:" + controlPort, id,
                stack().userToken("bob"), "approve");
        assertThat(decided.statusCode()).as(decided.body()).isEqualTo(200);
        HttpResponse<String> r = await().atMost(Duration.ofSeconds(20)).until(() -> ApprovalE2EIT.get(
                base + "/approvals/" + id + "/result", stack().userToken("alice")), x -> x.statusCode() != 202);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String text = stream ? joinedContent(whatwgData(r.body()))
                : parsedValues(JSON.readTree(r.body()).at("/choices/0/message/tool_calls/0/function/arguments").asText());
        assertNoEntity("the held call's result", text);
        assertThat(text).contains(stream ? "ok" : "[");
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    // ---- HTML -------------------------------------------------------------------------------------------------------

    @Test
    void should_mask_entities_written_with_html_character_references() throws Exception {
        String c = reply("html", 200, Map.of("Content-Type", "text/html; charset=utf-8"), List.of(utf8(
                "<p>Mail jane.doe&#64;example.com or jane.doe&#x40;example.com or jane.doe&commat;example.com,"
                        + " card 4111&nbsp;1111&nbsp;1111&nbsp;1111, SSN 536&#45;90&#45;4399.</p>")));
        String rid = newRequestId();
        HttpResponse<byte[]> r = raw(rid, c, false);
        // what a browser shows: the references decoded
        String shown = new String(r.body(), StandardCharsets.UTF_8).replace("&#64;", "@").replace("&#x40;", "@")
                .replace("&commat;", "@").replace("&nbsp;", "\u00a0").replace("&#45;", "-");
        assertNoEntity("the page as a browser shows it", shown);
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    // ---- markdown and URLs: what a renderer decodes -------------------------------------------------------------------

    /** What a chat UI shows: markdown's backslash escapes rendered, a link's percent-encoding decoded. */
    static String rendered(String markdown) {
        String unescaped = markdown.replaceAll("\\\\([!-/:-@\\[-`{-~])", "$1");
        return java.net.URLDecoder.decode(unescaped.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"Mail jane\\_doe@example.com today.",
        "Mail jane\\.doe\\@example\\.com today.", "Card 4111\\-1111\\-1111\\-1111 today.",
        "See [her page](https://x.example/u?mail=jane.doe%40example.com&card=4111%201111%201111%201111).",
        "Write to <mailto:jane.doe%40example.com>.", "SSN 536%2D90%2D4399 today."})
    void should_mask_entities_a_markdown_renderer_shows(String content) throws Exception {
        String c = reply("md-" + Integer.toHexString(content.hashCode()), 200, Map.of("Content-Type", "application/json"),
                List.of(utf8(chat(content))));
        String rid = newRequestId();
        ChatCompletion got = sdk(rid).chat().completions().create(params(c));
        String shown = rendered(got.choices().get(0).message().content().orElse(""));
        assertNoEntity("the answer as a chat UI renders it", shown);
        assertThat(shown).doesNotContain("jane_doe").contains("[");
        assertDeliveredClean(rid, StandardCharsets.UTF_8);
    }

    // ---- a stream that breaks off: the caller gets what masking can release, the evidence says exactly that --------

    /** What the caller's socket got: the status line and head, the body of the chunks, and whether they were ended. */
    record Wire(String head, byte[] body, boolean terminated) {
    }

    /** A streamed call over a raw socket, read until the gateway closes the connection. */
    static Wire rawStream(String rid, String name) throws Exception {
        byte[] body = utf8("{\"model\":\"w\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"case:"
                + name + "\"}]}");
        byte[] all;
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000); // a gateway that never ends the connection fails here, it does not hang
            OutputStream o = s.getOutputStream();
            o.write(utf8("POST /llm/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAuthorization: Bearer "
                    + stack().userToken("alice") + "\r\nContent-Type: application/json\r\nX-Request-Id: " + rid
                    + "\r\nContent-Length: " + body.length + "\r\n\r\n"));
            o.write(body);
            o.flush();
            all = s.getInputStream().readAllBytes();
        }
        String text = new String(all, StandardCharsets.ISO_8859_1);
        int at = text.indexOf("\r\n\r\n") + 4;
        String head = text.substring(0, at);
        assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("transfer-encoding: chunked");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (at < all.length) {
            int eol = text.indexOf("\r\n", at);
            assertThat(eol).as("a chunk's size line cut short: %s", text.substring(at)).isPositive();
            int n = Integer.parseInt(text.substring(at, eol).trim(), 16);
            if (n == 0) {
                return new Wire(head, out.toByteArray(), true);
            }
            out.write(all, eol + 2, n);
            at = eol + 2 + n + 2;
        }
        return new Wire(head, out.toByteArray(), false);
    }

    static String sha256(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** The call's terminal evidence says exactly what the caller got, and that the stream broke off. */
    static Map<String, Object> assertEvidenceOf(String rid, byte[] delivered) throws Exception {
        Map<String, Object> row = terminal(rid);
        assertThat(row.get("outcome")).isEqualTo("upstream_error");
        assertThat(row.get("response_sha256")).isEqualTo(sha256(delivered));
        assertThat(((Number) row.get("response_size")).longValue()).isEqualTo(delivered.length);
        assertThat((byte[]) row.get("response_body")).isEqualTo(delivered);
        assertThat(row.get("raw_response_sha256")).isNotEqualTo(row.get("response_sha256"));
        return row;
    }

    /**
     * The upstream breaks off with half a card held and the next event cut inside a character, after many small pieces:
     * the caller's socket gets every piece before, masked, then the connection closes without the terminating chunk;
     * the record's digest, size and body are those bytes, and its report says held text was dropped.
     */
    @Test
    void should_deliver_what_masking_released_and_record_exactly_that_when_the_upstream_breaks_off() throws Exception {
        List<byte[]> pieces = new ArrayList<>();
        StringBuilder words = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            words.append("w").append(i).append(' ');
            pieces.add(utf8("data: " + chunk("w" + i + " ", "null") + "\n\n"));
        }
        pieces.add(utf8("data: " + chunk("card 4111 1111", "null") + "\n\n"));
        byte[] next = utf8("data: " + chunk(" 1111 1111 für dich", "null") + "\n\n");
        int inside = new String(next, StandardCharsets.UTF_8).indexOf("ü") + 1;
        pieces.add(java.util.Arrays.copyOf(next, inside)); // cut after the first byte of ü
        String c = breakingOff("sse-break-off-mid-card", Map.of("Content-Type", "text/event-stream"), pieces);
        String rid = newRequestId();

        Wire w = rawStream(rid, c);

        String body = new String(w.body(), StandardCharsets.UTF_8);
        assertThat(w.terminated()).as("a stream cut must not look complete:%n%s", body).isFalse();
        assertNoEntity("the stream's bytes", body);
        assertThat(body).doesNotContain("\uFFFD").doesNotContain("[DONE]");
        assertThat(joinedContent(whatwgData(body))).isEqualTo(words + "card ");
        Map<String, Object> row = assertEvidenceOf(rid, w.body());
        assertThat((String) row.get("masking_report")).contains("HELD_TEXT").contains("\"drop\"");
    }

    /**
     * The upstream breaks off right after a finishing chunk that holds a card, an error event behind it: the official SDK
     * gets the text with the card masked and the finish, then fails (it can tell the stream was cut); the raw caller gets
     * the error event too; the record says what was sent and what was masked.
     */
    @Test
    void should_deliver_a_finishing_chunk_held_at_a_break_off_masked() throws Exception {
        String c = breakingOff("sse-break-off-after-finish", Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("data: " + chunk("hello, ", "null") + "\n\n"),
                utf8("data: " + chunk("your card " + CARD, "\"stop\"") + "\n\n")));
        String rid = newRequestId();
        StringBuilder text = new StringBuilder();
        StringBuilder finish = new StringBuilder();
        Throwable failed = null;
        try (StreamResponse<ChatCompletionChunk> s = sdk(rid).chat().completions().createStreaming(params(c))) {
            s.stream().forEach(ch -> ch.choices().forEach(x -> {
                x.delta().content().ifPresent(text::append);
                x.finishReason().ifPresent(f -> finish.append(f.asString()));
            }));
        } catch (RuntimeException e) {
            failed = e;
        }
        assertThat(text.toString()).isEqualTo("hello, your card [CARD ****1111]");
        assertThat(finish.toString()).isEqualTo("stop");
        assertThat(failed).as("the SDK must see the stream cut").isNotNull();
        Map<String, Object> row = terminal(rid);
        assertThat(row.get("outcome")).isEqualTo("upstream_error");
        byte[] delivered = (byte[]) row.get("response_body");
        assertThat(row.get("response_sha256")).isEqualTo(sha256(delivered));
        assertThat(new String(delivered, StandardCharsets.UTF_8)).contains("[CARD ****1111]").doesNotContain("4111 1111");
        assertThat((String) row.get("masking_report")).contains("CARD").contains("partial");

        String e = breakingOff("sse-break-off-error-behind-finish", Map.of("Content-Type", "text/event-stream"), List.of(
                utf8("data: " + chunk("your card " + CARD, "\"stop\"") + "\n\n"),
                utf8("event: error\ndata: {\"error\":{\"message\":\"overloaded, ssn " + SSN + "\"}}\n\n")));
        String rid2 = newRequestId();
        Wire w = rawStream(rid2, e);
        String body = new String(w.body(), StandardCharsets.UTF_8);
        assertThat(w.terminated()).isFalse();
        assertNoEntity("the stream's bytes", body);
        assertThat(body).contains("[CARD ****1111]").contains("event: error").contains("overloaded, ssn [SSN]");
        assertEvidenceOf(rid2, w.body());
    }

    // ---- NDJSON relayed live (Ollama's native API): masked, incremental, with its evidence -------------------------

    static final Map<String, String> NDJSON = Map.of("Content-Type", "application/x-ndjson");

    /** One line of an Ollama chat stream; the last ({@code done}) counts the tokens. */
    static String ollama(String content, boolean done) {
        return "{\"model\":\"llama3\",\"created_at\":\"2026-11-30T20:00:00Z\",\"message\":{\"role\":\"assistant\","
                + "\"content\":" + JSON.valueToTree(content) + "},\"done\":" + done
                + (done ? ",\"done_reason\":\"stop\",\"prompt_eval_count\":12,\"eval_count\":34" : "") + "}\n";
    }

    /** The joined message contents of the lines a client parses (a line that is not JSON is shown as it is). */
    static String ollamaText(String body) {
        StringBuilder t = new StringBuilder();
        for (String line : body.split("\n")) {
            try {
                t.append(JSON.readTree(line).path("message").path("content").asText());
            } catch (IOException notJson) {
                t.append(line);
            }
        }
        return t.toString();
    }

    /**
     * A call read from the caller's raw socket as it arrives: the chunked framing is taken apart on the bytes, so a
     * test can wait for a line to reach the socket before it lets the upstream go on.
     */
    static final class LiveCall implements AutoCloseable {
        final java.net.Socket socket;
        final java.io.InputStream in;
        byte[] buf = new byte[1 << 16];
        int len;
        int at = -1; // the next chunk's size line, once the head is read
        String head;
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        boolean terminated;
        boolean closed;

        /** @param receiveBuffer the caller's socket receive buffer (a slow caller's small window), or 0 */
        LiveCall(String rid, String name, boolean stream, int receiveBuffer) throws Exception {
            socket = new java.net.Socket();
            if (receiveBuffer > 0) {
                socket.setReceiveBufferSize(receiveBuffer);
            }
            socket.connect(new InetSocketAddress("127.0.0.1", port));
            socket.setSoTimeout(15_000); // a gateway that holds the stream fails the test here, it does not hang
            byte[] req = utf8("{\"model\":\"w\"," + (stream ? "\"stream\":true," : "")
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"case:" + name + "\"}]}");
            OutputStream o = socket.getOutputStream();
            o.write(utf8("POST /llm/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAuthorization: "
                    + "Bearer " + stack().userToken("alice") + "\r\nContent-Type: application/json\r\nX-Request-Id: "
                    + rid + "\r\nContent-Length: " + req.length + "\r\n\r\n"));
            o.write(req);
            o.flush();
            in = socket.getInputStream();
        }

        String text() {
            return body.toString(StandardCharsets.UTF_8);
        }

        /** Reads at most {@code n} bytes more (blocking), then takes apart what can be; false at the socket's end. */
        boolean read(int n) throws IOException {
            if (len + n > buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
            }
            int got = in.read(buf, len, n);
            if (got < 0) {
                closed = true;
                return false;
            }
            len += got;
            parse();
            return true;
        }

        private int find(byte[] what, int from) {
            outer:
            for (int i = Math.max(0, from); i + what.length <= len; i++) {
                for (int j = 0; j < what.length; j++) {
                    if (buf[i + j] != what[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }

        private void parse() {
            if (head == null) {
                int end = find(utf8("\r\n\r\n"), 0);
                if (end < 0) {
                    return;
                }
                head = new String(buf, 0, end + 4, StandardCharsets.ISO_8859_1);
                assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("transfer-encoding: chunked");
                at = end + 4;
            }
            while (!terminated) {
                int eol = find(utf8("\r\n"), at);
                if (eol < 0) {
                    return;
                }
                int n = Integer.parseInt(new String(buf, at, eol - at, StandardCharsets.ISO_8859_1).trim(), 16);
                if (n == 0) {
                    terminated = true;
                    return;
                }
                if (len < eol + 2 + n + 2) {
                    return;
                }
                body.write(buf, eol + 2, n);
                at = eol + 2 + n + 2;
            }
        }

        /** Reads until the body holds {@code needle}; the socket's timeout fails the test if it never comes. */
        void readUntil(String needle) throws IOException {
            while (!text().contains(needle)) {
                assertThat(read(4096)).as("the connection ended before %s arrived: %s", needle, text()).isTrue();
            }
        }

        /** Reads to the connection's end (the gateway closes a cut stream) or the terminating chunk. */
        void readToEnd(int step) throws IOException {
            while (!terminated && read(step)) {
                // on
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** A streamed call read from the raw socket to its terminating chunk (the connection stays open) or its end. */
    static Wire liveStream(String rid, String name) throws Exception {
        try (LiveCall call = new LiveCall(rid, name, true, 0)) {
            call.readToEnd(64 * 1024);
            return new Wire(call.head, call.body.toByteArray(), call.terminated);
        }
    }

    /** The record of a streamed call says exactly what the caller's socket got. */
    static Map<String, Object> assertStreamEvidence(String rid, byte[] delivered, String outcome) throws Exception {
        Map<String, Object> row = terminal(rid);
        assertThat(row.get("outcome")).isEqualTo(outcome);
        assertThat(row.get("streamed")).isEqualTo(true);
        assertThat(row.get("response_sha256")).isEqualTo(sha256(delivered));
        assertThat(((Number) row.get("response_size")).longValue()).isEqualTo(delivered.length);
        if (delivered.length <= 1048576) {
            assertThat((byte[]) row.get("response_body")).isEqualTo(delivered);
        }
        assertThat(row.get("stream_timings")).isNotNull();
        return row;
    }

    /**
     * Ollama's NDJSON, a card and an e-mail each split across two lines' contents and the lines cut across TCP chunks
     * (mid-line, mid-entity, mid-character), asked for without {@code stream} (the upstream's label decides): the first
     * line reaches the caller's socket while the upstream still waits to send the rest; what the socket gets is masked
     * and ends with the terminating chunk; the record's digest, size and body are those bytes, its report names the
     * entities, and Ollama's last-line counts are the call's usage.
     */
    @Test
    void should_relay_ndjson_live_masked_with_the_entities_split_across_lines_and_chunks() throws Exception {
        byte[] rest = utf8(ollama("Your card is 4111 1111", false) + ollama(" 1111 1111 für dich, mail jane.doe@exa", false)
                + ollama("mple.com, ssn " + SSN + ". Bye.", false) + ollama("", true));
        int u = new String(rest, StandardCharsets.UTF_8).indexOf("ü") + 1;
        int mid = new String(rest, StandardCharsets.UTF_8).indexOf("1111 1111 f") + 3;
        int at = new String(rest, StandardCharsets.UTF_8).indexOf("@exa");
        List<byte[]> pieces = List.of(utf8(ollama("Hello. ", false)), java.util.Arrays.copyOfRange(rest, 0, mid),
                java.util.Arrays.copyOfRange(rest, mid, u), java.util.Arrays.copyOfRange(rest, u, at),
                java.util.Arrays.copyOfRange(rest, at, rest.length));
        java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
        REPLIES.put("ndjson-live", new Reply(200, NDJSON, pieces, false, gate, 1,
                new java.util.concurrent.atomic.AtomicLong()));
        String rid = newRequestId();

        byte[] delivered;
        try (LiveCall call = new LiveCall(rid, "ndjson-live", false, 0)) {
            call.readUntil("Hello. "); // the upstream has sent only its first line
            assertThat(call.text()).doesNotContain("card");
            gate.countDown();
            call.readToEnd(4096);
            assertThat(call.terminated).as("a completed stream ends with its terminating chunk").isTrue();
            assertThat(call.head).containsIgnoringCase("content-type: application/x-ndjson");
            delivered = call.body.toByteArray();
        }

        String body = new String(delivered, StandardCharsets.UTF_8);
        assertNoEntity("the stream's bytes", body);
        assertNoEntity("the stream's text", ollamaText(body));
        assertThat(body).doesNotContain("\uFFFD");
        assertThat(ollamaText(body)).isEqualTo("Hello. Your card is [CARD ****1111] für dich, mail [EMAIL], ssn [SSN]. Bye.");
        Map<String, Object> row = assertStreamEvidence(rid, delivered, "completed");
        assertThat((String) row.get("masking_report")).contains("CARD").contains("EMAIL").contains("SSN");
        assertThat(row.get("raw_response_sha256")).isNotEqualTo(row.get("response_sha256"));
        assertThat(row.get("usage_status")).isEqualTo("reported");
        assertThat(((Number) row.get("prompt_tokens")).longValue()).isEqualTo(12);
        assertThat(((Number) row.get("completion_tokens")).longValue()).isEqualTo(34);
    }

    /** A line of 600 KB in 1 KB TCP chunks, an e-mail split across two chunks inside it and a card at its end. */
    @Test
    void should_mask_a_very_long_ndjson_line() throws Exception {
        String filler = "lorem ipsum ".repeat(300 * 1024 / 12);
        byte[] all = utf8(ollama(filler + "mail jane.doe@example.com " + filler + "card " + CARD, false)
                + ollama("", true));
        String c = reply("ndjson-long-line", 200, NDJSON, pieces(all, 1024));
        String rid = newRequestId();

        Wire w = liveStream(rid, c);

        String body = new String(w.body(), StandardCharsets.UTF_8);
        assertThat(w.terminated()).isTrue();
        assertThat(body.contains("jane.doe") || body.contains("4111 1111")).as("an entity went out").isFalse();
        assertThat(body.contains("mail [EMAIL] ") && body.contains("[CARD ****1111]")).as("masked").isTrue();
        Map<String, Object> row = assertStreamEvidence(rid, w.body(), "completed");
        assertThat((String) row.get("masking_report")).contains("EMAIL").contains("CARD");
    }

    /**
     * An upstream that says NDJSON and sends lines that are not JSON (plain text, an HTML error, lines cut short), a
     * card and an e-mail split across them: nothing passes raw, the text is masked as the stream's text. (JSON with
     * text behind it cuts the stream: StreamShapeTest, LiveStreamAttackTest.)
     */
    @Test
    void should_mask_lines_that_are_not_json_under_an_ndjson_label() throws Exception {
        String c = reply("ndjson-not-json", 200, NDJSON, List.of(utf8("Your card is 4111 1111\n"),
                utf8(" 1111 1111 and mail jane.doe"), utf8("@example.com\n{\"response\":\"ssn 536-90-\"\n"),
                utf8("{\"response\":\"4399 ok\"\n<html>error 4111-1111-1111-1111</html>\n")));
        String rid = newRequestId();

        Wire w = liveStream(rid, c);

        String body = new String(w.body(), StandardCharsets.UTF_8);
        assertThat(w.terminated()).isTrue();
        assertNoEntity("the stream's bytes", body);
        assertThat(body).contains("[CARD ****1111]").contains("[EMAIL]").contains("<html>error ");
        Map<String, Object> row = assertStreamEvidence(rid, w.body(), "completed");
        assertThat((String) row.get("masking_report")).contains("CARD").contains("EMAIL");
    }

    /**
     * NDJSON relayed live breaks off mid-line, inside a character, half a card held from the line before: the caller's
     * socket gets the whole lines masked, then the connection closes without the terminating chunk; the record is
     * exactly those bytes and reports the drops.
     */
    @Test
    void should_deliver_the_whole_ndjson_lines_and_cut_when_the_upstream_breaks_off_mid_line() throws Exception {
        byte[] cut = utf8("{\"response\":\" 1111 1111 für dich\",\"done\":false}\n");
        int inside = new String(cut, StandardCharsets.UTF_8).indexOf("ü") + 1;
        String c = breakingOff("ndjson-break-off", NDJSON, List.of(
                utf8("{\"response\":\"mail " + EMAIL + " now. \",\"done\":false}\n"),
                utf8("{\"response\":\"card 4111 1111\",\"done\":false}\n"), java.util.Arrays.copyOf(cut, inside)));
        String rid = newRequestId();

        Wire w = rawStream(rid, c);

        String body = new String(w.body(), StandardCharsets.UTF_8);
        assertThat(w.terminated()).as("a stream cut must not look complete:%n%s", body).isFalse();
        assertNoEntity("the stream's bytes", body);
        assertThat(body).contains("mail [EMAIL] now. ").contains("\"card \"").doesNotContain("\uFFFD")
                .doesNotContain("dich");
        Map<String, Object> row = assertEvidenceOf(rid, w.body());
        assertThat((String) row.get("masking_report")).contains("HELD_TEXT").contains("ndjson-line").contains("\"drop\"");
    }

    /**
     * A caller that reads slowly (a small receive window, small reads, nothing read at first): the gateway stops reading
     * the upstream (its writes stall far below the stream's size), and once the caller reads, everything arrives in order
     * and masked; the record counts exactly what the caller got.
     */
    @Test
    void should_slow_the_upstream_down_to_a_slow_ndjson_caller() throws Exception {
        byte[] line = utf8(ollama("x".repeat(16 * 1024) + ". ", false));
        List<byte[]> pieces = new ArrayList<>(java.util.Collections.nCopies(3 * 1024, line)); // 48 MiB
        pieces.add(utf8(ollama("mail " + EMAIL + ".", false) + ollama("", true)));
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        REPLIES.put("ndjson-slow-caller", new Reply(200, NDJSON, pieces, false, null, -1, written));
        long total = (long) line.length * 3 * 1024;
        String rid = newRequestId();

        try (LiveCall call = new LiveCall(rid, "ndjson-slow-caller", true, 16 * 1024)) {
            call.read(1); // the head's first byte: the stream has begun
            await().atMost(Duration.ofSeconds(20)).until(() -> written.get() > 0);
            // the caller reads nothing: the upstream's writes stall once the buffers and the relay's bound are full
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(20))
                    .until(() -> written.get() < total / 2);
            call.readToEnd(8 * 1024);
            assertThat(call.terminated).isTrue();
            byte[] delivered = call.body.toByteArray();
            String body = new String(delivered, StandardCharsets.UTF_8);
            assertThat(body).doesNotContain("jane.doe").contains("[EMAIL]");
            assertThat(body.split("\n")).hasSize(3 * 1024 + 2);
            assertStreamEvidence(rid, delivered, "completed");
        }
    }
}
