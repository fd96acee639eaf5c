package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Masks a server-sent event stream on its way through. Events are cut on the byte stream (LF, CRLF or CR
 * line ends, as the SSE grammar allows), so a multi-byte character split between network chunks is decoded
 * whole. The texts a caller reassembles from the events are masked as one text across events
 * ({@link EventTexts}): an entity split over any number of events is never released in part. An event that
 * masking leaves unchanged goes out byte for byte; an event that changes is re-framed ({@code data: } lines, with
 * the line end of the event it replaces: CRLF, CR or LF). Comments and {@code event:}, {@code id:}, {@code retry:} fields are masked value by value.
 */
public final class SseMasker {

    private final Masker masker;
    private final Consumer<Redaction> report;
    private final EventTexts texts;
    private byte[] buf = new byte[0];
    private int len;
    /** No event read yet: the stream's one leading byte order mark, which SSE readers ignore, is still to come. */
    private boolean first = true;
    /** A chunk that finishes a choice, held until the next event ({@link #next}); null when none. */
    private String deferred;
    private byte[] deferredRaw;
    private java.util.Set<String> deferredChoices;
    /** Blocks with no data (comments, event:/id:/retry: alone) after the held chunk: no event to a client, kept in order. */
    private final ByteArrayOutputStream deferredTail = new ByteArrayOutputStream();
    /**
     * The stream's line end (CRLF, CR or LF), as its latest event wrote it: text released apart from any upstream event
     * is framed with it, so a strict client that splits on the stream's own line end reads it.
     */
    private String eol = "\n";
    /** Where the search for the end of the held event (at the buffer's start) resumes, and whether a line starts there. */
    private int scanAt;
    private boolean scanLineStart = true;
    /** Where the last search stopped without an end (set by {@link #eventEnd}). */
    private int stoppedAt;
    private boolean stoppedLineStart = true;

    public SseMasker(Masker masker, Consumer<Redaction> report) {
        this(masker, report, true);
    }

    /** With {@code plainChunks} false every JSON event is masked as a tree (to test the common chunk's path). */
    SseMasker(Masker masker, Consumer<Redaction> report, boolean plainChunks) {
        this.masker = masker;
        this.report = report;
        this.texts = new EventTexts(masker, report, plainChunks);
    }

    /** Takes raw bytes from the upstream; returns the masked events that are complete. */
    public byte[] push(byte[] bytes) {
        append(bytes);
        byte[] out = drain(false);
        if (len > masker.streamLimit()) {
            // an event whose blank line does not come (one line of hundreds of MiB, or line after line): it would be
            // held whole, for every caller of the gateway at once
            throw StreamShape.refuse(report, "sse-event", "event_too_long");
        }
        return out;
    }

