package attest.e2e;

import attest.e2e.outsider.OutsiderCorpus;
import attest.e2e.outsider.OutsiderCorpus.Answer;
import attest.e2e.outsider.OutsiderCorpus.Entity;
import attest.e2e.outsider.OutsiderCorpus.LookAlike;
import attest.stack.Gateway;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The outsider's masking benchmark, as a black box: a labelled corpus that was written without reading the
 * detectors or the project's own generator ({@link OutsiderCorpus}), served by an upstream of our own and driven
 * through a real gateway twice, plain and streamed (SSE split at seeded random points, inside entities and between
 * the halves of surrogate pairs, with hostile but legal JSON escapes and transport writes cut inside UTF-8).
 * <p>
 * Scored as the issue asks: recall per type (caught only if no 4-character window of the value survives, except the
 * last four a {@code partial} card shows), precision = look-alikes left byte for byte / all look-alikes, and no entity
 * leaked by the stream that the plain answer masked. The table and every miss go to stdout and to
 * {@code target/outsider-masking-report.txt}. Another corpus: {@code -Doutsider.seed=N -Doutsider.answers=N}.
 * The extra gateway uses the shipped rule set ({@code masking-rules/}) and a generous masking time budget, so that a
 * budget miss on a loaded machine fails closed as a failed call (reported by should_answer_every_corpus_call).
 */
class OutsiderMaskingE2EIT {
    static final long SEED = Long.getLong("outsider.seed", 20261129L);
    static final int ANSWERS = Integer.getInteger("outsider.answers", 560);
    static final int PARALLEL = 8;
    static final double RECALL_TARGET = 0.995;
    static final double PRECISION_TARGET = 0.99;
    static final Pattern ANSWER_ID = Pattern.compile("outsider #(\\d+)");

    static List<Answer> corpus;
    static HttpServer upstream;
    static Gateway gateway;
    static int port;
    static final Map<String, String[]> OUT = new LinkedHashMap<>();
    static final Map<String, List<String>> ERRORS = new LinkedHashMap<>();
    static Score plain;
    static Score streamed;
    static final List<String> STREAM_ONLY_LEAKS = new ArrayList<>();

    @BeforeAll
    static void runTheCorpusThroughTheGateway() throws Exception {
        corpus = OutsiderCorpus.generate(SEED, ANSWERS);
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        ExecutorService upstreamThreads = Executors.newFixedThreadPool(PARALLEL * 2);
        upstream.setExecutor(upstreamThreads);
        upstream.createContext("/", OutsiderMaskingE2EIT::serve);
        upstream.start();

        var s = stack();
        Map<String, String> p = s.extraGatewaySettings();
        p.put("attest.upstream.llm.base-url", "http://127.0.0.1:" + upstream.getAddress().getPort());
        p.put("attest.masking.rules-dir", "masking-rules"); // the shipped rule set: cards partial, the rest redacted
        // accuracy is measured here, not speed: a shared 2-core machine must not turn a budget miss into a "catch"
        p.put("attest.masking.time-budget-ms", "5000");
        port = Integer.parseInt(p.get("attest.data.port"));
        gateway = new Gateway(p).start();

        long t0 = System.nanoTime();
        OUT.put("plain", run("plain", OutsiderMaskingE2EIT::callPlain));
        long t1 = System.nanoTime();
        OUT.put("streamed", run("streamed", OutsiderMaskingE2EIT::callStreamed));
        long t2 = System.nanoTime();
        upstream.stop(0);
        upstreamThreads.shutdownNow();

        plain = score("plain");
        streamed = score("streamed");
        for (Answer a : corpus) {
            for (int i = 0; i < a.entities().size(); i++) {
                if (plain.caught.get(a.id())[i] && !streamed.caught.get(a.id())[i]) {
                    Entity e = a.entities().get(i);
                    STREAM_ONLY_LEAKS.add("#" + a.id() + " " + e.type() + " " + e.kind() + " "
                            + OutsiderCorpus.show(e.value()));
                }
            }
        }
        report(String.format("plain %.1f s, streamed %.1f s", (t1 - t0) / 1e9, (t2 - t1) / 1e9));
    }

    @AfterAll
    static void down() {
        if (gateway != null) {
            gateway.close();
        }
    }

