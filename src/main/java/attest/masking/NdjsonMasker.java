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
    private final EventTexts texts;
    private byte[] buf = new byte[0];
    private int len;

    public NdjsonMasker(Masker masker, Consumer<Redaction> report) {
        this.texts = new EventTexts(masker, report);
    }

    /** A whole NDJSON body; returned as it came when nothing was found. */
    static byte[] maskAll(byte[] body, Masker masker, Consumer<Redaction> report) {
        int[] found = {0};
        NdjsonMasker m = new NdjsonMasker(masker, r -> {
            found[0]++;
            report.accept(r);
        });
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] a = m.push(body);
        out.write(a, 0, a.length);
        byte[] b = m.finish();
        out.write(b, 0, b.length);
        return found[0] == 0 ? body : out.toByteArray();
    }

    public byte[] push(byte[] bytes) {
        if (len + bytes.length > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + bytes.length));
        }
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int from = 0;
        for (int i = 0; i < len; i++) {
            if (buf[i] == '\n') {
                line(Arrays.copyOfRange(buf, from, i + 1), out);
                from = i + 1;
            }
        }
        System.arraycopy(buf, from, buf, 0, len - from);
        len -= from;
        return out.toByteArray();
    }

    public byte[] finish() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (len > 0) {
            line(Arrays.copyOf(buf, len), out);
            len = 0;
        }
        for (EventTexts.Out o : texts.flush()) {
            byte[] b = (o.data() + "\n").getBytes(StandardCharsets.UTF_8);
            out.write(b, 0, b.length);
        }
        return out.toByteArray();
    }

    public void abandon() {
        len = 0;
        texts.abandon();
    }

    private void line(byte[] raw, ByteArrayOutputStream out) {
        String line = new String(raw, StandardCharsets.UTF_8);
        String body = line.strip();
        if (body.isEmpty()) {
            out.write(raw, 0, raw.length);
            return;
        }
        JsonNode json = JsonMasker.strictTree(body);
        JsonNode original = json == null ? null : json.deepCopy();
        List<EventTexts.Out> outs = json == null ? texts.raw(body, null) : texts.json(json, null);
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
            byte[] b = (o.data() + "\n").getBytes(StandardCharsets.UTF_8);
            out.write(b, 0, b.length);
        }
    }
}