    /** The stream ended normally: a trailing event and any held text are released, masked. */
    public byte[] finish() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] whole = drain(true);
        out.write(whole, 0, whole.length);
        if (len > 0) {
            String rest = withoutLeadingBom(new String(buf, 0, len, StandardCharsets.UTF_8));
            eol = lineEnd(Arrays.copyOf(buf, len), eol);
            len = 0;
            if (!rest.isBlank()) {
                refuseJson(rest);
                if (deferred != null) {
                    JsonNode json = parsed(rest);
                    write(out, releaseDeferred(json != null ? EventTexts.carriesText(json, deferredChoices)
                            : outsider(rest)));
                }
                write(out, event(rest, rest.getBytes(StandardCharsets.UTF_8), false, java.util.Set.of()));
            }
        }
        if (deferred != null) { // the stream ends after it: its finish ends its texts
            write(out, releaseDeferred(false));
        }
        for (EventTexts.Out o : texts.flush()) {
            write(out, frame(o, null, eol));
        }
        return out.toByteArray();
    }

    /**
     * The stream broke off (the upstream's connection closed or failed): the end of the input. Returns what may still
     * go out to the caller: a finishing chunk that waits for the next event, with its choice's held text masked as
     * final (its finish ended that text, and nothing can follow it any more), and the blocks behind it, as at a clean
     * end. Every other held tail (text that had not ended, possibly half an entity) is dropped, never released raw;
     * so is an event cut short (an SSE client discards an event its blank line never ended), and with it the text held
     * at the finish before it (the upstream had gone on after the finish: that text had not ended either). Everything
     * dropped is reported ({@code drop}: each entity found in it, else {@code HELD_TEXT}), so the report says all that
     * was hidden.
     */
    public byte[] abandon() {
        String rest = new String(buf, 0, len, StandardCharsets.UTF_8);
        boolean cutShort = len > 0 && !rest.isBlank();
        len = 0;
        if (cutShort) {
            StreamingTextMasker.dropped(masker, "", rest, "sse-event", report);
        }
        byte[] out = new byte[0];
        if (deferred != null) {
            out = releaseDeferred(cutShort);
        }
        texts.abandon();
        return out;
    }

    /**
     * The first event's text without the stream's leading U+FEFF: the SSE grammar ignores one, so its first line is a
     * field like any other ({@code data:}) to a reader, and must be to the masker too.
     */
    private String withoutLeadingBom(String text) {
        if (!first) {
            return text;
        }
        first = false;
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    /**
     * An event with a line that is JSON where the SSE grammar expects a field (NDJSON under an event-stream label): its
     * reader reads the lines as JSON values, not as this stream's events, so the stream is cut before anything of the
     * event goes out ({@link StreamShape}).
     */
    private void refuseJson(String event) {
        if (StreamShape.jsonLineInEvent(event)) {
            throw StreamShape.refuse(report, "sse-event", "json_line_in_event_stream");
        }
    }

    /**
     * An event of several data lines that are each a JSON value while together they are none ({@code data: {...}} twice
     * in one event): an SSE client joins the lines and cannot parse them (the SDK raises), but a client that reads a
     * stream line by line, as hand-written ones often do ({@code for line in r.iter_lines(): json.loads(line[6:])}),
     * reads each line as a chunk of its own and joins their texts, which the masker, reading the event as the SSE
     * grammar says (one text that is not JSON), did not: a card split across the two lines went out. Cut
     * ({@link StreamShape}): no client reads such an event as its label says it is.
     */
    private void refuseJsonDataLines(String event) {
        int lines = 0;
        int json = 0;
        for (String line : lines(event, false)) {
            if (line.startsWith("data:")) {
                lines++;
                String v = line.substring(line.length() > 5 && line.charAt(5) == ' ' ? 6 : 5).strip();
                if ((v.startsWith("{") || v.startsWith("[")) && JsonMasker.strictEvent(v) != null) {
                    json++;
                }
            }
        }
        if (lines >= 2 && json >= 1 && parsed(event) == null) {
            throw StreamShape.refuse(report, "sse-event", "json_data_lines_in_one_event");
        }
    }

    private void append(byte[] bytes) {
        if (len + bytes.length > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + bytes.length));
        }
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
    }

    private byte[] drain(boolean eof) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int from = 0;
        int end;
        // the held event was searched up to scanAt already: only the bytes that arrived since are (a long event that
        // arrives in many pieces costs linear time, not quadratic)
        while ((end = from == 0 ? eventEnd(buf, 0, scanAt, scanLineStart, len, eof, this)
                : eventEnd(buf, from, from, true, len, eof, this)) >= 0) {
            scanAt = 0;
            scanLineStart = true;
            byte[] raw = Arrays.copyOfRange(buf, from, end);
            eol = lineEnd(raw, eol);
            String text = withoutLeadingBom(new String(raw, StandardCharsets.UTF_8));
            if (!text.isBlank()) {
                refuseJson(text);
                refuseJsonDataLines(text);
                write(out, next(text, raw));
            } else {
                out.write(raw, 0, raw.length);
            }
            from = end;
        }
        scanAt = Math.max(0, stoppedAt - from);
        scanLineStart = stoppedLineStart;
        if (from > 0) {
            System.arraycopy(buf, from, buf, 0, len - from);
            len -= from;
        }
        return out.toByteArray();
    }

    /**
     * The end (exclusive) of the first complete event at {@code from}: after the empty line that ends it,
     * or -1. A CR at the very end may be the first half of a CRLF, so it waits for the next byte.
     */
    static int eventEnd(byte[] b, int from, int len, boolean eof) {
        return eventEnd(b, from, from, true, len, eof, null);
    }

    /**
     * As above, resuming at {@code at} (the event's bytes before it were searched already, and {@code lineStart} says
     * whether a line starts there); when there is no end yet, {@code state} (if any) learns where to resume.
     */
    private static int eventEnd(byte[] b, int from, int at, boolean lineStart, int len, boolean eof, SseMasker state) {
        int i = Math.max(from, at);
        while (i < len) {
            byte c = b[i];
            if (c == '\n' || c == '\r') {
                int next = i + 1;
                if (c == '\r') {
                    if (next == len && !eof) {
                        if (state != null) {
                            state.stoppedAt = i;
                            state.stoppedLineStart = lineStart;
                        }
                        return -1;
                    }
                    if (next < len && b[next] == '\n') {
                        next++;
                    }
                }
                if (lineStart) {
                    return next;
                }
                lineStart = true;
                i = next;
                continue;
            }
            lineStart = false;
            i++;
        }
        if (state != null) {
            state.stoppedAt = len;
            state.stoppedLineStart = lineStart;
        }
        return -1;
    }

    private static void write(ByteArrayOutputStream out, byte[] b) {
        out.write(b, 0, b.length);
    }

    /**
     * One whole event, in turn: a chunk that finishes a choice is held until the next event, which says whether that
     * choice's text goes on after its finish (an upstream that sends text after a {@code finish_reason}, which
     * OpenAI's protocol does not do): if it does, the text held back at the finish is not released there, so an
     * entity split across it is found whole (else its first half went out at the finish). The finishing chunk is
     * then masked and emitted before the next event; at the stream's end, as it ends.
     */
    private byte[] next(String text, byte[] raw) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (deferred != null && !hasData(text)) { // dispatches no event: the next event decides, this waits behind
            waitBehind(event(text, raw, true, java.util.Set.of()));
            return out.toByteArray();
        }
        // parsed only when it may finish a choice, or a finishing chunk waits for it: not the common chunk, whose
        // finish_reason is null (it is masked without a tree)
        JsonNode json = deferred != null || mayFinish(text) ? parsed(text) : null;
        java.util.Set<String> finishing = json == null ? java.util.Set.of() : EventTexts.finishing(json);
        if (deferred != null && finishing.isEmpty() && EventTexts.otherChoicesOnly(json, deferredChoices)) {
            // another choice's chunk (several choices): it goes out ahead, and the held chunk still waits for its own
            write(out, event(text, raw, true, java.util.Set.of()));
            return out.toByteArray();
        }
        if (deferred != null && waitsBehind(text, json)) {
            // an event that carries no choice's text and touches no held text (a usage chunk, an error, a keep-alive
            // of JSON): masked now, it waits behind the held chunk, in order; the next event with a choice decides
            waitBehind(event(text, raw, true, java.util.Set.of()));
            return out.toByteArray();
        }
        if (deferred != null) {
            write(out, releaseDeferred(json != null ? EventTexts.carriesText(json, deferredChoices) : outsider(text)));
        }
        if (!finishing.isEmpty()) {
            deferred = text;
            deferredRaw = raw;
            deferredChoices = finishing;
        } else {
            write(out, event(text, raw, true, java.util.Set.of()));
        }
        return out.toByteArray();
    }

    /**
     * Queues a masked block behind the held finishing chunk. They are bounded: an upstream that sends comments (or
     * usage chunks) after a finish and never the event that decides would be held without end; past the limit the
     * stream is cut (the held text, perhaps half an entity, is not released).
     */
    private void waitBehind(byte[] block) {
        write(deferredTail, block);
        if ((long) deferredTail.size() + deferredRaw.length > masker.streamLimit()) {
            throw StreamShape.refuse(report, "sse-event", "held_events_too_long");
        }
    }

    /** The held finishing chunk, masked; {@code goesOn}: its choices' texts go on after it (not released at it). */
    private byte[] releaseDeferred(boolean goesOn) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        write(out, event(deferred, deferredRaw, true, goesOn ? deferredChoices : java.util.Set.of()));
        write(out, deferredTail.toByteArray());
        deferredTail.reset();
        deferred = null;
        return out.toByteArray();
    }

    /** Whether the event names a {@code finish_reason} whose value is not {@code null} (written plainly). */
    static boolean mayFinish(String text) {
        int at = 0;
        while ((at = text.indexOf("finish_reason\"", at)) >= 0) {
            at += 14;
            int i = at;
            while (i < text.length() && (text.charAt(i) == ' ' || text.charAt(i) == ':' || text.charAt(i) == '\t')) {
                i++;
            }
            if (!text.startsWith("null", i)) {
                return true;
            }
        }
        // a name or value written with backslash-u escapes (a hostile upstream's): the parse decides
        return text.contains("\\u");
    }

    /**
     * Whether an event's data is not a JSON object or array, nor {@code [DONE]} (a chunk that is not valid JSON, a JSON
     * string), and the event is not an error: its text is read after the text before it, in the stream's order
     * ({@link EventTexts}), so after a finish it goes on with the finished choice's text.
     */
    private static boolean outsider(String event) {
        if (namedError(event)) {
            return false;
        }
        String data = dataOf(event);
        return data != null && !data.trim().equals("[DONE]") && JsonMasker.strictEvent(data) == null;
    }

    /**
     * Whether an event after a finishing chunk neither goes on with a choice nor releases held text when it is masked,
     * so it can wait behind that chunk: a JSON object with no entry in {@code choices} (a usage chunk, OpenAI's in-stream
     * error, a generic event that is not terminal, not a Responses event), or an event named {@code error}. Data that
     * is not a JSON object goes on with the text ({@link #outsider}); [DONE] ends it.
     */
    private static boolean waitsBehind(String event, JsonNode json) {
        if (json == null) {
            if (namedError(event)) {
                String data = dataOf(event);
                return data == null || !data.trim().equals("[DONE]");
            }
            return false;
        }
        if (!(json instanceof com.fasterxml.jackson.databind.node.ObjectNode o)) {
            return false;
        }
        if (o.has("choices") && !(o.get("choices").isArray() && o.get("choices").isEmpty())) {
            return false;
        }
        return !o.path("type").asText("").startsWith("response.") && !EventTexts.terminal(o);
    }

    /** Whether an event is named {@code error}. */
    private static boolean namedError(String event) {
        for (String line : lines(event, false)) {
            if (line.startsWith("event:") && line.substring(6).strip().equalsIgnoreCase("error")) {
                return true;
            }
        }
        return false;
    }

    /** An event's data lines joined by line feeds, or null when it has none. */
    private static String dataOf(String event) {
        StringBuilder data = null;
        for (String line : lines(event, false)) {
            if (line.startsWith("data:") || line.equals("data")) {
                String v = line.length() <= 5 ? "" : line.substring(line.charAt(5) == ' ' ? 6 : 5);
                data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
            }
        }
        return data == null ? null : data.toString();
    }

    /** Whether an event has a data line (else an SSE client dispatches nothing for it). */
    private static boolean hasData(String event) {
        for (String line : lines(event, false)) {
            if (line.startsWith("data:") || line.equals("data")) {
                return true;
            }
        }
        return false;
    }

    /** The JSON of an event's data, or null (no data, not strict JSON). */
    private static JsonNode parsed(String event) {
        String data = dataOf(event);
        return data == null ? null : JsonMasker.strictEvent(data);
    }

    /** One whole event: its masked form, or its own bytes when masking leaves it unchanged. */
    private byte[] event(String event, byte[] raw, boolean terminated, java.util.Set<String> goingOn) {
        // a rewritten event keeps the line end of the event it replaces (else LF, in a CRLF stream: mixed line ends)
        String nl = lineEnd(raw, eol);
        StringBuilder data = null;
        StringBuilder other = new StringBuilder();
        String name = null;
        boolean otherChanged = false;
        for (String line : lines(event, false)) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("data:") || line.equals("data")) {
                String v = line.length() <= 5 ? "" : line.substring(line.charAt(5) == ' ' ? 6 : 5);
                data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
                continue;
            }
            if (line.startsWith("event:")) {
                // masked here too: the name is written again on an event that releases text held from this one
                name = masker.mask(line.substring(line.length() > 6 && line.charAt(6) == ' ' ? 7 : 6), null, r -> { });
            }
            // event:, id:, retry: and comments carry no model text, but are masked in case they do
            String m = masker.mask(line, "sse-field", report);
            otherChanged |= !m.equals(line);
            other.append(m).append(nl);
        }
        if (data == null) {
            return otherChanged ? (other + nl).getBytes(StandardCharsets.UTF_8) : raw;
        }
        String payload = data.toString();
        if (payload.trim().equals("[DONE]")) {
            StringBuilder out = new StringBuilder();
            List<EventTexts.Out> held = texts.flush();
            for (EventTexts.Out o : held) {
                out.append(new String(frame(o, null, nl), StandardCharsets.UTF_8));
            }
            if (held.isEmpty() && !otherChanged) {
                return raw;
            }
            return out.append(other).append("data: [DONE]").append(nl).append(nl).toString()
                    .getBytes(StandardCharsets.UTF_8);
        }
        // an error event is whole: its texts end in it, so nothing of it is held for a copy of it sent later
        boolean whole = name != null && name.strip().equalsIgnoreCase("error");
        EventTexts.Chunk chunk = whole ? null : texts.chunk(payload, name);
        if (chunk != null) { // the common chat-completions chunk, without a tree
            if (chunk.unchanged() && !otherChanged && terminated) {
                return raw;
            }
            return frame(new EventTexts.Out(name, chunk.data(), false), other.toString(), nl);
        }
        JsonNode json = JsonMasker.strictEvent(payload);
        JsonNode string = json == null ? JsonMasker.strictTree(payload) : null;
        List<EventTexts.Out> outs = json != null ? texts.json(json, name, goingOn, whole)
                : string != null && string.isTextual() ? texts.string(string.asText(), name, whole)
                : texts.raw(payload, name, whole);
        if (!otherChanged && terminated && outs.size() == 1 && !outs.get(0).raw() && json != null) {
            // unchanged: byte for byte as the upstream sent it. Most upstreams write the compact JSON that masking
            // writes back, so the text is compared first; the JSON only where the text differs (spacing, escapes),
            // parsed again then rather than copied for every event before masking changes it in place
            String masked = outs.get(0).data();
            if (masked.equals(payload)) {
                return raw;
            }
            JsonNode original = JsonMasker.strictEvent(payload);
            try {
                if (original != null && JsonMasker.JSON.readTree(masked).equals(original)) {
                    return raw;
                }
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
        StringBuilder out = new StringBuilder();
        for (int k = 0; k < outs.size(); k++) {
            boolean last = k == outs.size() - 1;
            out.append(new String(frame(outs.get(k), last ? other.toString() : null, nl), StandardCharsets.UTF_8));
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The text's lines, cut at SSE line ends (CRLF, CR or LF), as {@code Pattern.compile("\r\n|\r|\n").split(text,
     * trailing ? -1 : 0)} gives them, without a regular expression per event (it was 4% of a streaming gateway's
     * samples): a leading empty line is kept, trailing empty ones only when asked.
     */
    static List<String> lines(String text, boolean trailing) {
        List<String> out = new java.util.ArrayList<>(4);
        int start = 0;
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r') {
                out.add(text.substring(start, i));
                if (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (out.isEmpty()) {
            return List.of(text); // no line end: the text itself, even when empty
        }
        out.add(text.substring(start));
        if (!trailing) {
            while (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) {
                out.remove(out.size() - 1);
            }
        }
        return out;
    }

    /**
     * An event in SSE framing, its lines ended with {@code nl}; {@code other} (the upstream's own event:/id: lines, ended
     * with {@code nl} already) replaces the name.
     */
    private static byte[] frame(EventTexts.Out o, String other, String nl) {
        StringBuilder b = new StringBuilder();
        if (other != null) {
            b.append(other);
        } else if (o.eventName() != null) {
            b.append("event: ").append(o.eventName()).append(nl);
        }
        for (String line : lines(o.data(), true)) {
            b.append("data: ").append(line).append(nl);
        }
        return b.append(nl).toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The first line end in {@code raw} (CRLF, CR or LF), or {@code otherwise} when it has none. */
    static String lineEnd(byte[] raw, String otherwise) {
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == '\n') {
                return "\n";
            }
            if (raw[i] == '\r') {
                return i + 1 < raw.length && raw[i + 1] == '\n' ? "\r\n" : i + 1 < raw.length ? "\r" : otherwise;
            }
        }
        return otherwise;
    }
}
