package attest.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small OpenAI-compatible model server: the stand-in for an upstream in the dev stack, the tests and
 * the benchmark. It demands its own API key (so a test can see the gateway's injected credential) and
 * records every request it receives (so a test can see what reached it, and what did not).
 * <p>
 * Endpoints: {@code POST /v1/chat/completions} (plain and {@code stream: true}), {@code POST /v1/completions},
 * {@code POST /v1/responses} (the Responses API, plain and streamed with typed events), {@code GET /v1/models}.
 * Special models: {@code demo-error} answers 500, {@code demo-slow} waits {@code slowMillis} before answering,
 * {@code demo-hang-stream} sends one event and then goes silent, {@code demo-pii} answers with regulated data
 * of every kind, {@code demo-secret} with a cloud key, {@code demo-fixed} with the same bytes every time.
 * What real servers also send, so masking can be seen at work on it (each carries {@link #PII_ANSWER}):
 * {@code demo-split} streams in pieces of three characters (every entity split across events),
 * {@code demo-reasoning} puts it in {@code reasoning_content}, {@code demo-tools} in a tool call's
 * {@code arguments} (split across chunks), {@code demo-refusal} in {@code refusal}; {@code "logprobs": true}
 * adds logprobs (tokens, bytes, top_logprobs) for the answer; {@code demo-gzip} answers gzip-encoded whatever
 * the request asked (and any model does when the request accepts gzip), {@code demo-br} answers with a
 * Brotli label.
 * <p>
 * Ollama's native API as well: {@code POST /api/chat} ({@code messages}, each line's {@code message.content}) and
 * {@code POST /api/generate} ({@code prompt}, each line's {@code response}), streamed by default as NDJSON
 * ({@code application/x-ndjson}, one JSON object a line, a word a line; the last line {@code "done": true} with
 * {@code prompt_eval_count} and {@code eval_count}), or one JSON object with {@code "stream": false}. The special
 * models above answer the same text here ({@code demo-error} 500, {@code demo-hang-stream} one line then silence).
 */
public final class DemoModelServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A request as the upstream saw it (the query as received, or null). */
    public record Received(String method, String path, Map<String, List<String>> headers, String body,
                           String rawQuery) {
        public String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
                    return e.getValue().get(0);
                }
            }
            return null;
        }
    }

    private final HttpServer server;
    private final ExecutorService executor;
    /** What {@code demo-pii} answers: regulated data of every built-in type (all test values). */
    public static final String PII_ANSWER = "Here are the details. Card 4111 1111 1111 1111, SSN 536-90-4399, "
            + "email jane.doe@example.com, phone +1 415 555 2671, IBAN DE89 3704 0044 0532 0130 00, "
            + "server 192.168.10.7. Order 12345 ships on 2026-11-25.";

    private final java.util.function.Predicate<String> authCheck;
    private final List<Received> received = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger calls = new AtomicInteger();
    private final CountDownLatch closing = new CountDownLatch(1);
    private volatile long streamDelayMillis = 20;
    private volatile long slowMillis = 5_000;
    private volatile boolean record = true;

    public DemoModelServer(String host, int port, String apiKey) throws IOException {
        this(host, port, auth -> ("Bearer " + apiKey).equals(auth));
    }

    /** A server that checks the Authorization header with its own rule (for example, a token from Keycloak). */
    public DemoModelServer(String host, int port, java.util.function.Predicate<String> authCheck) throws IOException {
        // without TCP_NODELAY the JDK server's separate header and body writes meet delayed ACKs: +40 ms a call
        System.setProperty("sun.net.httpserver.nodelay", "true");
        this.authCheck = authCheck;
        this.server = HttpServer.create(new InetSocketAddress(host, port), 512);
        this.executor = Executors.newFixedThreadPool(32, r -> {
            Thread t = new Thread(r, "demo-model");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    public static void main(String[] args) throws Exception {
        String key = System.getenv("ATTEST_DEMO_UPSTREAM_KEY");
        if (key == null || key.isBlank()) {
            System.err.println("set ATTEST_DEMO_UPSTREAM_KEY: the API key the demo model server demands");
            System.exit(2);
        }
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8000;
        String host = System.getenv().getOrDefault("ATTEST_DEMO_HOST", "127.0.0.1");
        DemoModelServer s = new DemoModelServer(host, port, key);
        s.record = false;
        System.out.println("demo model server on http://" + host + ":" + s.port());
        s.closing.await();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    /** Requests that reached this server (with a valid key or not). */
    public List<Received> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    public int calls() {
        return calls.get();
    }

    public void reset() {
        received.clear();
        calls.set(0);
    }

    public void setStreamDelayMillis(long millis) {
        this.streamDelayMillis = millis;
    }

    public void setSlowMillis(long millis) {
        this.slowMillis = millis;
    }

    /** Stops recording requests (for benchmarks). */
    public void setRecording(boolean on) {
        this.record = on;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            byte[] bodyBytes = ex.getRequestBody().readAllBytes();
            String body = new String(bodyBytes, StandardCharsets.UTF_8);
            calls.incrementAndGet();
            if (record) {
                Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
                ex.getRequestHeaders().forEach((k, v) -> headers.put(k, List.copyOf(v)));
                received.add(new Received(ex.getRequestMethod(), ex.getRequestURI().getRawPath(), headers, body,
                        ex.getRequestURI().getRawQuery()));
            }
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (auth == null || !authCheck.test(auth)) {
                json(ex, 401, error("invalid_api_key", "the demo upstream wants its own API key"));
                return;
            }
            String path = ex.getRequestURI().getPath();
            switch (ex.getRequestMethod() + " " + path) {
                case "GET /v1/models" -> json(ex, 200, models());
                case "POST /v1/chat/completions" -> chat(ex, body, true);
                case "POST /v1/completions" -> chat(ex, body, false);
                case "POST /v1/responses" -> responses(ex, body);
                case "POST /api/chat" -> ollama(ex, body, true);
                case "POST /api/generate" -> ollama(ex, body, false);
                default -> json(ex, 404, error("not_found", "no such endpoint"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void chat(HttpExchange ex, String body, boolean chat) throws IOException, InterruptedException {
        JsonNode req;
        try {
            req = JSON.readTree(body);
        } catch (IOException e) {
            json(ex, 400, error("invalid_json", "body is not JSON"));
            return;
        }
        String model = req.path("model").asText("demo-model");
        if (model.equals("demo-error")) {
            json(ex, 500, error("server_error", "java.lang.IllegalStateException: upstream exploded\n\tat demo"));
            return;
        }
        if (model.equals("demo-slow")) {
            Thread.sleep(slowMillis);
        }
        String prompt = chat ? lastUserMessage(req) : req.path("prompt").asText("");
        String answer = answer(model, prompt);
        boolean logprobs = req.path("logprobs").asBoolean(false);
        if (req.path("stream").asBoolean(false)) {
            boolean includeUsage = req.path("stream_options").path("include_usage").asBoolean(false)
                    && !model.equals(NO_USAGE_MODEL);
            stream(ex, model, answer, chat, model.equals("demo-hang-stream"), logprobs,
                    includeUsage ? usage(model, prompt, answer) : null);
            return;
        }
        ObjectNode out = JSON.createObjectNode();
        // demo-fixed answers byte for byte the same every time (replay tests compare digests)
        boolean fixed = model.equals("demo-fixed");
        out.put("id", (chat ? "chatcmpl-" : "cmpl-") + (fixed ? "fixed" : Long.toHexString(System.nanoTime())));
        out.put("object", chat ? "chat.completion" : "text_completion");
        out.put("created", fixed ? 1_764_000_000L : System.currentTimeMillis() / 1000);
        out.put("model", model);
        ArrayNode choices = out.putArray("choices");
        ObjectNode c = choices.addObject();
        c.put("index", 0);
        if (chat) {
            ObjectNode msg = c.putObject("message");
            msg.put("role", "assistant");
            switch (model) {
                case "demo-reasoning" -> {
                    msg.put("reasoning_content", answer);
                    msg.put("content", "Done.");
                }
                case "demo-refusal" -> {
                    msg.putNull("content");
                    msg.put("refusal", answer);
                }
                case "demo-tools" -> {
                    msg.putNull("content");
                    ObjectNode call = msg.putArray("tool_calls").addObject();
                    call.put("id", "call_1");
                    call.put("type", "function");
                    call.putObject("function").put("name", "lookup").put("arguments", TOOL_ARGUMENTS);
                }
                default -> msg.put("content", answer);
            }
        } else {
            c.put("text", answer);
        }
        if (logprobs) {
            ObjectNode lp = c.putObject("logprobs");
            ArrayNode content = lp.putArray("content");
            for (String token : pieces(answer, 3)) {
                content.add(logprob(token));
            }
            lp.putNull("refusal");
        } else {
            c.putNull("logprobs");
        }
        c.put("finish_reason", model.equals("demo-tools") ? "tool_calls" : "stop");
        if (!model.equals(NO_USAGE_MODEL)) {
            out.set("usage", usage(model, prompt, answer));
        }
        json(ex, 200, out, model);
    }

    /** A model that reports no token usage at all (as some servers do). */
    public static final String NO_USAGE_MODEL = "demo-nousage";

    /**
     * The usage the demo reports, the same for every call with the same model, prompt and answer: about four
     * characters a token (prompt + 1, answer + 1), reasoning tokens for demo-reasoning, no cached tokens.
     */
    public static ObjectNode usage(String model, String prompt, String answer) {
        long in = prompt.length() / 4 + 1;
        long out = answer.length() / 4 + 1;
        ObjectNode usage = JSON.createObjectNode();
        usage.put("prompt_tokens", in);
        usage.put("completion_tokens", out);
        usage.put("total_tokens", in + out);
        usage.putObject("prompt_tokens_details").put("cached_tokens", 0);
        usage.putObject("completion_tokens_details").put("reasoning_tokens", model.equals("demo-reasoning") ? out : 0);
        return usage;
    }

    /** The same usage in the Responses API's shape. */
    private static ObjectNode responsesUsage(String model, String prompt, String answer) {
        ObjectNode u = usage(model, prompt, answer);
        ObjectNode r = JSON.createObjectNode();
        r.put("input_tokens", u.get("prompt_tokens").asLong());
        r.putObject("input_tokens_details").put("cached_tokens", 0);
        r.put("output_tokens", u.get("completion_tokens").asLong());
        r.putObject("output_tokens_details").put("reasoning_tokens",
                u.path("completion_tokens_details").path("reasoning_tokens").asLong());
        r.put("total_tokens", u.get("total_tokens").asLong());
        return r;
    }

    /** The arguments {@code demo-tools} calls its tool with. */
    public static final String TOOL_ARGUMENTS = "{\"card\":\"4111 1111 1111 1111\",\"ssn\":\"536-90-4399\","
            + "\"email\":\"jane.doe@example.com\"}";

    private static String answer(String model, String prompt) {
        return switch (model) {
            case "demo-pii", "demo-split", "demo-reasoning", "demo-refusal", "demo-tools", "demo-gzip", "demo-br"
                    -> PII_ANSWER;
            case "demo-secret" -> "Here is the key you asked for: AKIAIOSFODNN7EXAMPLE. Keep it safe.";
            default -> "Hello from the demo model. You said: " + prompt;
        };
    }

    /** Words (each with its trailing space), or pieces of {@code n} characters. */
    private static List<String> pieces(String text, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < text.length(); i += n) {
            out.add(text.substring(i, Math.min(text.length(), i + n)));
        }
        return out;
    }

    private static List<String> words(String text) {
        return List.of(text.split("(?<= )"));
    }

    /** One logprobs entry: the token, its UTF-8 bytes and one alternative. */
    private static ObjectNode logprob(String token) {
        ObjectNode e = JSON.createObjectNode();
        e.put("token", token);
        e.put("logprob", -0.25);
        ArrayNode bytes = e.putArray("bytes");
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        ObjectNode alt = e.putArray("top_logprobs").addObject();
        alt.put("token", token);
        alt.put("logprob", -0.25);
        alt.set("bytes", bytes.deepCopy());
        return e;
    }

    /** The response body, gzip-encoded when the model says so or the request accepts gzip. */
    private static OutputStream open(HttpExchange ex, String model, int status, long length) throws IOException {
        String accept = ex.getRequestHeaders().getFirst("Accept-Encoding");
        String a = accept == null ? "" : accept.toLowerCase(java.util.Locale.ROOT).replace(" ", "");
        boolean gzip = model.equals("demo-gzip") || a.contains("gzip") && !a.matches(".*gzip;q=0(\\.0+)?(,.*|$)");
        if (model.equals("demo-br")) {
            ex.getResponseHeaders().set("Content-Encoding", "br");
        }
        if (!gzip) {
            ex.sendResponseHeaders(status, length);
            return ex.getResponseBody();
        }
        ex.getResponseHeaders().set("Content-Encoding", "gzip");
        ex.sendResponseHeaders(status, 0);
        return new java.util.zip.GZIPOutputStream(ex.getResponseBody(), true);
    }

    private void stream(HttpExchange ex, String model, String answer, boolean chat, boolean hang, boolean logprobs,
                        ObjectNode usage) throws IOException, InterruptedException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        OutputStream out = open(ex, model, 200, 0);
        String id = "chatcmpl-" + Long.toHexString(System.nanoTime());
        boolean tools = chat && model.equals("demo-tools");
        String text = tools ? TOOL_ARGUMENTS : answer;
        List<String> parts = model.equals("demo-pii") || model.equals("demo-secret") || !answer.equals(PII_ANSWER)
                ? words(text) : pieces(text, 3);
        for (int i = 0; i < parts.size(); i++) {
            ObjectNode chunk = chunk(id, model, chat);
            ObjectNode c = (ObjectNode) chunk.get("choices").get(0);
            if (chat) {
                ObjectNode delta = c.putObject("delta");
                if (i == 0) {
                    delta.put("role", "assistant");
                }
                switch (model) {
                    case "demo-reasoning" -> delta.put("reasoning_content", parts.get(i));
                    case "demo-refusal" -> delta.put("refusal", parts.get(i));
                    case "demo-tools" -> {
                        ObjectNode call = delta.putArray("tool_calls").addObject();
                        call.put("index", 0);
                        if (i == 0) {
                            call.put("id", "call_1");
                            call.put("type", "function");
                            call.putObject("function").put("name", "lookup").put("arguments", parts.get(i));
                        } else {
                            call.putObject("function").put("arguments", parts.get(i));
                        }
                    }
                    default -> delta.put("content", parts.get(i));
                }
            } else {
                c.put("text", parts.get(i));
            }
            if (logprobs) {
                ObjectNode lp = c.putObject("logprobs");
                lp.putArray("content").add(logprob(parts.get(i)));
                lp.putNull("refusal");
            }
            c.putNull("finish_reason");
            out.write(("data: " + chunk + "\n\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            if (hang) {
                closing.await(10, TimeUnit.MINUTES);
                return;
            }
            if (streamDelayMillis > 0) {
                Thread.sleep(streamDelayMillis);
            }
        }
        ObjectNode last = chunk(id, model, chat);
        ObjectNode c = (ObjectNode) last.get("choices").get(0);
        if (chat) {
            ObjectNode delta = c.putObject("delta");
            if (model.equals("demo-reasoning")) {
                delta.put("content", "Done.");
            }
        } else {
            c.put("text", "");
        }
        c.put("finish_reason", tools ? "tool_calls" : "stop");
        out.write(("data: " + last + "\n\n").getBytes(StandardCharsets.UTF_8));
        if (usage != null) {
            // stream_options.include_usage: one more chunk, with no choices and the usage (as OpenAI sends it)
            ObjectNode u = chunk(id, model, chat);
            u.putArray("choices");
            u.set("usage", usage);
            out.write(("data: " + u + "\n\n").getBytes(StandardCharsets.UTF_8));
        }
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.close();
    }

    // ---- Ollama's native API ---------------------------------------------------------------------------

    /** One Ollama object: {@code message.content} (chat) or {@code response} (generate), done or not. */
    private static ObjectNode ollamaLine(String model, boolean chat, String text) {
        ObjectNode o = JSON.createObjectNode();
        o.put("model", model);
        o.put("created_at", java.time.Instant.now().toString());
        if (chat) {
            o.putObject("message").put("role", "assistant").put("content", text);
        } else {
            o.put("response", text);
        }
        o.put("done", false);
        return o;
    }

    /** The last object: done, with the token counts the demo reports ({@link #usage}'s numbers). */
    private static ObjectNode ollamaDone(String model, boolean chat, String text, String prompt, String answer) {
        ObjectNode o = ollamaLine(model, chat, text);
        o.put("done_reason", "stop");
        o.put("done", true);
        o.put("total_duration", 1_000_000L);
        o.put("load_duration", 1_000L);
        if (!model.equals(NO_USAGE_MODEL)) {
            ObjectNode u = usage(model, prompt, answer);
            o.put("prompt_eval_count", u.get("prompt_tokens").asLong());
            o.put("prompt_eval_duration", 1_000L);
            o.put("eval_count", u.get("completion_tokens").asLong());
            o.put("eval_duration", 1_000L);
        }
        return o;
    }

    private void ollama(HttpExchange ex, String body, boolean chat) throws IOException, InterruptedException {
        JsonNode req;
        try {
            req = JSON.readTree(body);
        } catch (IOException e) {
            json(ex, 400, JSON.createObjectNode().put("error", "invalid JSON"));
            return;
        }
        String model = req.path("model").asText("demo-model");
        if (model.equals("demo-error")) {
            json(ex, 500, JSON.createObjectNode().put("error", "upstream exploded"));
            return;
        }
        String prompt = chat ? lastUserMessage(req) : req.path("prompt").asText("");
        String answer = answer(model, prompt);
        if (!req.path("stream").asBoolean(true)) { // Ollama streams unless told not to
            json(ex, 200, ollamaDone(model, chat, answer, prompt, answer), model);
            return;
        }
        ex.getResponseHeaders().set("Content-Type", "application/x-ndjson");
        OutputStream out = open(ex, model, 200, 0);
        List<String> parts = model.equals("demo-pii") || !answer.equals(PII_ANSWER) ? words(answer) : pieces(answer, 3);
        for (String part : parts) {
            out.write((ollamaLine(model, chat, part) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            if (model.equals("demo-hang-stream")) {
                closing.await(10, TimeUnit.MINUTES);
                return;
            }
            if (streamDelayMillis > 0) {
                Thread.sleep(streamDelayMillis);
            }
        }
        out.write((ollamaDone(model, chat, "", prompt, answer) + "\n").getBytes(StandardCharsets.UTF_8));
        out.close();
    }

    // ---- the Responses API ----------------------------------------------------------------------------

    private void responses(HttpExchange ex, String body) throws IOException, InterruptedException {
        JsonNode req;
        try {
            req = JSON.readTree(body);
        } catch (IOException e) {
            json(ex, 400, error("invalid_json", "body is not JSON"));
            return;
        }
        String model = req.path("model").asText("demo-model");
        JsonNode input = req.path("input");
        String prompt = input.isTextual() ? input.asText() : input.toString();
        String answer = answer(model, prompt);
        String id = "resp_" + Long.toHexString(System.nanoTime());
        String itemId = "msg_" + Long.toHexString(System.nanoTime());
        if (!req.path("stream").asBoolean(false)) {
            ObjectNode done = response(id, itemId, model, answer, "completed");
            if (!model.equals(NO_USAGE_MODEL)) {
                done.set("usage", responsesUsage(model, prompt, answer));
            }
            json(ex, 200, done, model);
            return;
        }
        ex.getResponseHeaders().set("Content-Type", "text/event-stream");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        OutputStream out = open(ex, model, 200, 0);
        int[] seq = {0};
        java.util.function.BiConsumer<String, ObjectNode> send = (type, e) -> {
            ObjectNode event = JSON.createObjectNode();
            event.put("type", type);
            event.put("sequence_number", seq[0]++);
            event.setAll(e);
            try {
                out.write(("event: " + type + "\ndata: " + event + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException x) {
                throw new java.io.UncheckedIOException(x);
            }
        };
        ObjectNode created = JSON.createObjectNode();
        created.set("response", response(id, itemId, model, "", "in_progress"));
        ((ObjectNode) created.get("response")).putArray("output");
        send.accept("response.created", created);
        ObjectNode added = JSON.createObjectNode();
        added.put("output_index", 0);
        added.set("item", message(itemId, "", "in_progress"));
        ((ObjectNode) added.get("item")).putArray("content");
        send.accept("response.output_item.added", added);
        ObjectNode partAdded = JSON.createObjectNode();
        partAdded.put("item_id", itemId).put("output_index", 0).put("content_index", 0);
        partAdded.set("part", outputText(""));
        send.accept("response.content_part.added", partAdded);
        List<String> parts = answer.equals(PII_ANSWER) && !model.equals("demo-pii") ? pieces(answer, 3) : words(answer);
        for (String piece : parts) {
            ObjectNode d = JSON.createObjectNode();
            d.put("item_id", itemId).put("output_index", 0).put("content_index", 0).put("delta", piece);
            d.putArray("logprobs");
            send.accept("response.output_text.delta", d);
            if (streamDelayMillis > 0) {
                Thread.sleep(streamDelayMillis);
            }
        }
        ObjectNode done = JSON.createObjectNode();
        done.put("item_id", itemId).put("output_index", 0).put("content_index", 0).put("text", answer);
        done.putArray("logprobs");
        send.accept("response.output_text.done", done);
        ObjectNode partDone = JSON.createObjectNode();
        partDone.put("item_id", itemId).put("output_index", 0).put("content_index", 0);
        partDone.set("part", outputText(answer));
        send.accept("response.content_part.done", partDone);
        ObjectNode itemDone = JSON.createObjectNode();
        itemDone.put("output_index", 0);
        itemDone.set("item", message(itemId, answer, "completed"));
        send.accept("response.output_item.done", itemDone);
        ObjectNode completed = JSON.createObjectNode();
        completed.set("response", response(id, itemId, model, answer, "completed"));
        if (!model.equals(NO_USAGE_MODEL)) {
            ((ObjectNode) completed.get("response")).set("usage", responsesUsage(model, prompt, answer));
        }
        send.accept("response.completed", completed);
        out.close();
    }

    private static ObjectNode response(String id, String itemId, String model, String answer, String status) {
        ObjectNode r = JSON.createObjectNode();
        r.put("id", id);
        r.put("object", "response");
        r.put("created_at", System.currentTimeMillis() / 1000);
        r.put("status", status);
        r.putNull("error");
        r.putNull("incomplete_details");
        r.putNull("instructions");
        r.putObject("metadata");
        r.put("model", model);
        r.putArray("output").add(message(itemId, answer, status));
        r.put("parallel_tool_calls", true);
        r.putNull("temperature");
        r.put("tool_choice", "auto");
        r.putArray("tools");
        r.putNull("top_p");
        return r;
    }

    private static ObjectNode message(String itemId, String text, String status) {
        ObjectNode m = JSON.createObjectNode();
        m.put("id", itemId);
        m.put("type", "message");
        m.put("role", "assistant");
        m.put("status", status);
        m.putArray("content").add(outputText(text));
        return m;
    }

    private static ObjectNode outputText(String text) {
        ObjectNode t = JSON.createObjectNode();
        t.put("type", "output_text");
        t.put("text", text);
        t.putArray("annotations");
        t.putArray("logprobs");
        return t;
    }

    /** One streamed chunk with an empty choice, for the caller to fill. */
    private static ObjectNode chunk(String id, String model, boolean chat) {
        ObjectNode chunk = JSON.createObjectNode();
        chunk.put("id", id);
        chunk.put("object", chat ? "chat.completion.chunk" : "text_completion");
        chunk.put("created", System.currentTimeMillis() / 1000);
        chunk.put("model", model);
        chunk.putArray("choices").addObject().put("index", 0);
        return chunk;
    }

    private static String lastUserMessage(JsonNode req) {
        String last = "";
        for (JsonNode m : req.path("messages")) {
            if ("user".equals(m.path("role").asText())) {
                JsonNode content = m.path("content");
                last = content.isTextual() ? content.asText() : content.toString();
            }
        }
        return last;
    }

    private static ObjectNode models() {
        ObjectNode out = JSON.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        for (String id : List.of("demo-model", "demo-slow", "demo-error")) {
            ObjectNode m = data.addObject();
            m.put("id", id);
            m.put("object", "model");
            m.put("created", 0);
            m.put("owned_by", "attest-demo");
        }
        return out;
    }

    private static ObjectNode error(String code, String message) {
        ObjectNode out = JSON.createObjectNode();
        ObjectNode e = out.putObject("error");
        e.put("message", message);
        e.put("type", "demo_error");
        e.put("code", code);
        return out;
    }

    private static void json(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    /** An answer that a model may encode (gzip when asked, or always for demo-gzip). */
    private void json(HttpExchange ex, int status, JsonNode body, String model) throws IOException {
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        try (OutputStream out = open(ex, model, status, bytes.length)) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        closing.countDown();
        server.stop(0);
        executor.shutdownNow();
    }
}
