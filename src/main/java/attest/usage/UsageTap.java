package attest.usage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads token usage from a server-sent event stream as it passes, event by event (LF, CRLF or CR line ends):
 * a Chat Completions / Completions chunk's {@code usage}, or a Responses API event's {@code response.usage}; or from
 * an NDJSON stream ({@link #ndjson}), line by line: a line's {@code usage}, or Ollama's last line ({@code "done":
 * true}, {@code prompt_eval_count} and {@code eval_count}).
 * When the gateway asked for the usage chunk on the caller's behalf ({@code strip}), the chunk that carries
 * only usage ({@code "choices": []}) is removed from what the caller sees; every other event passes byte for
 * byte. Bytes that are not a complete event are held until the event ends (or the stream does).
 */
public final class UsageTap {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] USAGE = "\"usage\"".getBytes(StandardCharsets.UTF_8);
    /** Ollama's counts: a line with neither this nor {@link #USAGE} is not parsed. */
    private static final byte[] EVAL_COUNT = "eval_count\"".getBytes(StandardCharsets.UTF_8);
    /** An event longer than this is passed on without being read for usage (a usage event is small). */
    private static final int MAX_READ = 1 << 20;

    private final UsageMeter meter;
    private final boolean strip;
    /** NDJSON: each line is an event. */
    private final boolean lines;
    private byte[] buf = new byte[0];
    private int len;

    public UsageTap(UsageMeter meter, boolean strip) {
        this(meter, strip, false);
    }

    private UsageTap(UsageMeter meter, boolean strip, boolean lines) {
        this.meter = meter;
        this.strip = strip;
        this.lines = lines;
    }

    /** A tap for an NDJSON stream: every line is read on its own (a line holds at most until its line end). */
    public static UsageTap ndjson(UsageMeter meter, boolean strip) {
        return new UsageTap(meter, strip, true);
    }

    /** A whole buffered event stream (a held call executed later): its usage read, the extra chunk removed. */
    public static byte[] whole(byte[] body, UsageMeter meter, boolean strip) {
        return whole(new UsageTap(meter, strip), body);
    }

    /** A whole buffered NDJSON answer: read line by line as {@link #ndjson} reads a stream. */
    public static byte[] wholeNdjson(byte[] body, UsageMeter meter, boolean strip) {
        return whole(ndjson(meter, strip), body);
    }

    private static byte[] whole(UsageTap tap, byte[] body) {
        byte[] a = tap.push(body);
        byte[] b = tap.finish();
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    public byte[] push(byte[] bytes) {
        if (len + bytes.length > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + bytes.length));
        }
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
        return drain(false);
    }

    public byte[] finish() {
        return drain(true);
    }

    /**
     * The stream broke off: what the masker still releases ({@code rest}) passes. An NDJSON tap lets through what it
     * holds too (the masker released it: a last line whose line end never came is whole JSON), read like any line; an
     * event stream's tap keeps holding an event cut short (an SSE client discards it), as before.
     */
    public byte[] abandon(byte[] rest) {
        if (!lines) {
            return push(rest);
        }
        byte[] a = push(rest);
        byte[] b = finish();
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private byte[] drain(boolean eof) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int from = 0;
        while (from < len) {
            int end = eventEnd(from, eof);
            if (end < 0) {
                if (!eof) {
                    break;
                }
                end = len;
            }
            byte[] event = Arrays.copyOfRange(buf, from, end);
            if (!read(event)) {
                out.write(event, 0, event.length);
            }
            from = end;
        }
        System.arraycopy(buf, from, buf, 0, len - from);
        len -= from;
        meter.countBytes(out.size());
        return out.toByteArray();
    }

    /** The index just past the blank line that ends the event starting at {@code from}, or -1 (not yet). */
    private int eventEnd(int from, boolean eof) {
        if (lines) {
            for (int i = from; i < len; i++) {
                if (buf[i] == '\n') {
                    return i + 1;
                }
            }
            return -1;
        }
        int i = from;
        while (i < len) {
            int t = terminator(i, eof);
            if (t < 0) {
                return -1;
            }
            if (t == 0) {
                i++;
                continue;
            }
            int j = i + t;
            int t2 = j < len ? terminator(j, eof) : (eof ? 0 : -1);
            if (t2 < 0) {
                return -1;
            }
            if (t2 > 0) {
                return j + t2;
            }
            i = j;
        }
        return -1;
    }

    /** The length of the line end at {@code i} (0: none; -1: a CR that may be the first half of CRLF). */
    private int terminator(int i, boolean eof) {
        byte b = buf[i];
        if (b == '\n') {
            return 1;
        }
        if (b != '\r') {
            return 0;
        }
        if (i + 1 < len) {
            return buf[i + 1] == '\n' ? 2 : 1;
        }
        return eof ? 1 : -1;
    }

    /** Reads the event's usage; true when the event is the extra usage chunk to remove. */
    private boolean read(byte[] event) {
        if (lines) {
            return readLine(event);
        }
        if (event.length > MAX_READ || indexOf(event, USAGE, 0) < 0 || onlyNullUsage(event)) {
            return false;
        }
        StringBuilder data = new StringBuilder();
        for (String line : new String(event, StandardCharsets.UTF_8).split("\r\n|\r|\n")) {
            if (line.startsWith("data:")) {
                if (data.length() > 0) {
                    data.append('\n');
                }
                data.append(line.startsWith("data: ") ? line.substring(6) : line.substring(5));
            }
        }
        JsonNode root;
        try {
            root = JSON.readTree(data.toString());
        } catch (IOException | RuntimeException e) {
            return false;
        }
        if (root == null || !root.isObject()) {
            return false;
        }
        return report(root);
    }

    /** Reads an NDJSON line's usage; true when it is the extra usage line to remove. */
    private boolean readLine(byte[] line) {
        if (line.length > MAX_READ || indexOf(line, USAGE, 0) < 0 && indexOf(line, EVAL_COUNT, 0) < 0) {
            return false;
        }
        JsonNode root;
        try {
            // a byte order mark or a JSON text sequence's record separator before the value, as the masker reads it
            String text = new String(line, StandardCharsets.UTF_8).strip();
            root = JSON.readTree(text.startsWith("\uFEFF") ? text.substring(1) : text);
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return report(root);
    }

    /** Reports the event's usage; true when it is the extra chunk to remove (only usage, no choices). */
    private boolean report(JsonNode root) {
        if (root == null || !root.isObject()) {
            return false;
        }
        TokenUsage usage = TokenUsage.in(root);
        meter.report(usage);
        JsonNode choices = root.get("choices");
        return strip && usage != null && choices != null && choices.isArray() && choices.isEmpty();
    }

    /**
     * Whether every {@code "usage"} in the event is followed by {@code : null}: the chunks of a stream that asked
     * for usage (as the gateway does on the caller's behalf) all carry {@code "usage":null} but the last; such an
     * event has no usage to read and is not the chunk to remove, so it is not parsed. Any other value, or the
     * name anywhere else, and the event is parsed as before.
     */
    static boolean onlyNullUsage(byte[] event) {
        int at = indexOf(event, USAGE, 0);
        while (at >= 0) {
            int i = skipSpace(event, at + USAGE.length);
            if (i >= event.length || event[i] != ':') {
                return false;
            }
            i = skipSpace(event, i + 1);
            if (i + 4 > event.length || event[i] != 'n' || event[i + 1] != 'u' || event[i + 2] != 'l'
                    || event[i + 3] != 'l' || (i + 4 < event.length && Character.isLetterOrDigit(event[i + 4]))) {
                return false;
            }
            at = indexOf(event, USAGE, i + 4);
        }
        return true;
    }

    private static int skipSpace(byte[] b, int i) {
        while (i < b.length && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) {
            i++;
        }
        return i;
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
