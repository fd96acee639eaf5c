package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Masks newline-delimited JSON (NDJSON, JSON Lines: Ollama, TGI and other streaming servers), every line,
 * with the texts reassembled across lines ({@link EventTexts}). Lines are cut on the byte stream, so a
 * multi-byte character split between chunks is decoded whole. A line that masking leaves unchanged goes
 * out byte for byte; a line that is not JSON is one text with the other such lines.
 */
public final class NdjsonMasker {
    private final Masker masker;
    private final Consumer<Redaction> report;
    private final EventTexts texts;
    private byte[] buf = new byte[0];
    private int len;
    /**
     * What starts each line the masker writes itself: the record separator of a JSON text sequence (RFC 7464,
     * {@code application/json-seq}) once the stream's lines have it, so its reader still splits the records; else none.
     */
    private String lead = "";
    /** The stream's line end (CRLF, CR or LF) as its latest line wrote it: a rewritten line keeps its own. */
    private String eol = "\n";

    public NdjsonMasker(Masker masker, Consumer<Redaction> report) {
        this.masker = masker;
        this.report = report;
        this.texts = new EventTexts(masker, report);
    }

    /**
     * A whole NDJSON body (a buffered answer): each line keeps its own values, but the text fields at the
     * same place in successive lines are one text, so an entity split across lines is found and every line
     * that carries a piece of it is masked. Returned as it came when nothing was found.
     */
    static byte[] maskAll(byte[] body, Masker masker, Consumer<Redaction> report) {
        int[] found = {0};
        Consumer<Redaction> counting = r -> {
            found[0]++;
            report.accept(r);
        };
        List<byte[]> lines = new java.util.ArrayList<>();
        int from = 0;
        for (int i = 0; i < body.length; i++) {
            int cut = cut(body, from, i, body.length, true);
            if (cut >= 0) {
                lines.add(Arrays.copyOfRange(body, from, cut));
                from = cut;
            }
        }
        if (from < body.length) {
            lines.add(Arrays.copyOfRange(body, from, body.length));
        }
        JsonNode[] nodes = new JsonNode[lines.size()];
        JsonNode[] originals = new JsonNode[lines.size()];
        java.util.Map<String, TextPieces> texts = new java.util.LinkedHashMap<>();
        for (int k = 0; k < lines.size(); k++) {
            JsonNode n = JsonMasker.strictEvent(withoutBom(new String(lines.get(k), StandardCharsets.UTF_8).strip()));
            if (n == null) {
                continue;
            }
            nodes[k] = n;
            originals[k] = n.deepCopy();
            JsonMasker.maskAllNames(n, "/" + k, masker, counting); // names first: the texts' pointers then hold
            List<String> pointers = new java.util.ArrayList<>();
            EventTexts.textFields(n, "", pointers);
            java.util.Map<String, String> values = new java.util.LinkedHashMap<>();
            for (String p : pointers) {
                values.put(p, n.at(p).asText());
                EventTexts.set(n, p, "");
            }
            JsonMasker.document(n, "/" + k, masker, counting);
            String discriminator = EventTexts.discriminator(n);
            for (java.util.Map.Entry<String, String> v : values.entrySet()) {
                EventTexts.set(n, v.getKey(), v.getValue());
                com.fasterxml.jackson.core.JsonPointer jp = com.fasterxml.jackson.core.JsonPointer.compile(v.getKey());
                JsonNode parent = n.at(jp.head());
                String last = jp.last().getMatchingProperty();
                TextPieces.Piece piece = parent instanceof com.fasterxml.jackson.databind.node.ObjectNode o
                        ? TextPieces.Piece.field(o, last, "/" + k + v.getKey())
                        : TextPieces.Piece.element((com.fasterxml.jackson.databind.node.ArrayNode) parent,
                        Integer.parseInt(last), "/" + k + v.getKey());
                texts.computeIfAbsent(discriminator + v.getKey(), x -> new TextPieces()).add(piece);
            }
        }
        texts.values().forEach(t -> t.mask(masker, counting));
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int k = 0; k < lines.size(); k++) {
            byte[] raw = lines.get(k);
            if (nodes[k] == null) {
                out.writeBytes(JsonMasker.maskText(raw, masker, counting));
            } else if (nodes[k].equals(originals[k])) {
                out.writeBytes(raw);
            } else {
                out.writeBytes(nodes[k].toString().getBytes(StandardCharsets.UTF_8));
                int end = raw.length;
                while (end > 0 && (raw[end - 1] == '\n' || raw[end - 1] == '\r')) {
                    end--;
                }
                out.write(raw, end, raw.length - end);
            }
        }
        return found[0] == 0 ? body : out.toByteArray();
    }

    public byte[] push(byte[] bytes) {
        if (len + bytes.length > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + bytes.length));
        }
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        // what was held has no line end (but perhaps a last CR that waits for the byte after it): only the new bytes
        // are searched (a long line stays linear)
        int held = Math.max(0, len - 1);
        len += bytes.length;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int from = 0;
        for (int i = held; i < len; i++) {
            int cut = cut(buf, from, i, len, false);
            if (cut >= 0) {
                line(Arrays.copyOfRange(buf, from, cut), out);
                from = cut;
            }
        }
        System.arraycopy(buf, from, buf, 0, len - from);
        len -= from;
        if (len > masker.streamLimit()) {
            // a line whose end does not come (hundreds of MiB of one line): it would be held whole, for every caller of
            // the gateway at once
            throw StreamShape.refuse(report, "ndjson-line", "line_too_long");
        }
        return out.toByteArray();
    }

    public byte[] finish() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (len > 0) {
            line(Arrays.copyOf(buf, len), out);
            len = 0;
        }
        for (EventTexts.Out o : texts.flush()) {
            byte[] b = (lead + o.data() + eol).getBytes(StandardCharsets.UTF_8);
            out.write(b, 0, b.length);
        }
        return out.toByteArray();
    }

    /**
     * The stream broke off (the upstream's connection closed or failed): returns what may still go out, masked. A last
     * line that is whole JSON though its line end never came is masked as any line (what it holds back stays held); a
     * line cut short is dropped (it is not a value a reader can parse). Then every held text (one that had not ended,
     * perhaps half an entity) is dropped, never released raw. Everything dropped is reported ({@code drop}: each entity
     * found in it, else {@code HELD_TEXT}).
     */
    public byte[] abandon() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (len > 0) {
            byte[] rest = Arrays.copyOf(buf, len);
            len = 0;
            String body = withoutBom(new String(rest, StandardCharsets.UTF_8).strip());
            if (!body.isEmpty() && JsonMasker.strictEvent(body) != null) {
                line(rest, out);
            } else {
                StreamingTextMasker.dropped(masker, "", body, "ndjson-line", report);
            }
        }
        texts.abandon();
        return out.toByteArray();
    }

    /**
     * Where the line that starts at {@code from} ends, if byte {@code i} ends it (the index after its last byte), else
     * -1: at an LF; at a CR not followed by LF (a reader that splits lines on any line end, as httpx's iter_lines does,
     * reads a CR-only stream line by line; a CR last in what has arrived waits for the next byte unless {@code end});
     * and before a record separator that starts a record (RFC 7464: a JSON text sequence's reader splits on it, LF or
     * not).
     */
    private static int cut(byte[] b, int from, int i, int len, boolean end) {
        if (b[i] == '\n') {
            return i + 1;
        }
        if (b[i] == '\r') {
            if (i + 1 < len) {
                return b[i + 1] == '\n' ? -1 : i + 1;
            }
            return end ? i + 1 : -1;
        }
        if (b[i] == 0x1E && i > from) {
            return i;
        }
        return -1;
    }

    /** A line without a leading byte order mark: a reader that decodes the stream as UTF-8 with BOM drops it. */
    private static String withoutBom(String line) {
        return line.startsWith("\uFEFF") ? line.substring(1).strip() : line;
    }

    private void line(byte[] raw, ByteArrayOutputStream out) {
        if (raw.length > 0 && raw[0] == 0x1E) {
            lead = "\u001e";
        }
        String line = new String(raw, StandardCharsets.UTF_8);
        // a line masking rewrites keeps the upstream's line end (else LF in a CRLF stream: mixed line ends)
        int n = raw.length;
        if (n > 0 && raw[n - 1] == '\n') {
            eol = n > 1 && raw[n - 2] == '\r' ? "\r\n" : "\n";
        } else if (n > 0 && raw[n - 1] == '\r') {
            eol = "\r";
        }
        String body = withoutBom(line.strip());
        if (body.isEmpty()) {
            out.write(raw, 0, raw.length);
            return;
        }
        JsonNode json = JsonMasker.strictEvent(body);
        // a body that is not NDJSON (SSE under an NDJSON label, an array, a repeated name, two values on one line) is
        // read otherwise by its reader than by the masker: the stream is cut before anything of this line goes out
        String refused = StreamShape.ndjsonLine(body, json);
        if (refused != null) {
            throw StreamShape.refuse(report, "ndjson-line", refused);
        }
        // a line that is one JSON string (JSON Lines of strings): a piece of one text across such lines, as a reader
        // that parses each line and joins the strings reads it; written back as a JSON string (as SseMasker does)
        JsonNode string = json == null ? JsonMasker.strictTree(body) : null;
        boolean isString = string != null && string.isTextual();
        JsonNode original = json != null ? json.deepCopy() : isString ? string : null;
        List<EventTexts.Out> outs = json != null ? texts.json(json, null)
                : isString ? texts.string(string.asText(), null) : texts.raw(body, null);
        if (isString && outs.isEmpty()) { // all of it held: the line still goes out (empty), so no line is lost
            outs = List.of(new EventTexts.Out(null, "\"\"", false));
        }
        if (outs.size() == 1 && original != null && !outs.get(0).raw()) {
            try {
                if (JsonMasker.JSON.readTree(outs.get(0).data()).equals(original)) {
                    out.write(raw, 0, raw.length);
                    return;
                }
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
        for (EventTexts.Out o : outs) {
            byte[] b = (lead + o.data() + eol).getBytes(StandardCharsets.UTF_8);
            out.write(b, 0, b.length);
        }
    }
}