    // ---- the tests: the issue's targets ------------------------------------------------------------------------

    @Test
    void should_answer_every_corpus_call() {
        assertThat(ERRORS.get("plain")).as("plain calls that failed").isEmpty();
        assertThat(ERRORS.get("streamed")).as("streamed calls that failed").isEmpty();
    }

    /**
     * Recall per type, plain and streamed, may never fall below what the gateway reached on this corpus when it was
     * last measured (a ratchet: raise a floor whenever a detector gets better). The issue's target is
     * {@link #RECALL_TARGET} for every type; the gap is printed with the report and stated in docs/masking.md.
     */
    static final Map<String, Double> RECALL_FLOOR = Map.of("CARD", RECALL_TARGET, "SSN", RECALL_TARGET, "IBAN",
            RECALL_TARGET, "EMAIL", RECALL_TARGET, "PHONE", RECALL_TARGET, "IP_ADDRESS", RECALL_TARGET, "SECRET",
            RECALL_TARGET);

    @Test
    void should_catch_every_entity_type_plain_and_streamed_at_least_as_well_as_before() {
        Map<String, Double> regressed = new TreeMap<>();
        Map<String, Double> belowTarget = new TreeMap<>();
        for (String type : OutsiderCorpus.TYPES) {
            for (Score sc : List.of(plain, streamed)) {
                double recall = sc.recall(type);
                if (recall < RECALL_FLOOR.getOrDefault(type, RECALL_TARGET)) {
                    regressed.put(type + " " + sc.mode, recall);
                }
                if (recall < RECALL_TARGET) {
                    belowTarget.put(type + " " + sc.mode, recall);
                }
            }
        }
        System.out.println("[outsider] below the issue's recall target " + RECALL_TARGET + ": " + belowTarget);
        assertThat(regressed).as("types whose recall fell below its floor %s (see the report for each miss)",
                RECALL_FLOOR).isEmpty();
    }

    @Test
    void should_leave_look_alikes_byte_for_byte() {
        assertThat(plain.precision()).as("plain precision").isGreaterThanOrEqualTo(PRECISION_TARGET);
        assertThat(streamed.precision()).as("streamed precision").isGreaterThanOrEqualTo(PRECISION_TARGET);
    }

    @Test
    void should_not_leak_in_a_stream_what_the_plain_answer_masked() {
        assertThat(STREAM_ONLY_LEAKS).as("entities masked plain but leaked streamed").isEmpty();
    }

    @Test
    void should_reassemble_characters_split_across_events_and_writes() {
        assertThat(plain.corrupted).as("plain answers with U+FFFD or a lone surrogate").isEmpty();
        assertThat(streamed.corrupted).as("streamed answers with U+FFFD or a lone surrogate").isEmpty();
    }

    @Test
    void should_hold_the_corpus_the_issue_asks_for() {
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(500);
        assertThat(corpus.stream().mapToInt(a -> a.entities().size()).sum()).isGreaterThanOrEqualTo(1000);
        assertThat(corpus.stream().mapToInt(a -> a.lookAlikes().size()).sum()).isGreaterThanOrEqualTo(400);
        for (String type : OutsiderCorpus.TYPES) {
            assertThat(plain.total.getOrDefault(type, 0)).as("entities of " + type).isGreaterThanOrEqualTo(80);
        }
    }

    // ---- driving the calls ---------------------------------------------------------------------------------------

    interface Call {
        String text(OpenAIClient client, String token, Answer a) throws Exception;
    }

