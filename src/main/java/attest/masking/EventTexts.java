package attest.masking;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The texts of a stream of JSON events (server-sent events or NDJSON lines), whatever the framing. Each text
 * a caller reassembles from the events is one {@link StreamingTextMasker}, so an entity split across any
 * number of events is found as on a whole answer and never released in part:
 * <ul>
 * <li>OpenAI chat and legacy completions chunks: per choice, {@code delta.content},
 * {@code delta.reasoning_content}, {@code delta.reasoning}, {@code delta.refusal},
 * {@code delta.audio.transcript}, each tool call's {@code function.arguments} (by its {@code index}) and
 * {@code text}. Their {@code logprobs} are held with the text they belong to and released with it; where
 * released text had a finding, the chunk's {@code logprobs} is null ({@code redact_field}).</li>
 * <li>Responses API events: every {@code response.*.delta} text (output text, reasoning summary, function-call
 * arguments, refusal, transcripts) per item, output and content index; their {@code logprobs} likewise
 * ({@code []} where touched). Any other {@code response.*} event (the {@code .done} events, {@code
 * response.completed} with the full output) is masked as a document after all held text is released.</li>
 * <li>Any other JSON event (Anthropic, Ollama, TGI, ...): string fields named like text ({@link #TEXT_FIELDS})
 * at the same place in successive events are one text; a terminal event ({@code done: true}, a stop type or
 * reason) releases what is held before it.</li>
 * <li>Data that is not JSON is one text across events, in order with the texts of the JSON events around it: it takes
 * the text they hold before it, and they take what it holds ({@link #handIn}).</li>
 * </ul>
 * Every other string is masked on its own. Held text is released in the finishing event of its choice,
 * before a terminal event, before {@code [DONE]}, or at the end, as events shaped like the text's last one.
 */
final class EventTexts {
    /** Field names whose string values are pieces of one text across the events of a non-OpenAI stream. */
    static final Set<String> TEXT_FIELDS = Set.of("content", "text", "delta", "arguments", "partial_json",
            "reasoning", "reasoning_content", "thinking", "refusal", "transcript", "response", "output",
            "generated_text", "message", "completion", "answer", "text_output", "output_text", "outputText", "value");
    private static final List<String> OPENAI_DELTA_TEXTS = List.of("content", "reasoning_content", "reasoning",
            "refusal");

    /** One event to emit: an SSE event name (or null) and its data (JSON text, or plain text when raw). */
    record Out(String eventName, String data, boolean raw) {
    }

    /** What {@link #chunk} made of an event: its data, and whether that is the upstream's own, unchanged. */
    record Chunk(String data, boolean unchanged) {
    }

    private final Masker masker;
    private final Consumer<Redaction> report;
    private final Map<String, Channel> channels = new LinkedHashMap<>();
    /** Whether {@link #chunk} may take the common chunk without a tree (off only to test it against the tree). */
    private final boolean plainChunks;

    EventTexts(Masker masker, Consumer<Redaction> report) {
        this(masker, report, true);
    }

    EventTexts(Masker masker, Consumer<Redaction> report, boolean plainChunks) {
        this.masker = masker;
        this.report = report;
        this.plainChunks = plainChunks;
    }

    /**
     * What every text of the stream holds now, in all (characters held back and kept as context, the logprobs that wait,
     * and {@link #CHANNEL_COST} per text): bounded by {@link Masker#streamLimit()}, else a hostile upstream that opens
     * text after text (choices, tool calls, items), each holding a tail that may still become an entity, or sends large
     * logprobs for text that stays held, makes the masker hold without end. Past the limit the stream is cut.
     */
    private long retained;
    /** What one text costs beside its characters (its objects), so that the number of texts is bounded too. */
    static final int CHANNEL_COST = 256;

    /** One text across events, with the logprobs that wait for it. */
    private final class Channel {
        /** What this text holds now, as counted in {@link #retained}. */
        long size;
        long pendingBytes;
        final StreamingTextMasker text;
        /** Builds an event that carries released text (for text released apart from any upstream event). */
        Function<String, Out> carrier;
        long pushed;
        boolean touchedNow;
        final List<long[]> touched = new ArrayList<>();
        final ArrayDeque<Pending> pending = new ArrayDeque<>();
        long pendingEnd;
        /** The alternatives of the logprobs that wait, per rank across chunks (null until some come). */
        LogprobsRanks.Tails ranks;
        /** Where the logprobs are reported (set with the first that wait). */
        String logprobsPointer = "/logprobs";

        Channel(String location) {
            this.text = new StreamingTextMasker(masker, location, r -> {
                touchedNow = true;
                report.accept(r);
            });
            recount();
        }

        /** Counts what this text holds now into {@link #retained}; past the stream's limit the stream is cut. */
        void recount() {
            long now = CHANNEL_COST + text.held() + text.contextLength() + pendingBytes + 16L * touched.size()
                    + (ranks == null ? 0 : ranks.held());
            retained += now - size;
            size = now;
            if (retained > masker.streamLimit()) {
                throw StreamShape.refuse(report, "stream", "held_text_too_long");
            }
        }

        long released() {
            return pushed - text.held();
        }

        String push(String piece) {
            long before = released();
            touchedNow = false;
            pushed += piece.length();
            String out = text.push(piece);
            mark(before);
            recount();
            return out;
        }

        String finish() {
            long before = released();
            touchedNow = false;
            String out = text.finish();
            mark(before);
            if (ranks != null) {
                ranks.finish();
            }
            recount();
            return out;
        }

        private void mark(long before) {
            if (touchedNow) {
                // the finding may reach back into text already released (context): so may its taint
                touch(new long[] {Math.max(0, before - Detector.CONTEXT_WINDOW), released()});
            }
        }

        /**
         * Hands this text's held tail to {@code to} (see {@link #handIn}). Logprobs that wait for it go out with text
         * released elsewhere: they are taken as touched (null, reported, when released).
         */
        String handOver(Channel to) {
            long before = released();
            String held = text.handOver(to.text);
            touch(new long[] {before, pushed});
            recount();
            to.recount();
            return held;
        }

        /**
         * Adds a range of text a finding touched. Two ranges that start after every waiting entry's text matter only to
         * the next entries, which start where the waiting ones end and reach to the text pushed then: both touch them or
         * neither does, so they are kept as one (else a long stream with many findings kept a range for each).
         */
        private void touch(long[] range) {
            int n = touched.size();
            long[] last = n == 0 ? null : touched.get(n - 1);
            if (last != null && last[0] >= pendingEnd && range[0] >= pendingEnd) {
                last[0] = Math.min(last[0], range[0]);
                last[1] = Math.max(last[1], range[1]);
            } else {
                touched.add(range);
            }
        }

        /** Queues logprobs entries that belong to the text pushed so far. */
        void await(JsonNode entries) {
            await(entries, false);
        }

        /** As above; {@code tainted}: a finding in them already (an alternative token, a name). */
        void await(JsonNode entries, boolean tainted) {
            long bytes = entries.toString().length();
            LogprobsRanks.Tails.Span span = null;
            if (!LogprobsRanks.lists(entries).isEmpty()) {
                if (ranks == null) {
                    ranks = new LogprobsRanks.Tails(masker, logprobsPointer, report);
                }
                span = ranks.push(entries);
            }
            pending.add(new Pending(entries, pendingEnd, pushed, tainted, bytes, span));
            pendingEnd = pushed;
            pendingBytes += bytes;
            recount();
        }

        /** Entries whose text is released; {@code touched[0]} says whether any finding touched them. */
        List<JsonNode> take(boolean[] taint) {
            List<JsonNode> out = new ArrayList<>();
            long released = released();
            while (!pending.isEmpty() && pending.peek().end() <= released
                    && (pending.peek().ranks() == null || ranks.released(pending.peek().ranks()))) {
                Pending p = pending.poll();
                taint[0] |= p.tainted() || p.ranks() != null && ranks.touched(p.ranks());
                for (long[] t : touched) {
                    if (t[0] < Math.max(p.end(), p.start() + 1) && p.start() < t[1]) {
                        taint[0] = true;
                    }
                }
                p.entries().forEach(out::add);
                pendingBytes -= p.bytes();
            }
            // a finding's range that ends before every waiting (and every later) entry starts can touch none of them
            long first = pending.isEmpty() ? pendingEnd : pending.peek().start();
            touched.removeIf(t -> t[1] <= first);
            if (ranks != null) {
                Pending next = pending.stream().filter(p -> p.ranks() != null).findFirst().orElse(null);
                ranks.forget(next == null ? null : next.ranks().start());
            }
            recount();
            return out;
        }
    }

    /** {@code ranks}: where the entries' alternatives lie in the texts of their ranks (null for none). */
    private record Pending(JsonNode entries, long start, long end, boolean tainted, long bytes,
                           LogprobsRanks.Tails.Span ranks) {
    }

    /**
     * Whether a chunk's logprobs hold a finding of their own: an alternative token ({@code top_logprobs}, legacy map
     * keys included) or bytes, scanned as on a whole answer (reported {@code redact_field}; a block rule refuses the
     * answer). The chosen tokens are the text and are found through its channel, across events. Other names in
     * them are masked.
     */
    private boolean logprobsTouched(JsonNode lp, String pointer) {
        if (JsonMasker.logprobsTouched(lp, pointer, masker, report)) {
            return true;
        }
        JsonMasker.maskAllNames(lp, pointer, masker, report);
        return false;
    }

    /**
     * Whether a chunk's logprobs tokens, joined, are not the text the same chunk carries for them ({@code text}, null
     * for none). The tokens spell the text: a stream's text is held until no entity can be split across it, and its
     * logprobs wait for it, so they go out only as far as the text is safe, and null where it had a finding. Tokens that
     * say something else (an upstream that sends logprobs without their text, or other tokens than its text) were
     * released on their text's word, and spelt an entity across chunks, piece by piece: such logprobs are taken as
     * touched (null when released, reported {@code redact_field}).
     */
    static boolean tokensDiffer(JsonNode entries, String text) {
        StringBuilder joined = new StringBuilder();
        for (JsonNode e : entries) {
            if (e.isTextual()) {
                joined.append(e.asText()); // legacy completions: "tokens": ["a", "b"]
            } else if (e.path("token").isTextual()) {
                String token = e.get("token").asText();
                joined.append(token);
                JsonNode bytes = e.get("bytes");
                if (bytes != null && !bytes.isNull() && !token.equals(bytesOf(bytes))) {
                    return true; // the bytes spell something else than the token (a client may read either)
                }
            } else {
                return true;
            }
        }
        return !joined.toString().equals(text == null ? "" : text);
    }

    /** A logprobs entry's {@code bytes}, decoded as UTF-8 (null for anything but an array of byte values). */
    private static String bytesOf(JsonNode bytes) {
        if (!bytes.isArray()) {
            return null;
        }
        byte[] b = new byte[bytes.size()];
        for (int k = 0; k < b.length; k++) {
            JsonNode v = bytes.get(k);
            if (!v.canConvertToInt() || v.asInt() < 0 || v.asInt() > 255) {
                return null;
            }
            b[k] = (byte) v.asInt();
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    // ---- events -----------------------------------------------------------------------------------

    /** A JSON event; returns what to emit in its place (held text released first where needed). */
    List<Out> json(JsonNode event, String eventName) {
        return json(event, eventName, java.util.Set.of());
    }

    /**
     * As {@link #json(JsonNode, String)}; {@code goingOn}: the choices (index keys) whose {@code finish_reason} in this
     * event does not end their text, because the upstream sends more of it after (the next event says so): their held
     * text is not released at that finish, so an entity split across it is still found whole.
     */
    List<Out> json(JsonNode event, String eventName, java.util.Set<String> goingOn) {
        return json(event, eventName, goingOn, false);
    }

    /**
     * As above; {@code whole}: the event is whole (an SSE event named {@code error}): its texts end in it, so none of
     * its text is held back to go out later in a copy of the event (a client would see the error twice).
     */
    List<Out> json(JsonNode event, String eventName, java.util.Set<String> goingOn, boolean whole) {
        if (event instanceof ObjectNode obj && obj.path("choices").isArray()) {
            return openAi(obj, eventName, goingOn, whole);
        }
        if (event instanceof ObjectNode obj && obj.path("type").asText("").startsWith("response.")) {
            return responses(obj, eventName);
        }
        return generic(event, eventName, whole || error(event));
    }

    /**
     * An error event (OpenAI's {@code {"error":{...}}} in a stream, Anthropic's {@code {"type":"error",...}}): whole in
     * itself, not a piece of a text that goes on in later events.
     */
    static boolean error(JsonNode event) {
        return event instanceof ObjectNode o && (o.has("error") || o.path("type").asText("").equals("error"));
    }

    /** Whether data starts like JSON (an opening brace or bracket), though it is not valid JSON. */
    private static boolean jsonLike(String text) {
        String t = text.stripLeading();
        return t.startsWith("{") || t.startsWith("[");
    }

    private static final java.util.regex.Pattern TEXT_VALUE = java.util.regex.Pattern.compile(
            "\"(" + String.join("|", TEXT_FIELDS) + ")\"\\s*:\\s*\"");
    private static final java.util.regex.Pattern ANY_VALUE = java.util.regex.Pattern.compile(":\\s*\"");

    /** Where the first string value named like text starts in JSON-like text (after its quote), else any string's; 0. */
    static int firstText(String text) {
        java.util.regex.Matcher m = TEXT_VALUE.matcher(text);
        if (m.find()) {
            return m.end();
        }
        m = ANY_VALUE.matcher(text);
        return m.find() ? m.end() : 0;
    }

    /**
     * The end of the text of JSON-like text's last string named like text (before its closing quote, or the end when it
     * is cut short), else of its last string (before the quote and closing punctuation that end it).
     */
    static int lastTextEnd(String text) {
        java.util.regex.Matcher m = TEXT_VALUE.matcher(text);
        int start = -1;
        while (m.find()) {
            start = m.end();
        }
        if (start >= 0) {
            int i = start;
            while (i < text.length() && text.charAt(i) != '"') {
                i += text.charAt(i) == '\\' ? 2 : 1;
            }
            return Math.min(i, text.length());
        }
        int end = text.length();
        while (end > 0 && "}] \t\r\n,".indexOf(text.charAt(end - 1)) >= 0) {
            end--;
        }
        if (end > 0 && text.charAt(end - 1) == '"') {
            int backslashes = 0;
            while (end - 2 - backslashes >= 0 && text.charAt(end - 2 - backslashes) == '\\') {
                backslashes++;
            }
            if (backslashes % 2 == 0) {
                end--;
            }
        }
        return end;
    }

    /** Keys of the texts of data that is not a JSON object or array (not JSON, or one JSON string). */
    private static boolean outsider(String key) {
        return key.equals("raw") || key.equals("string");
    }

    /** Whether data that is not a JSON object or array holds text (the common chunk then takes the tree path). */
    private boolean outsiderHolds() {
        Channel raw = channels.get("raw");
        Channel string = channels.get("string");
        return raw != null && raw.text.held() > 0 || string != null && string.text.held() > 0;
    }

    /**
     * The held text of the stream's other kinds of data, taken in the stream's order to go on in front of {@code to}'s
     * next piece. Data that is not a JSON object or array (a chunk that is not valid JSON, a JSON string) takes every
     * other text's held tail; a JSON event's text takes what such data holds. So an entity split between a chunk's
     * text and such data (either way round, or across two such events with chunks between) is found whole, as a reader
     * of the stream's bytes reads it; nothing held is released before it is joined with what follows it.
     */
    private String handIn(String toKey, Channel to) {
        boolean toOutsider = outsider(toKey);
        StringBuilder moved = null;
        for (Map.Entry<String, Channel> e : channels.entrySet()) {
            Channel from = e.getValue();
            if (from == to || from.text.held() == 0 || !toOutsider && !outsider(e.getKey())) {
                continue;
            }
            String held = from.handOver(to);
            moved = moved == null ? new StringBuilder(held) : moved.append(held);
        }
        return moved == null ? "" : moved.toString();
    }

    /** Data that is not JSON: one text across events. */
    List<Out> raw(String data, String eventName) {
        return raw(data, eventName, false);
    }

    /** As above; {@code whole}: the event ends the text (an error event): nothing of it is held back. */
    List<Out> raw(String data, String eventName, boolean whole) {
        Channel ch = channel("raw", "sse-data");
        ch.carrier = t -> new Out(eventName, t, true);
        // no separator: a client that joins the events' data must not be able to join an entity either; JSON-like data
        // that is not strict JSON as a lenient reader decodes it (JsonMasker.readable)
        String text = JsonMasker.readable(data);
        String out;
        if (whole) { // an error event's text is its own
            out = ch.push(text) + ch.finish();
        } else if (JsonMasker.wellFormed(text)) {
            // well-formed JSON beyond what the masker reads as a tree (over a thousand levels deep, a name over the
            // length limit): masked as its text, in place; none of its strings is split off to go out later on its own,
            // which would make an event that is not JSON of a valid one
            out = ch.push(text);
        } else if (jsonLike(text)) {
            // JSON that is not valid (cut short, a chunk with garbage in it): its text sits between JSON punctuation. The
            // text held before it goes on in its first text string (where a lenient reader reads it), and the text held
            // at its end is that of its last string, before the punctuation that closes it: so an entity split between
            // its string and a neighbouring event's text is found whole, as a lenient reader and the bytes show it
            int at = firstText(text);
            int end = lastTextEnd(text);
            if (end < at) {
                end = text.length();
            }
            String before = handIn("raw", ch) + ch.handOver(ch);
            // what follows that string (other members, closing punctuation, trailing text) is masked on its own
            out = ch.push(text.substring(0, at) + before + text.substring(at, end))
                    + masker.mask(text.substring(end), "sse-data", report);
        } else { // in order: the text held before it, then its own
            out = ch.push(handIn("raw", ch) + text);
        }
        List<Out> result = new ArrayList<>();
        if (!out.isEmpty()) {
            result.add(new Out(eventName, out, true));
        }
        return result;
    }

    /**
     * Data that is one JSON string ({@code data: "..."}): its value is a piece of one text across such events, as a
     * client that parses each event's data and joins the strings reads it; released as JSON strings.
     */
    List<Out> string(String value, String eventName) {
        return string(value, eventName, false);
    }

    /** As above; {@code whole}: the event ends the text (an error event): nothing of it is held back. */
    List<Out> string(String value, String eventName, boolean whole) {
        Channel ch = channel("string", "sse-data");
        ch.carrier = t -> new Out(eventName, JsonMasker.JSON.getNodeFactory().textNode(t).toString(), false);
        String out = ch.push((whole ? "" : handIn("string", ch)) + value);
        if (whole) {
            out += ch.finish();
        }
        List<Out> result = new ArrayList<>();
        if (!out.isEmpty()) {
            result.add(ch.carrier.apply(out));
        }
        return result;
    }

    /**
     * The choices (index keys) that a chat or completions chunk finishes ({@code finish_reason} not null); empty for
     * any other event.
     */
    static java.util.Set<String> finishing(JsonNode event) {
        java.util.Set<String> out = new java.util.HashSet<>();
        if (event instanceof ObjectNode obj && obj.path("choices").isArray()) {
            for (JsonNode c : obj.get("choices")) {
                if (c.hasNonNull("finish_reason")) {
                    out.add(indexKey(c.get("index")));
                }
            }
        }
        return out;
    }

    /**
     * Whether a chunk goes on with one of these choices (index keys) after its finish: any entry for that choice, text
     * or not. OpenAI's protocol sends nothing for a choice after its finish_reason, so a chunk that does (a role-only
     * or empty delta first, the text in the chunk after it) is an upstream that goes on, and the text held at the
     * finish stays held.
     */
    static boolean carriesText(JsonNode event, java.util.Set<String> choices) {
        if (!(event instanceof ObjectNode obj) || !obj.path("choices").isArray()) {
            return false;
        }
        for (JsonNode c : obj.get("choices")) {
            if (choices.contains(indexKey(c.get("index")))) {
                return true;
            }
        }
        return false;
    }

    /** Whether a chunk has entries for choices, and none for these (index keys): another choice's chunk. */
    static boolean otherChoicesOnly(JsonNode event, java.util.Set<String> choices) {
        if (!(event instanceof ObjectNode obj) || !obj.path("choices").isArray() || obj.get("choices").isEmpty()) {
            return false;
        }
        for (JsonNode c : obj.get("choices")) {
            if (!c.isObject() || choices.contains(indexKey(c.get("index")))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Releases all held text, as events, each with the logprobs that waited for it (an OpenAI choice's: null, reported
     * {@code redact_field}, where the text had a finding; a Responses event's carrier takes its own).
     */
    List<Out> flush() {
        List<Out> out = new ArrayList<>();
        for (Map.Entry<String, Channel> e : channels.entrySet()) {
            Channel ch = e.getValue();
            String rest = ch.finish();
            if ((!rest.isEmpty() || !ch.pending.isEmpty()) && ch.carrier != null) {
                Out o = ch.carrier.apply(rest);
                String key = e.getKey();
                out.add(openAiKey(key) ? withLogprobs(o, key.substring(0, key.indexOf('/')), key, ch) : o);
            }
        }
        return out;
    }

    /** Whether a channel's key is an OpenAI choice's text ({@code <index>/<field>}), whose logprobs wait in it. */
    private static boolean openAiKey(String key) {
        return key.indexOf('/') > 0 && !key.startsWith("g/") && !key.startsWith("r/");
    }

    /**
     * The stream broke off: held text (perhaps half an entity) is dropped, and reported so
     * ({@link StreamingTextMasker#abandon()}); so are the logprobs that waited for it ({@code LOGPROBS}, {@code drop}).
     */
    void abandon() {
        for (Map.Entry<String, Channel> e : channels.entrySet()) {
            Channel ch = e.getValue();
            ch.text.abandon();
            ch.size = 0; // dropped: nothing is held any more (and nothing is pushed after a break-off)
            if (!ch.pending.isEmpty()) {
                String key = e.getKey();
                report.accept(new Redaction("LOGPROBS", StreamingTextMasker.DROP, openAiKey(key)
                        ? "/choices/" + key.substring(0, key.indexOf('/')) + "/logprobs" : "/logprobs", "stream-end"));
                ch.pending.clear();
            }
        }
    }

    private Channel channel(String key, String location) {
        return channels.computeIfAbsent(key, k -> new Channel(location));
    }

    // ---- OpenAI chat / completions chunks ------------------------------------------------------------

    private List<Out> openAi(ObjectNode chunk, String eventName, java.util.Set<String> goingOn, boolean whole) {
        List<Out> before = new ArrayList<>();
        // detach the texts and logprobs of every choice; what remains is masked value by value
        List<ObjectNode> choices = new ArrayList<>();
        for (JsonNode cn : chunk.path("choices")) {
            if (cn instanceof ObjectNode c) {
                choices.add(c);
            }
        }
        // by identity: the choices change while they are processed
        Map<ObjectNode, Map<String, String>> texts = new java.util.IdentityHashMap<>();
        Map<ObjectNode, JsonNode> logprobs = new java.util.IdentityHashMap<>();
        Map<ObjectNode, String> keys = new java.util.IdentityHashMap<>();
        for (ObjectNode c : choices) {
            Map<String, String> t = new LinkedHashMap<>();
            String i = indexKey(c.get("index"));
            keys.put(c, i);
            if (c.path("delta") instanceof ObjectNode delta) {
                detach(delta, i + "/", t);
            }
            if (c.path("message") instanceof ObjectNode message) {
                // some servers stream message instead of delta: a client joins its texts across chunks just the same
                detach(message, i + "/m/", t);
            }
            if (c.path("text").isTextual()) {
                t.put(i + "/text", c.remove("text").asText());
            }
            if (c.has("logprobs")) {
                logprobs.put(c, c.remove("logprobs"));
            }
            texts.put(c, t);
        }
        JsonMasker.document(chunk, "", masker, report);
        // the chunk itself is the template of the events a channel releases later: channelFor keeps only its
        // top-level values that are not containers, which are immutable nodes, and this loop changes only choices
        ObjectNode template = chunk;
        for (ObjectNode c : choices) {
            String i = keys.get(c);
            JsonNode index = c.has("index") ? c.get("index") : IntNode.valueOf(0);
            boolean finishing = whole || c.hasNonNull("finish_reason") && !goingOn.contains(i);
            Map<String, String> t = texts.get(c);
            for (Map.Entry<String, String> e : t.entrySet()) {
                Channel ch = channelFor(e.getKey(), template, index, eventName);
                String out = ch.push((whole ? "" : handIn(e.getKey(), ch)) + e.getValue());
                if (finishing) {
                    out += ch.finish();
                }
                put(c, e.getKey(), out);
            }
            // logprobs wait for the text they belong to (pushed above)
            JsonNode lp = logprobs.get(c);
            if (lp != null && !lp.isNull()) {
                boolean bad = logprobsTouched(lp, "/choices/" + i + "/logprobs");
                String pointer = "/choices/" + i + "/logprobs";
                // the logprobs of a streamed message's text wait in its channel (a chunk that carries a delta's text
                // too: in the delta's)
                String content = t.containsKey(i + "/m/content") && !t.containsKey(i + "/content")
                        ? i + "/m/content" : i + "/content";
                String refusal = t.containsKey(i + "/m/refusal") && !t.containsKey(i + "/refusal")
                        ? i + "/m/refusal" : i + "/refusal";
                if (lp.path("content").isArray()) {
                    awaitIn(channelFor(content, template, index, eventName), pointer, lp.get("content"),
                            bad || tokensDiffer(lp.get("content"), t.get(content)), finishing);
                }
                if (lp.path("refusal").isArray()) {
                    awaitIn(channelFor(refusal, template, index, eventName), pointer, lp.get("refusal"),
                            bad || tokensDiffer(lp.get("refusal"), t.get(refusal)), finishing);
                }
                if (lp.path("tokens").isArray()) {
                    awaitIn(channelFor(i + "/text", template, index, eventName), pointer,
                            JsonMasker.JSON.createArrayNode().add(lp),
                            bad || tokensDiffer(lp.get("tokens"), t.get(i + "/text")), finishing);
                }
            }
            if (finishing) {
                // texts of this choice that this chunk does not carry are released before it
                for (Map.Entry<String, Channel> e : channels.entrySet()) {
                    if (e.getKey().startsWith(i + "/") && !t.containsKey(e.getKey())) {
                        String rest = e.getValue().finish();
                        if (!rest.isEmpty()) {
                            Out o = e.getValue().carrier.apply(rest);
                            before.add(withLogprobs(o, i, e.getKey(), e.getValue()));
                        }
                    }
                }
            }
            setLogprobs(c, i, lp);
        }
        List<Out> out = new ArrayList<>(before);
        out.add(new Out(eventName, chunk.toString(), false));
        return out;
    }

    /**
     * Queues a choice's logprobs entries in the channel of the text they belong to (reported at {@code pointer});
     * {@code finishing}: the text ends in this chunk, so the alternatives' held tails end with it.
     */
    private static void awaitIn(Channel ch, String pointer, JsonNode entries, boolean tainted, boolean finishing) {
        ch.logprobsPointer = pointer;
        ch.await(entries, tainted);
        if (finishing && ch.ranks != null) {
            ch.ranks.finish();
            ch.recount();
        }
    }

    /**
     * Takes the texts of a choice's {@code delta} (or streamed {@code message}) out of it, keyed by {@code prefix}
     * ({@code <index>/} or {@code <index>/m/}) and what they are: each of {@link #OPENAI_DELTA_TEXTS}, the audio
     * transcript, each tool call's arguments (by its {@code index}) and the legacy {@code function_call.arguments}.
     */
    private static void detach(ObjectNode delta, String prefix, Map<String, String> t) {
        if (textParts(delta.path("content"))) {
            // content as a list of text parts (Mistral): a client joins them, across chunks too; so is it here
            StringBuilder joined = new StringBuilder();
            delta.get("content").forEach(p -> joined.append(p.get("text").asText()));
            delta.put("content", joined.toString());
        }
        for (String f : OPENAI_DELTA_TEXTS) {
            if (delta.path(f).isTextual()) {
                t.put(prefix + f, delta.remove(f).asText());
            }
        }
        if (delta.path("audio") instanceof ObjectNode audio && audio.path("transcript").isTextual()) {
            t.put(prefix + "audio", audio.remove("transcript").asText());
        }
        for (JsonNode call : delta.path("tool_calls")) {
            if (call.path("function") instanceof ObjectNode fn && fn.path("arguments").isTextual()) {
                t.put(prefix + "tool/" + indexKey(call.get("index")), fn.remove("arguments").asText());
            }
        }
        if (delta.path("function_call") instanceof ObjectNode fn && fn.path("arguments").isTextual()) {
            t.put(prefix + "function_call", fn.remove("arguments").asText());
        }
    }

    /** A non-empty list of {@code {"type":"text","text":"..."}} parts and nothing else. */
    private static boolean textParts(JsonNode content) {
        if (!content.isArray() || content.isEmpty()) {
            return false;
        }
        for (JsonNode p : content) {
            if (!p.isObject() || !"text".equals(p.path("type").asText()) || !p.path("text").isTextual() || p.size() != 2) {
                return false;
            }
        }
        return true;
    }

    /**
     * The common chat-completions chunk, masked without building a tree: one choice whose delta carries at most a
     * role and a {@code content} string, with no logprobs and no finish reason, beside top-level values that are
     * not containers ({@code usage} only null). Its content goes through its channel as in {@link #openAi}; the
     * masked text is put back in place of the upstream's, and the rest of the event stays as it came. Null when
     * the event is anything else (another field, a string with a finding, a repeated name, logprobs that wait
     * for their text, trailing text, data of several lines, ...): the caller then parses it and takes
     * {@link #json}, which gives the same result in Jackson's own layout, but for numbers: these keep the upstream's
     * own digits here, where a tree rewrites a number it cannot hold ({@code 1e400} became {@code "Infinity"}).
     */
    Chunk chunk(String payload, String eventName) {
        if (!plainChunks || payload.isEmpty() || payload.charAt(0) != '{' || payload.indexOf('\n') >= 0) {
            return null; // an event of several data lines is written out on one (as the tree path does)
        }
        String index = null;
        int contentStart = -1;
        String content = null;
        try (com.fasterxml.jackson.core.JsonParser p = JsonMasker.JSON.getFactory().createParser(payload)) {
            p.nextToken();
            com.fasterxml.jackson.core.JsonToken t;
            boolean choices = false;
            while ((t = p.nextToken()) == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (!clean(name)) {
                    return null; // a name is text too: the tree path masks it
                }
                t = p.nextToken();
                if (name.equals("choices")) {
                    if (choices || t != com.fasterxml.jackson.core.JsonToken.START_ARRAY
                            || p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                        return null;
                    }
                    choices = true;
                    while ((t = p.nextToken()) == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                        String field = p.currentName();
                        t = p.nextToken();
                        switch (field) {
                            case "index" -> {
                                if (t != com.fasterxml.jackson.core.JsonToken.VALUE_NUMBER_INT || index != null
                                        || !Character.isDigit(p.getText().charAt(0)) || p.getText().length() > 6) {
                                    return null;
                                }
                                index = p.getText();
                            }
                            case "logprobs", "finish_reason" -> {
                                if (t != com.fasterxml.jackson.core.JsonToken.VALUE_NULL) {
                                    return null;
                                }
                            }
                            case "delta" -> {
                                if (t != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                                    return null;
                                }
                                while ((t = p.nextToken()) == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                                    String f = p.currentName();
                                    t = p.nextToken();
                                    if (f.equals("content") && t == com.fasterxml.jackson.core.JsonToken.VALUE_STRING) {
                                        contentStart = (int) p.currentTokenLocation().getCharOffset();
                                        if (contentStart < 0 || contentStart >= payload.length()
                                                || payload.charAt(contentStart) != '"') {
                                            return null;
                                        }
                                        content = p.getText();
                                    } else if (f.equals("role")
                                            && t == com.fasterxml.jackson.core.JsonToken.VALUE_STRING) {
                                        if (!clean(p.getText())) {
                                            return null;
                                        }
                                    } else if (!((f.equals("content") || f.equals("refusal"))
                                            && t == com.fasterxml.jackson.core.JsonToken.VALUE_NULL)) {
                                        return null;
                                    }
                                }
                            }
                            default -> {
                                return null;
                            }
                        }
                    }
                    if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) {
                        return null; // more than one choice
                    }
                } else if (t == com.fasterxml.jackson.core.JsonToken.START_OBJECT
                        || t == com.fasterxml.jackson.core.JsonToken.START_ARRAY
                        || t == com.fasterxml.jackson.core.JsonToken.VALUE_STRING && !clean(p.getText())) {
                    return null;
                }
            }
            if (t != com.fasterxml.jackson.core.JsonToken.END_OBJECT || !choices || p.nextToken() != null) {
                return null;
            }
        } catch (java.io.IOException | RuntimeException e) {
            return null; // not JSON, a repeated name, ...: the tree path decides
        }
        if (outsiderHolds()) {
            return null; // data that is not JSON holds text: the tree path joins it with this chunk's (handIn)
        }
        String i = index == null ? "0" : index;
        for (String f : List.of("/content", "/refusal", "/text", "/m/content", "/m/refusal")) {
            Channel waiting = channels.get(i + f);
            if (waiting != null && !waiting.pending.isEmpty()) {
                return null; // logprobs wait for their text: this event may carry them
            }
        }
        if (content == null) {
            return new Chunk(payload, true);
        }
        String key = i + "/content";
        Channel ch = channelFor(key, () -> (ObjectNode) JsonMasker.strictTree(payload), index(i), eventName);
        String out = ch.push(content);
        if (out.equals(content)) {
            return new Chunk(payload, true);
        }
        int end = stringEnd(payload, contentStart);
        StringBuilder b = new StringBuilder(payload.length() + out.length() - content.length() + 8);
        b.append(payload, 0, contentStart).append('"');
        com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(out, b);
        return new Chunk(b.append('"').append(payload, end, payload.length()).toString(), false);
    }

    /** Whether a string scans clean (the engine remembers short clean texts: ids and model names repeat). */
    private boolean clean(String value) {
        return masker.engine().scan(value).isEmpty();
    }

    /** The end (exclusive) of the JSON string whose opening quote is at {@code quote}. */
    static int stringEnd(String json, int quote) {
        if (json.charAt(quote) != '"') {
            throw new IllegalStateException("not a string at " + quote);
        }
        int i = quote + 1;
        while (json.charAt(i) != '"') {
            i += json.charAt(i) == '\\' ? 2 : 1;
        }
        return i + 1;
    }

    /** Puts the logprobs whose text is released now on a choice: null where a finding touched them. */
    private void setLogprobs(ObjectNode c, String i, JsonNode original) {
        boolean[] taint = {false};
        List<JsonNode> content = take(i + "/content", taint);
        content.addAll(take(i + "/m/content", taint));
        List<JsonNode> refusal = take(i + "/refusal", taint);
        refusal.addAll(take(i + "/m/refusal", taint));
        List<JsonNode> legacy = take(i + "/text", taint);
        boolean any = !content.isEmpty() || !refusal.isEmpty() || !legacy.isEmpty();
        if (!any && original == null) {
            return;
        }
        if (taint[0]) {
            c.set("logprobs", NullNode.getInstance());
            report.accept(new Redaction("LOGPROBS", JsonMasker.REDACT_FIELD, "/choices/" + i + "/logprobs",
                    "stream"));
            return;
        }
        if (!any) {
            c.set("logprobs", original == null || original.isNull() ? NullNode.getInstance() : emptyLike(original));
            return;
        }
        if (!legacy.isEmpty()) {
            c.set("logprobs", mergeLegacy(legacy));
            return;
        }
        ObjectNode lp = c.putObject("logprobs");
        ArrayNode ca = lp.putArray("content");
        content.forEach(ca::add);
        if (refusal.isEmpty()) {
            lp.putNull("refusal");
        } else {
            refusal.forEach(lp.putArray("refusal")::add);
        }
    }

    private static JsonNode emptyLike(JsonNode original) {
        ObjectNode o = JsonMasker.JSON.createObjectNode();
        if (original.has("tokens")) {
            o.putArray("tokens");
            o.putArray("token_logprobs");
            o.putArray("top_logprobs");
            o.putArray("text_offset");
            return o;
        }
        o.putArray("content");
        o.putNull("refusal");
        return o;
    }

    private static JsonNode mergeLegacy(List<JsonNode> parts) {
        ObjectNode o = JsonMasker.JSON.createObjectNode();
        for (JsonNode p : parts) {
            Iterator<Map.Entry<String, JsonNode>> it = p.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getValue().isArray()) {
                    ArrayNode a = o.has(e.getKey()) ? (ArrayNode) o.get(e.getKey()) : o.putArray(e.getKey());
                    e.getValue().forEach(a::add);
                }
            }
        }
        return o;
    }

    private List<JsonNode> take(String key, boolean[] taint) {
        Channel ch = channels.get(key);
        return ch == null ? new ArrayList<>() : ch.take(taint);
    }

    private Out withLogprobs(Out o, String i, String key, Channel ch) {
        boolean[] taint = {false};
        List<JsonNode> entries = ch.take(taint);
        if (entries.isEmpty() && !taint[0]) {
            return o;
        }
        try {
            ObjectNode chunk = (ObjectNode) JsonMasker.JSON.readTree(o.data());
            ObjectNode c = (ObjectNode) chunk.path("choices").get(0);
            if (taint[0]) {
                c.putNull("logprobs");
                report.accept(new Redaction("LOGPROBS", JsonMasker.REDACT_FIELD, "/choices/" + i + "/logprobs",
                        "stream"));
            } else if (key.endsWith("/text")) {
                c.set("logprobs", mergeLegacy(entries));
            } else {
                // as setLogprobs writes them on a chunk of the upstream's
                ObjectNode lp = c.putObject("logprobs");
                boolean refusal = key.endsWith("/refusal");
                ArrayNode content = lp.putArray("content");
                if (refusal) {
                    entries.forEach(lp.putArray("refusal")::add);
                } else {
                    entries.forEach(content::add);
                    lp.putNull("refusal");
                }
            }
            return new Out(o.eventName(), chunk.toString(), false);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The channel of one OpenAI text, with a carrier shaped like the chunk it came in. */
    private Channel channelFor(String key, ObjectNode template, JsonNode index, String eventName) {
        // the chunk's top-level values that are not containers are immutable nodes, and nothing changes them after
        // masking: the skeleton is taken from the chunk when (rarely) a carrier is needed, not for every event
        return channelFor(key, () -> template, index, eventName);
    }

    /** As above; {@code index} is the choice's own index (a number of any size, or whatever the upstream sent). */
    private Channel channelFor(String key, java.util.function.Supplier<ObjectNode> template, JsonNode index,
                               String eventName) {
        Channel ch = channels.get(key);
        if (ch == null) {
            ch = channel(key, location(key));
        }
        ch.carrier = text -> {
            ObjectNode chunk = JsonMasker.JSON.createObjectNode();
            Iterator<Map.Entry<String, JsonNode>> it = template.get().fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getKey().equals("choices") && !e.getKey().equals("usage") && !e.getValue().isContainerNode()) {
                    chunk.set(e.getKey(), e.getValue());
                }
            }
            ObjectNode c = chunk.putArray("choices").addObject();
            c.set("index", index);
            put(c, key, text);
            c.putNull("finish_reason");
            return new Out(eventName, chunk.toString(), false);
        };
        return ch;
    }

    private static String location(String key) {
        String[] k = key.split("/");
        boolean message = k.length > 2 && k[1].equals("m");
        String c = "/choices/" + k[0] + (message ? "/message" : "/delta");
        String what = message ? k[2] : k[1];
        return switch (what) {
            case "text" -> "/choices/" + k[0] + "/text";
            case "audio" -> c + "/audio/transcript";
            case "tool" -> c + "/tool_calls/" + k[k.length - 1] + "/function/arguments";
            case "function_call" -> c + "/function_call/arguments";
            default -> c + "/" + what;
        };
    }

    /**
     * Sets one text back on its choice (creating the delta or message, tool call, function call or audio object if
     * needed).
     */
    private static void put(ObjectNode c, String key, String text) {
        String[] k = key.split("/");
        boolean message = k.length > 2 && k[1].equals("m");
        ObjectNode d = message ? (c.path("message") instanceof ObjectNode m ? m : c.putObject("message")) : null;
        String what = message ? k[2] : k[1];
        switch (what) {
            case "text" -> c.put("text", text);
            case "audio" -> (message ? d : delta(c)).with("audio").put("transcript", text);
            case "function_call" -> (message ? d : delta(c)).with("function_call").put("arguments", text);
            case "tool" -> {
                String callIndex = k[k.length - 1];
                ArrayNode calls = (message ? d : delta(c)).withArray("tool_calls");
                ObjectNode call = null;
                for (JsonNode n : calls) {
                    if (indexKey(n.get("index")).equals(callIndex) && n instanceof ObjectNode o) {
                        call = o;
                    }
                }
                if (call == null) {
                    call = calls.addObject();
                    call.set("index", index(callIndex));
                }
                call.with("function").put("arguments", text);
            }
            default -> (message ? d : delta(c)).put(what, text);
        }
    }

    /**
     * An index as part of a channel's key (and of the location its redactions are reported at): a whole number of up
     * to six characters as written; anything else (a longer number, a string, a fraction, an object) by a hash of its
     * JSON, so that no text of the upstream's (a slash, or an entity in a hostile upstream's index) reaches the key or
     * a report.
     */
    static String indexKey(JsonNode index) {
        if (index == null || index.isNull()) {
            return "0";
        }
        // a choice's index by its value, as a client reads it ("0", 0.0, 1e0 and 0 are one choice to a JS client's
        // choices[index] or a Python client's int), when it could be one (a few digits); a longer number could be an
        // entity
        if (index.isNumber() || index.isTextual()) {
            try {
                java.math.BigInteger v = (index.isNumber() ? index.decimalValue()
                        : new java.math.BigDecimal(index.asText().strip())).toBigIntegerExact();
                String text = v.toString();
                if (text.length() <= 6) {
                    return text;
                }
            } catch (ArithmeticException | NumberFormatException notAnInteger) {
                // not a whole number: by its hash
            }
        }
        return "#" + Integer.toHexString(index.toString().hashCode());
    }

    /**
     * An index from its text (a channel's key holds it as text): a whole number of any size, else the text. An index
     * past an int (or not a number) made the carrier of held text throw, cutting the stream.
     */
    static JsonNode index(String text) {
        try {
            return JsonMasker.JSON.getNodeFactory().numberNode(new java.math.BigDecimal(text).toBigIntegerExact());
        } catch (ArithmeticException | NumberFormatException notAnInteger) {
            return TextNode.valueOf(text);
        }
    }

    private static ObjectNode delta(ObjectNode c) {
        return c.path("delta") instanceof ObjectNode d ? d : c.putObject("delta");
    }

    // ---- Responses API events -----------------------------------------------------------------------

    /**
     * Responses streams number their events ({@code sequence_number}, rising one by one). An extra event that releases
     * held text takes the number after the last one sent, and every later event moves up by one for each extra event,
     * so that the numbers a client sees still rise one by one (an extra event took the number of the event its text
     * came in, and a strict client could refuse the repeat).
     */
    private long sequenceShift;
    private long lastSequence = Long.MIN_VALUE;

    private void renumber(ObjectNode e, boolean extra) {
        JsonNode s = e.get("sequence_number");
        if (s == null || !s.isIntegralNumber() || !s.canConvertToLong()) {
            return;
        }
        long n;
        if (extra) {
            n = lastSequence == Long.MIN_VALUE ? s.asLong() + sequenceShift : lastSequence + 1;
            sequenceShift++;
        } else {
            n = s.asLong() + sequenceShift;
        }
        lastSequence = n;
        e.put("sequence_number", n);
    }

    private List<Out> responses(ObjectNode event, String eventName) {
        String type = event.path("type").asText();
        boolean textDelta = type.endsWith(".delta") && event.path("delta").isTextual()
                && !type.equals("response.audio.delta");
        if (!textDelta) {
            // a .done event, response.completed, ...: all held text goes out first, then the event, masked whole
            List<Out> out = flush();
            JsonNode done = JsonMasker.document(event, "", masker, report);
            if (done instanceof ObjectNode o) {
                renumber(o, false);
            }
            out.add(new Out(eventName, done.toString(), false));
            return out;
        }
        String key = "r/" + type + "/" + responsesPlace(event, type);
        String delta = event.remove("delta").asText();
        JsonNode lp = event.remove("logprobs");
        JsonMasker.document(event, "", masker, report);
        ObjectNode template = event.deepCopy();
        // the event's type names where its redactions are reported: only as the API spells types, never an
        // upstream's arbitrary text (which could hold the very entity reported)
        String where = type.matches("[a-z_.]{1,80}") ? type : "response.#" + Integer.toHexString(type.hashCode());
        Channel ch = channel(key, "/" + where + "/delta");
        ch.carrier = text -> {
            ObjectNode e = template.deepCopy();
            e.put("delta", text);
            renumber(e, true);
            boolean[] taint = {false};
            List<JsonNode> entries = ch.take(taint);
            if (lp != null) {
                ArrayNode a = e.putArray("logprobs");
                if (!taint[0]) {
                    entries.forEach(a::add);
                } else {
                    // emptied: reported, as where the delta's own event empties them
                    report.accept(new Redaction("LOGPROBS", JsonMasker.REDACT_FIELD, "/" + where + "/logprobs",
                            "stream"));
                }
            }
            return new Out(eventName, e.toString(), false);
        };
        ObjectNode out = event;
        out.put("delta", ch.push(handIn(key, ch) + delta));
        renumber(out, false);
        if (lp instanceof ArrayNode) {
            ch.logprobsPointer = "/" + where + "/logprobs";
            ch.await(lp, logprobsTouched(lp, "/" + where + "/logprobs") | tokensDiffer(lp, delta));
        }
        if (lp != null) {
            boolean[] taint = {false};
            List<JsonNode> entries = ch.take(taint);
            ArrayNode a = out.putArray("logprobs");
            if (taint[0]) {
                report.accept(new Redaction("LOGPROBS", JsonMasker.REDACT_FIELD, "/" + where + "/logprobs", "stream"));
            } else {
                entries.forEach(a::add);
            }
        }
        return new ArrayList<>(List.of(new Out(eventName, out.toString(), false)));
    }

    // ---- any other JSON event -------------------------------------------------------------------------

    /** {@code whole}: the event's texts end in it (an error event), though it does not end the stream's other texts. */
    private List<Out> generic(JsonNode event, String eventName, boolean whole) {
        // names first, so that the texts' pointers lead to them once masking is done (a text under a name with a
        // finding is still one text across events)
        JsonMasker.maskAllNames(event, "", masker, report);
        List<String> pointers = new ArrayList<>();
        textFields(event, "", pointers);
        String discriminator = discriminator(event);
        boolean terminal = terminal(event);
        Map<String, String> texts = new LinkedHashMap<>();
        for (String p : pointers) {
            texts.put(p, at(event, p).asText());
            set(event, p, "");
        }
        JsonNode masked = JsonMasker.document(event, "", masker, report);
        ObjectNode template = masked instanceof ObjectNode o ? o.deepCopy() : null;
        List<Out> before = new ArrayList<>();
        for (Map.Entry<String, String> e : texts.entrySet()) {
            String key = "g/" + discriminator + e.getKey();
            Channel ch = channel(key, e.getKey());
            String pointer = e.getKey();
            ch.carrier = text -> {
                JsonNode c = template == null ? TextNode.valueOf(text) : template.deepCopy();
                if (template != null) {
                    set(c, pointer, text);
                }
                return new Out(eventName, c.toString(), false);
            };
            String out = ch.push((whole ? "" : handIn(key, ch)) + e.getValue());
            if (terminal || whole) {
                out += ch.finish();
            }
            masked = set(masked, pointer, out);
        }
        if (terminal) {
            before.addAll(flush());
        }
        before.add(new Out(eventName, masked.toString(), false));
        return before;
    }

    /**
     * Where a Responses client puts a delta's text: the OpenAI SDKs join {@code output_text} deltas by
     * {@code output_index} and {@code content_index}, and function-call arguments by {@code output_index} alone, whatever
     * {@code item_id} (or, for arguments, {@code content_index}) says, and read an index by its value ({@code 0.0} is
     * {@code 0}). The text was keyed by every one of them as written: a card split across two deltas of one output
     * whose {@code item_id} differed, or whose index was {@code 0} then {@code 0.0}, was two texts to the masker and
     * one to the client. {@code item_id} keys a delta only where it has no {@code output_index}.
     */
    static String responsesPlace(JsonNode event, String type) {
        JsonNode output = event.get("output_index");
        if (output == null || output.isNull()) {
            return "item/" + event.path("item_id").asText("") + "/" + indexKey(event.get("content_index")) + "/"
                    + indexKey(event.get("summary_index"));
        }
        if (type.equals("response.function_call_arguments.delta")) {
            return indexKey(output);
        }
        return indexKey(output) + "/" + indexKey(event.get("content_index")) + "/"
                + indexKey(event.get("summary_index"));
    }

    /** What tells one text of a stream from another beside its place: its index, item or output. */
    static String discriminator(JsonNode event) {
        StringBuilder d = new StringBuilder();
        if (event instanceof ObjectNode o) {
            // an index is read by its value, as a client reads it (0.0 is 0); an item's id only where there is no index:
            // Anthropic's SDKs join content_block_delta text by index whatever else the event says, and an extra,
            // changing item_id split a card into two texts that the client joined
            boolean indexed = o.path("index").isValueNode() && !o.path("index").isNull()
                    || o.path("output_index").isValueNode() && !o.path("output_index").isNull();
            for (String k : List.of("index", "item_id", "output_index", "content_index")) {
                if (k.equals("item_id") && indexed) {
                    continue;
                }
                if (o.has(k) && o.get(k).isValueNode()) {
                    d.append(k).append('=').append(k.equals("item_id") ? o.get(k).asText() : indexKey(o.get(k)))
                            .append(';');
                }
            }
        }
        return d.toString();
    }

    /** Whether a generic event ends the stream's texts (it releases all held text before it). */
    static boolean terminal(JsonNode event) {
        if (event.path("done").asBoolean(false) || event.path("stop").asBoolean(false)) {
            return true;
        }
        if (event.path("finish_reason").isTextual() || event.path("stop_reason").isTextual()) {
            return true;
        }
        String type = event.path("type").asText("");
        return type.endsWith("_stop") || type.endsWith(".done") || type.endsWith("_end") || type.equals("done");
    }

    /** The pointers of the string fields named like text (callers mask the names first, so the pointers hold). */
    static void textFields(JsonNode n, String pointer, List<String> out) {
        if (n instanceof ObjectNode o) {
            Iterator<Map.Entry<String, JsonNode>> it = o.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                String p = pointer + "/" + JsonMasker.escape(e.getKey());
                if (e.getValue().isTextual() && TEXT_FIELDS.contains(e.getKey())) {
                    out.add(p);
                } else if (!e.getKey().equals("logprobs")) {
                    textFields(e.getValue(), p, out);
                }
            }
        } else if (n instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                textFields(a.get(i), pointer + "/" + i, out);
            }
        }
    }

    private static JsonNode at(JsonNode root, String pointer) {
        return root.at(JsonPointer.compile(pointer));
    }

    /** Sets the string at a pointer (its parent exists); returns the root (a new one for the root itself). */
    static JsonNode set(JsonNode root, String pointer, String value) {
        if (pointer.isEmpty()) {
            return TextNode.valueOf(value);
        }
        JsonPointer p = JsonPointer.compile(pointer);
        JsonNode parent = root.at(p.head());
        String last = p.last().getMatchingProperty();
        if (parent instanceof ObjectNode o) {
            o.put(last, value);
        } else if (parent instanceof ArrayNode a) {
            a.set(Integer.parseInt(last), TextNode.valueOf(value));
        }
        return root;
    }
}