    static String[] run(String mode, Call call) throws Exception {
        String token = stack().userToken("alice");
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/llm/v1").apiKey(token)
                .maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        String[] out = new String[corpus.size()];
        List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (Answer a : corpus) {
                done.add(pool.submit(() -> {
                    try {
                        out[a.id()] = call.text(client, token, a);
                    } catch (Exception | AssertionError e) {
                        errors.add("#" + a.id() + " " + e.getClass().getSimpleName() + ": " + e.getMessage());
                        out[a.id()] = "";
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
            client.close();
        }
        ERRORS.put(mode, List.copyOf(errors));
        return out;
    }

    static String body(Answer a, boolean stream) {
        return "{\"model\":\"outsider-model\"," + (stream ? "\"stream\":true," : "")
                + "\"messages\":[{\"role\":\"user\",\"content\":\"outsider #" + a.id() + "\"}]}";
    }

    static String callPlain(OpenAIClient ignored, String token, Answer a) throws Exception {
        HttpResponse<String> r = E2E.HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/llm/v1/chat/completions"))
                .timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").header("X-Request-Id", "outsider-plain-" + a.id() + "-" + SEED)
                .POST(HttpRequest.BodyPublishers.ofString(body(a, false))).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("status " + r.statusCode() + " " + r.body().substring(0, Math.min(200, r.body().length())));
        }
        return E2E.JSON.readTree(r.body()).path("choices").path(0).path("message").path("content").asText();
    }

    static String callStreamed(OpenAIClient client, String token, Answer a) {
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
                ChatCompletionCreateParams.builder().model("outsider-model").addUserMessage("outsider #" + a.id()).build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append)));
        }
        return text.toString();
    }

    // ---- our own upstream ----------------------------------------------------------------------------------------

    static void serve(HttpExchange ex) throws IOException {
        try (ex) {
            JsonNode req = E2E.JSON.readTree(ex.getRequestBody().readAllBytes());
            String prompt = "";
            for (JsonNode m : req.path("messages")) {
                prompt = m.path("content").asText();
            }
            Matcher m = ANSWER_ID.matcher(prompt);
            if (!m.find()) {
                byte[] b = "{\"error\":{\"message\":\"unknown answer\"}}".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(404, b.length);
                ex.getResponseBody().write(b);
                return;
            }
            Answer a = corpus.get(Integer.parseInt(m.group(1)));
            boolean stream = req.path("stream").asBoolean(false);
            Random r = new Random(SEED * 1_000_003L + a.id() * 2L + (stream ? 1 : 0));
            int escapes = r.nextInt(3); // 0 raw UTF-8, 1 ensure_ascii (Python's default), 2 hostile but legal
            if (stream) {
                stream(ex, a, r, escapes);
            } else {
                String json = "{\"id\":\"chatcmpl-outsider-" + a.id() + "\",\"object\":\"chat.completion\","
                        + "\"created\":1764000000,\"model\":\"outsider-model\",\"choices\":[{\"index\":0,\"message\":"
                        + "{\"role\":\"assistant\",\"content\":" + jsonString(a.text(), escapes, r) + "},\"logprobs\":null,"
                        + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":6,\"completion_tokens\":"
                        + (a.text().length() / 4 + 1) + ",\"total_tokens\":" + (a.text().length() / 4 + 7) + "}}";
                byte[] b = json.getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
        }
    }

    /**
     * chat.completion.chunk events, the content split into pieces of 1 to 9 UTF-16 units at seeded random points
     * (inside entities, and between the halves of a surrogate pair, which JSON can carry only as {@code \\u}
     * escapes); about a third of the events are written in two transport writes cut at a random byte, possibly
     * inside a UTF-8 sequence.
     */
    static void stream(HttpExchange ex, Answer a, Random r, int escapes) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        String head = "{\"id\":\"chatcmpl-outsider-" + a.id() + "\",\"object\":\"chat.completion.chunk\","
                + "\"created\":1764000000,\"model\":\"outsider-model\",\"choices\":[{\"index\":0,\"delta\":";
        event(out, r, head + "{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}");
        String text = a.text();
        int at = 0;
        while (at < text.length()) {
            int end = Math.min(text.length(), at + 1 + r.nextInt(9));
            event(out, r, head + "{\"content\":" + jsonString(text.substring(at, end), escapes, r)
                    + "},\"logprobs\":null,\"finish_reason\":null}]}");
            at = end;
        }
        event(out, r, head + "{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}");
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static void event(OutputStream out, Random r, String json) throws IOException {
        byte[] b = ("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8);
        if (r.nextInt(3) == 0) {
            int cut = 1 + r.nextInt(b.length - 1);
            out.write(b, 0, cut);
            out.flush();
            out.write(b, cut, b.length - cut);
        } else {
            out.write(b);
        }
        out.flush();
    }

    /**
     * A JSON string as different real servers write it: raw UTF-8; ASCII only with {@code \\u} escapes; or hostile
     * but legal (some letters and digits escaped too, upper- or lower-case hex, {@code \/}). Lone surrogates are
     * always escaped.
     */
    static String jsonString(String s, int escapes, Random r) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean paired = Character.isHighSurrogate(c) ? i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                    : Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
            boolean lone = Character.isSurrogate(c) && !paired;
            if (c == '"') {
                b.append("\\\"");
            } else if (c == '\\') {
                b.append("\\\\");
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c < 0x20 || lone || (escapes >= 1 && c >= 0x7f)
                    || (escapes == 2 && Character.isLetterOrDigit(c) && r.nextInt(10) == 0)) {
                String hex = String.format("%04x", (int) c);
                b.append("\\u").append(escapes == 2 && r.nextBoolean() ? hex.toUpperCase() : hex);
            } else if (escapes == 2 && c == '/') {
                b.append("\\/");
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    // ---- scoring -------------------------------------------------------------------------------------------------

    static final class Score {
        final String mode;
        final Map<String, Integer> total = new TreeMap<>();
        final Map<String, Integer> missed = new TreeMap<>();
        final Map<String, Integer> missedByKind = new TreeMap<>();
        final Map<Integer, boolean[]> caught = new TreeMap<>();
        final List<String> misses = new ArrayList<>();
        final Map<String, Integer> lookTotal = new TreeMap<>();
        final Map<String, Integer> lookBroken = new TreeMap<>();
        final List<String> broken = new ArrayList<>();
        /** Answers that came back with a replacement character or a lone surrogate (the corpus has neither). */
        final List<String> corrupted = new ArrayList<>();

        Score(String mode) {
            this.mode = mode;
        }

        double recall(String type) {
            int n = total.getOrDefault(type, 0);
            return n == 0 ? 0 : (n - missed.getOrDefault(type, 0)) / (double) n;
        }

        int looks() {
            return lookTotal.values().stream().mapToInt(Integer::intValue).sum();
        }

        int lookBroken() {
            return lookBroken.values().stream().mapToInt(Integer::intValue).sum();
        }

        double precision() {
            return looks() == 0 ? 0 : (looks() - lookBroken()) / (double) looks();
        }
    }

    static Score score(String mode) {
        String[] out = OUT.get(mode);
        Score sc = new Score(mode);
        for (Answer a : corpus) {
            String text = out[a.id()] == null ? "" : out[a.id()];
            String folded = OutsiderCorpus.foldForScoring(text);
            boolean[] caught = new boolean[a.entities().size()];
            for (int i = 0; i < a.entities().size(); i++) {
                Entity e = a.entities().get(i);
                sc.total.merge(e.type(), 1, Integer::sum);
                List<String> left = OutsiderCorpus.surviving(e, folded);
                caught[i] = left.isEmpty();
                if (!caught[i]) {
                    sc.missed.merge(e.type(), 1, Integer::sum);
                    sc.missedByKind.merge(e.type() + " " + e.kind(), 1, Integer::sum);
                    sc.misses.add(e.type() + " " + e.kind() + " #" + a.id() + " value=" + OutsiderCorpus.show(e.value())
                            + " survived=" + OutsiderCorpus.show(String.join("|", left)) + " got=" + OutsiderCorpus.show(
                            around(text, a.text(), e.value())));
                }
            }
            sc.caught.put(a.id(), caught);
            if (damaged(text)) {
                sc.corrupted.add("#" + a.id() + " got=" + OutsiderCorpus.show(text.substring(0, Math.min(120, text.length()))));
            }
            for (LookAlike l : a.lookAlikes()) {
                sc.lookTotal.merge(l.kind(), 1, Integer::sum);
                if (!text.contains(l.value())) {
                    sc.lookBroken.merge(l.kind(), 1, Integer::sum);
                    sc.broken.add(l.kind() + " #" + a.id() + " value=" + OutsiderCorpus.show(l.value()) + " got="
                            + OutsiderCorpus.show(around(text, a.text(), l.value())));
                }
            }
        }
        return sc;
    }

    static boolean damaged(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\uFFFD') {
                return true;
            }
            if (Character.isHighSurrogate(c) && (i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1)))) {
                return true;
            }
            if (Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(text.charAt(i - 1)))) {
                return true;
            }
        }
        return false;
    }

    /** What the caller got where the value stood: found by the raw text just before it, or just after it. */
    static String around(String out, String raw, String value) {
        int at = raw.indexOf(value);
        for (int lead = Math.min(16, at); lead >= 3; lead--) {
            String before = raw.substring(at - lead, at);
            if (out.indexOf(before) >= 0 && out.indexOf(before) == out.lastIndexOf(before)) {
                int from = out.indexOf(before) + before.length();
                return "\u00AB" + out.substring(from, Math.min(out.length(), from + value.length() + 16)) + "\u00BB";
            }
        }
        int end = at + value.length();
        for (int trail = Math.min(16, raw.length() - end); trail >= 3; trail--) {
            String after = raw.substring(end, end + trail);
            if (out.indexOf(after) >= 0 && out.indexOf(after) == out.lastIndexOf(after)) {
                int to = out.indexOf(after);
                return "\u00AB" + out.substring(Math.max(0, to - value.length() - 16), to + after.length()) + "\u00BB";
            }
        }
        return "(context not found)";
    }

    static void report(String timing) throws IOException {
        StringBuilder b = new StringBuilder();
        int ents = corpus.stream().mapToInt(a -> a.entities().size()).sum();
        int looks = corpus.stream().mapToInt(a -> a.lookAlikes().size()).sum();
        b.append(String.format("%nOutsider masking corpus: seed %d, %d answers, %d entities, %d look-alikes (%s)%n",
                SEED, corpus.size(), ents, looks, timing));
        b.append(String.format("errors: plain %d, streamed %d%n", ERRORS.get("plain").size(), ERRORS.get("streamed").size()));
        ERRORS.forEach((mode, list) -> list.stream().limit(10).forEach(e -> b.append("  ").append(mode).append(' ').append(e).append('\n')));
        b.append(String.format("%-12s %6s | %-22s | %-22s%n", "type", "n", "plain recall (miss)", "streamed recall (miss)"));
        for (String t : OutsiderCorpus.TYPES) {
            b.append(String.format("%-12s %6d | %8.4f (%4d)          | %8.4f (%4d)%n", t, plain.total.getOrDefault(t, 0),
                    plain.recall(t), plain.missed.getOrDefault(t, 0), streamed.recall(t), streamed.missed.getOrDefault(t, 0)));
        }
        b.append(String.format("%-12s %6d | %8.4f (%4d broken)   | %8.4f (%4d broken)%n", "precision", plain.looks(),
                plain.precision(), plain.lookBroken(), streamed.precision(), streamed.lookBroken()));
        b.append(String.format("leaked streamed but caught plain: %d%n", STREAM_ONLY_LEAKS.size()));
        b.append(String.format("answers with U+FFFD or a lone surrogate: plain %d, streamed %d%n", plain.corrupted.size(),
                streamed.corrupted.size()));
        for (Score sc : List.of(plain, streamed)) {
            b.append("\n== ").append(sc.mode).append(": misses by kind\n");
            sc.missedByKind.forEach((k, v) -> b.append(String.format("  %-40s %d%n", k, v)));
            b.append("== ").append(sc.mode).append(": look-alikes broken by kind (of total)\n");
            sc.lookBroken.forEach((k, v) -> b.append(String.format("  %-40s %d / %d%n", k, v, sc.lookTotal.get(k))));
        }
        String summary = b.toString();
        System.out.println(summary);
        StringBuilder full = new StringBuilder(summary);
        for (Score sc : List.of(plain, streamed)) {
            full.append("\n== ").append(sc.mode).append(": every miss\n");
            sc.misses.forEach(m -> full.append("  ").append(m).append('\n'));
            full.append("== ").append(sc.mode).append(": every broken look-alike\n");
            sc.broken.forEach(m -> full.append("  ").append(m).append('\n'));
            full.append("== ").append(sc.mode).append(": every damaged answer\n");
            sc.corrupted.forEach(m -> full.append("  ").append(m).append('\n'));
        }
        full.append("\n== leaked streamed but caught plain\n");
        STREAM_ONLY_LEAKS.forEach(m -> full.append("  ").append(m).append('\n'));
        ERRORS.forEach((mode, list) -> list.forEach(e -> full.append("  error ").append(mode).append(' ').append(e).append('\n')));
        Path file = Path.of("target", "outsider-masking-report.txt");
        Files.createDirectories(file.getParent());
        Files.writeString(file, full.toString());
    }
}
