package attest.masking;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Reads a binary answer (one whose {@code Content-Type} is not text: {@code application/octet-stream}, protobuf, gRPC,
 * CBOR, MessagePack, an AWS event stream, Arrow, ...) for the text a client can get out of it, and refuses the answer
 * when that text holds an entity: binary cannot be rewritten safely (a protobuf field, a gRPC frame, a CBOR string
 * carries its own length), so nothing is masked in place. What is read, each in linear time and bounded:
 * <ul>
 * <li>runs of printable UTF-8 (ASCII and valid multi-byte characters), of at least {@value #MIN_TEXT} characters; and
 * each run without its first one or two characters (a length byte or a CBOR head that happens to be printable, glued
 * to the value it announces);</li>
 * <li>runs of UTF-16 (little and big endian, either alignment) of ASCII, Latin-1, general punctuation, the ideographic
 * space and full-width forms;</li>
 * <li>the strings of protobuf (length-delimited fields, nested messages walked), CBOR (text and byte strings, chunked
 * ones joined) and MessagePack (str and bin), walked from the start of the body and of every frame;</li>
 * <li>gRPC and gRPC-Web frames (flag, 4-byte length, payload), a compressed frame inflated (gzip, zlib, zstd), and
 * refused when it cannot be;</li>
 * <li>a body (or a frame, or a string) that is gzip, zlib or zstd, inflated up to {@value #MAX_DECODED} bytes in all;
 * past that the answer is refused (a decompression bomb is never held whole);</li>
 * <li>base64 runs (standard or URL-safe, lines joined) of at least {@value #BASE64_MIN} characters, decoded at each of
 * their four alignments and read again (an AWS event stream's {@code {"bytes":"<base64>"}}, gRPC-Web text);</li>
 * <li>JSON {@code \\uXXXX} escapes in any text found, undone.</li>
 * </ul>
 * Decodings nest {@value #MAX_DEPTH} deep at most (base64 of gzip of base64 ...): deeper, a blob is not read (a stated
 * limit). An entity found is reported ({@code <type>}/{@code refuse} at {@code binary:<how it was read>}; never the
 * value), and the answer refused: {@link MaskingFailedException}, or {@link BlockedException} for a type whose rule is
 * {@code block}.
 */
final class BinaryScan {
    /** The action reported for an entity found in a binary answer: the answer was refused. */
    static final String ACTION = "refuse";
    /** The entity type reported when a binary answer is refused for what could not be read. */
    static final String UNREADABLE = "BINARY";
    static final int MIN_TEXT = 6;
    static final int BASE64_MIN = 16;
    /**
     * The shortest run of text (not a whole string of a structure) in which an email address or an IP address counts:
     * random bytes hold short printable runs, and in them {@code dO@g.lx} or {@code C::} (one in thirty 64 KiB random
     * bodies did), while a card (Luhn), an IBAN (mod 97), an SSN's shape and a secret's prefix do not arise by chance.
     */
    static final int WEAK_TEXT = 16;
    /** Entity types whose shapes random bytes spell by chance in a short run (see {@link #WEAK_TEXT}). */
    private static final java.util.Set<String> WEAK = java.util.Set.of("EMAIL", "IP_ADDRESS");
    static final long MAX_DECODED = 8L << 20;
    static final int MAX_DEPTH = 3;
    private static final int MAX_NESTING = 16;
    /** How much of a run is read again without its first characters (a glued length prefix is at its start). */
    private static final int GLUED_PREFIX_WINDOW = 160;

    private final Masker masker;
    private final Consumer<Redaction> report;
    private long decoded;
    /**
     * The refusal of an entity found whose rule is not {@code block}, held while the scan reads on for one whose rule
     * is: a block rule's answer is 403 {@code blocked} wherever its entity is, not 502 because another entity came
     * first (it was, before 2026-12-02). Thrown at once when no rule blocks.
     */
    private MaskingFailedException refused;

    private BinaryScan(Masker masker, Consumer<Redaction> report) {
        this.masker = masker;
        this.report = report;
    }

    /**
     * Refuses the answer when an entity is found in it (see the class comment); returns normally when none is.
     *
     * @throws MaskingFailedException an entity was found, or the answer cannot be read (over the bound, a frame
     *                                compressed in a coding the masker cannot read)
     * @throws BlockedException       an entity whose rule is {@code block} was found
     */
    static void refuseIfFound(byte[] body, Masker masker, Consumer<Redaction> report) {
        refuseIfFound(body, masker, report, false);
    }

    /**
     * As {@link #refuseIfFound(byte[], Masker, Consumer)}; {@code asText}: the body is also read as one text, as a UTF-8
     * reader and byte for byte as ISO-8859-1 show it, its bytes that are not text left out by the detectors (a stray byte
     * between a card's groups), where an email or IP address does not count (random bytes spell them so).
     */
    static void refuseIfFound(byte[] body, Masker masker, Consumer<Redaction> report, boolean asText) {
        BinaryScan scan = new BinaryScan(masker, report);
        if (asText) {
            scan.text(new String(body, java.nio.charset.StandardCharsets.UTF_8), "body/text", false);
            scan.text(new String(body, java.nio.charset.StandardCharsets.ISO_8859_1), "body/latin1", false);
        }
        scan.read(body, 0, "body");
        if (scan.refused != null) {
            throw scan.refused;
        }
    }

    private MaskingFailedException refuse(String where, String why) {
        report.accept(new Redaction(UNREADABLE, ACTION, "binary:" + where, why));
        return new MaskingFailedException("binary answer refused: " + why);
    }

    private void read(byte[] b, int depth, String where) {
        if (depth > MAX_DEPTH || b.length == 0) {
            return;
        }
        byte[] inflated = inflate(b, where);
        if (inflated != null) {
            read(inflated, depth + 1, where + "/inflated");
        }
        frames(b, depth, where);
        utf8Runs(b, 0, b.length, where + "/utf8", true);
        utf16Runs(b, where);
        List<byte[]> strings = new ArrayList<>();
        protobuf(b, 0, b.length, 0, strings);
        strings(strings, depth, where + "/protobuf");
        strings.clear();
        for (int i = 0; i >= 0 && i < b.length; ) {
            i = cbor(b, i, b.length, 0, strings);
        }
        strings(strings, depth, where + "/cbor");
        strings.clear();
        for (int i = 0; i >= 0 && i < b.length; ) {
            i = msgpack(b, i, b.length, 0, strings);
        }
        strings(strings, depth, where + "/msgpack");
        base64Runs(b, depth, where);
    }

    private void strings(List<byte[]> strings, int depth, String where) {
        for (byte[] s : strings) {
            if (s.length >= MIN_TEXT) {
                utf8Runs(s, 0, s.length, where, false);
                if (compressedMagic(s)) {
                    byte[] inflated = inflate(s, where);
                    if (inflated != null) {
                        read(inflated, depth + 1, where + "/inflated");
                    }
                }
            }
        }
    }

    // ---- the text found ---------------------------------------------------------------------------------------

    /** Text found: scanned; {@code weak}: whether an email or IP address found in it counts ({@link #WEAK_TEXT}). */
    private void text(String t, String where, boolean weak) {
        scan(t, where, weak);
        if (t.contains("\\u")) {
            scan(unescape(t), where + "/unescaped", weak);
        }
    }

    private void scan(String t, String where, boolean weak) {
        List<Finding> found = new ArrayList<>(masker.engine().scan(t));
        if (!weak && !found.isEmpty()) {
            found.removeIf(f -> WEAK.contains(f.entityType()));
        }
        if (found.isEmpty()) {
            return;
        }
        for (Finding f : found) {
            if (masker.action(f.entityType()) == Action.BLOCK) {
                throw new BlockedException(f.entityType());
            }
        }
        for (Finding f : found) {
            report.accept(new Redaction(f.entityType(), ACTION, "binary:" + where, f.detector()));
        }
        if (refused == null) {
            refused = new MaskingFailedException("binary answer refused: it carries " + found.get(0).entityType());
        }
        if (!masker.blocks()) {
            throw refused;
        }
    }

    /** JSON's {@code \\uXXXX} escapes undone (others left as they are). */
    static String unescape(String t) {
        StringBuilder out = new StringBuilder(t.length());
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '\\' && i + 1 < t.length() && t.charAt(i + 1) == 'u') {
                int v = JsonMasker.hex4(t, i + 2);
                if (v >= 0) {
                    out.append((char) v);
                    i += 5;
                    continue;
                }
            }
            out.append(c);
        }
        return out.toString();
    }

    /**
     * Runs of printable UTF-8 in {@code b[from, to)}, each read as text; {@code glued}: each run read again without its
     * first characters; otherwise {@code b[from, to)} is a whole string of a structure, and when it is all one run, an
     * email or IP address in it counts however short it is.
     */
    private void utf8Runs(byte[] b, int from, int to, String where, boolean glued) {
        StringBuilder run = new StringBuilder();
        boolean broken = false;
        int i = from;
        while (i < to) {
            int c = b[i] & 0xFF;
            if (c >= 0x20 && c < 0x7F || c == '\t' || c == '\n' || c == '\r') {
                run.append((char) c);
                i++;
                continue;
            }
            int n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
            int cp = n > 0 && i + n <= to ? codePoint(b, i, n) : -1;
            if (cp >= 0xA0) {
                run.appendCodePoint(cp);
                i += n;
                continue;
            }
            flush(run, where, glued, false);
            broken = true;
            i++;
        }
        flush(run, where, glued, !glued && !broken);
    }

    private void flush(StringBuilder run, String where, boolean glued, boolean whole) {
        if (run.length() >= MIN_TEXT) {
            String t = run.toString();
            boolean weak = whole || t.length() >= WEAK_TEXT;
            text(t, where, weak);
            if (glued && t.length() > MIN_TEXT + 2) {
                int end = Math.min(t.length(), GLUED_PREFIX_WINDOW);
                text(t.substring(1, end), where, weak);
                text(t.substring(2, end), where, weak);
            }
        }
        run.setLength(0);
    }

    /** The code point of the {@code n}-byte UTF-8 sequence at {@code i}, or -1 when it is not a valid one. */
    private static int codePoint(byte[] b, int i, int n) {
        int lead = b[i] & 0xFF;
        int cp = n == 2 ? lead & 0x1F : n == 3 ? lead & 0x0F : lead & 0x07;
        for (int k = 1; k < n; k++) {
            int c = b[i + k] & 0xFF;
            if ((c & 0xC0) != 0x80) {
                return -1;
            }
            cp = cp << 6 | (c & 0x3F);
        }
        if (n == 3 && (cp < 0x800 || cp >= 0xD800 && cp <= 0xDFFF) || n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) {
            return -1;
        }
        return cp;
    }

    /** Runs of UTF-16 text, both byte orders and both alignments. */
    private void utf16Runs(byte[] b, String where) {
        StringBuilder run = new StringBuilder();
        for (int order = 0; order < 2; order++) {
            for (int align = 0; align < 2; align++) {
                String how = where + (order == 0 ? "/utf16le" : "/utf16be");
                for (int i = align; i + 1 < b.length; i += 2) {
                    int u = order == 0 ? (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 : (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF);
                    if (u == 0xFEFF) {
                        continue;
                    }
                    if (u >= 0x20 && u < 0x7F || u == '\t' || u == '\n' || u == '\r' || u >= 0xA0 && u <= 0xFF
                            || u >= 0x2000 && u <= 0x206F || u == 0x3000 || u >= 0xFF01 && u <= 0xFF5E) {
                        run.append((char) u);
                    } else {
                        flush(run, how, false, false);
                    }
                }
                flush(run, how, false, false);
            }
        }
    }

    // ---- base64 -----------------------------------------------------------------------------------------------

    private static int base64Value(int c) {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        return c == '+' || c == '-' ? 62 : c == '/' || c == '_' ? 63 : -1;
    }

    /** Base64 runs (line breaks inside a run skipped), each decoded at its four alignments and read again. */
    private void base64Runs(byte[] b, int depth, String where) {
        int i = 0;
        int[] values = new int[64];
        while (i < b.length) {
            if (base64Value(b[i] & 0xFF) < 0) {
                i++;
                continue;
            }
            int n = 0;
            while (i < b.length) {
                int v = base64Value(b[i] & 0xFF);
                if (v >= 0) {
                    if (n == values.length) {
                        values = java.util.Arrays.copyOf(values, n * 2);
                    }
                    values[n++] = v;
                    i++;
                } else if ((b[i] == '\r' || b[i] == '\n') && i + 1 < b.length
                        && (base64Value(b[i + 1] & 0xFF) >= 0 || b[i + 1] == '\n')) {
                    i++;
                } else {
                    break;
                }
            }
            if (n >= BASE64_MIN) {
                for (int align = 0; align < 4 && n - align >= BASE64_MIN; align++) {
                    read(base64(values, align, n), depth + 1, where + "/base64");
                }
            }
        }
    }

    private static byte[] base64(int[] v, int from, int to) {
        int n = to - from;
        byte[] out = new byte[n * 3 / 4];
        int o = 0;
        int i = from;
        for (; i + 3 < to; i += 4) {
            int x = v[i] << 18 | v[i + 1] << 12 | v[i + 2] << 6 | v[i + 3];
            out[o++] = (byte) (x >> 16);
            out[o++] = (byte) (x >> 8);
            out[o++] = (byte) x;
        }
        int rest = to - i;
        if (rest >= 2) {
            int x = v[i] << 18 | v[i + 1] << 12 | (rest == 3 ? v[i + 2] << 6 : 0);
            out[o++] = (byte) (x >> 16);
            if (rest == 3) {
                out[o++] = (byte) (x >> 8);
            }
        }
        return o == out.length ? out : java.util.Arrays.copyOf(out, o);
    }

    // ---- compression and frames --------------------------------------------------------------------------------

    private static boolean compressedMagic(byte[] b) {
        return b.length >= 4 && (b[0] == 0x1f && b[1] == (byte) 0x8b
                || b[0] == 0x28 && b[1] == (byte) 0xb5 && b[2] == 0x2f && b[3] == (byte) 0xfd
                || zlibHeader(b));
    }

    private static boolean zlibHeader(byte[] b) {
        return b.length >= 2 && (b[0] & 0x0f) == 8 && (b[0] & 0xf0) <= 0x70
                && ((b[0] & 0xff) << 8 | (b[1] & 0xff)) % 31 == 0;
    }

    /**
     * The body inflated when it is gzip, zstd or zlib (what could be inflated of it when it is cut short or corrupt
     * after its start, as a client reading it as a stream gets it); null when it is none of them.
     */
    private byte[] inflate(byte[] b, String where) {
        if (b.length < 4) {
            return null;
        }
        try {
            if (b[0] == 0x1f && b[1] == (byte) 0x8b) {
                return bounded(new java.util.zip.GZIPInputStream(new ByteArrayInputStream(b)), where);
            }
            if (b[0] == 0x28 && b[1] == (byte) 0xb5 && b[2] == 0x2f && b[3] == (byte) 0xfd) {
                return bounded(new com.github.luben.zstd.ZstdInputStream(new ByteArrayInputStream(b)), where);
            }
        } catch (MaskingFailedException overBound) {
            throw overBound;
        } catch (IOException | RuntimeException | LinkageError e) {
            return null; // not a gzip or zstd stream after all (its header is corrupt)
        }
        if (zlibHeader(b)) {
            byte[] out = bounded(new java.util.zip.InflaterInputStream(new ByteArrayInputStream(b)), where);
            return out.length == 0 ? null : out;
        }
        return null;
    }

    private byte[] bounded(InputStream in, String where) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                decoded += n;
                if (decoded > MAX_DECODED) {
                    throw refuse(where, "inflated_over_bound");
                }
                out.write(buf, 0, n);
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof MaskingFailedException m) {
                throw m;
            }
            // corrupt or cut short after its start: what was inflated is what a client reading it gets
        }
        return out.toByteArray();
    }

    /** gRPC / gRPC-Web frames, when the body is a whole sequence of them: each payload read, inflated if compressed. */
    private void frames(byte[] b, int depth, String where) {
        List<int[]> frames = new ArrayList<>();
        int i = 0;
        while (i < b.length) {
            if (b.length - i < 5 || (b[i] & 0x7e) != 0) {
                return;
            }
            long len = ((b[i + 1] & 0xFFL) << 24) | ((b[i + 2] & 0xFF) << 16) | ((b[i + 3] & 0xFF) << 8)
                    | (b[i + 4] & 0xFF);
            if (len > b.length - i - 5) {
                return;
            }
            frames.add(new int[] {b[i] & 0xFF, i + 5, (int) len});
            i += 5 + (int) len;
        }
        for (int[] f : frames) {
            byte[] payload = java.util.Arrays.copyOfRange(b, f[1], f[1] + f[2]);
            if ((f[0] & 1) != 0 && payload.length > 0) {
                byte[] inflated = compressedMagic(payload) ? inflate(payload, where + "/grpc-frame") : null;
                if (inflated == null) {
                    throw refuse(where + "/grpc-frame", "compressed_frame_unreadable");
                }
                payload = inflated;
            }
            read(payload, depth + 1, where + "/grpc-frame");
        }
    }

    // ---- structures -------------------------------------------------------------------------------------------

    /** A varint at {@code i}: {value, next index}; null when there is none. */
    private static long[] varint(byte[] b, int i, int to) {
        long v = 0;
        for (int shift = 0; shift < 64 && i < to; shift += 7) {
            int c = b[i++] & 0xFF;
            v |= (long) (c & 0x7F) << shift;
            if (c < 0x80) {
                return new long[] {v, i};
            }
        }
        return null;
    }

    /**
     * Walks {@code b[from, to)} as a protobuf message: a length-delimited field that parses as a message is walked,
     * any other is a string (added). Returns whether the whole range is one message.
     */
    private static boolean protobuf(byte[] b, int from, int to, int nesting, List<byte[]> out) {
        if (nesting > MAX_NESTING) {
            return false;
        }
        int i = from;
        while (i < to) {
            long[] key = varint(b, i, to);
            if (key == null || key[0] >>> 3 == 0) {
                return false;
            }
            i = (int) key[1];
            switch ((int) (key[0] & 7)) {
                case 0 -> {
                    long[] v = varint(b, i, to);
                    if (v == null) {
                        return false;
                    }
                    i = (int) v[1];
                }
                case 1 -> {
                    if (to - i < 8) {
                        return false;
                    }
                    i += 8;
                }
                case 5 -> {
                    if (to - i < 4) {
                        return false;
                    }
                    i += 4;
                }
                case 2 -> {
                    long[] len = varint(b, i, to);
                    if (len == null || len[0] < 0 || len[0] > to - len[1]) {
                        return false;
                    }
                    int s = (int) len[1];
                    int e = s + (int) len[0];
                    // a nested message is walked; anything else is a string (text or bytes). Each byte is read as
                    // text once, however deep the nesting
                    int mark = out.size();
                    if (e - s < 2 || !protobuf(b, s, e, nesting + 1, out)) {
                        out.subList(mark, out.size()).clear();
                        if (e - s >= MIN_TEXT) {
                            out.add(java.util.Arrays.copyOfRange(b, s, e));
                        }
                    }
                    i = e;
                }
                default -> {
                    return false;
                }
            }
        }
        return true;
    }

    /** The argument of a CBOR head whose additional information is {@code ai}, at {@code i}: {value, next}; null if none. */
    private static long[] cborArg(byte[] b, int i, int to, int ai) {
        if (ai < 24) {
            return new long[] {ai, i};
        }
        int n = ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : -1;
        if (n < 0 || to - i < n) {
            return null;
        }
        long v = 0;
        for (int k = 0; k < n; k++) {
            v = v << 8 | (b[i + k] & 0xFF);
        }
        return new long[] {v, i + n};
    }

    /** One CBOR item at {@code i}: its strings added; returns the index after it, or -1 when it is not one. */
    private static int cbor(byte[] b, int i, int to, int nesting, List<byte[]> out) {
        if (i >= to || nesting > MAX_NESTING) {
            return -1;
        }
        int major = (b[i] & 0xFF) >> 5;
        int ai = b[i] & 0x1F;
        i++;
        if (ai == 31 && (major == 2 || major == 3)) {
            // a string in chunks: joined, as a decoder joins them
            ByteArrayOutputStream joined = new ByteArrayOutputStream();
            while (i < to && (b[i] & 0xFF) != 0xFF) {
                if ((b[i] & 0xFF) >> 5 != major) {
                    return -1;
                }
                long[] len = cborArg(b, i + 1, to, b[i] & 0x1F);
                if (len == null || len[0] < 0 || len[0] > to - len[1]) {
                    return -1;
                }
                joined.write(b, (int) len[1], (int) len[0]);
                i = (int) (len[1] + len[0]);
            }
            if (i >= to) {
                return -1;
            }
            out.add(joined.toByteArray());
            return i + 1;
        }
        if (ai == 31 && (major == 4 || major == 5)) {
            while (i < to && (b[i] & 0xFF) != 0xFF) {
                i = cbor(b, i, to, nesting + 1, out);
                if (i < 0) {
                    return -1;
                }
            }
            return i < to ? i + 1 : -1;
        }
        long[] arg = cborArg(b, i, to, ai);
        if (arg == null) {
            return -1;
        }
        i = (int) arg[1];
        long n = arg[0];
        switch (major) {
            case 0, 1, 7 -> {
                return i;
            }
            case 2, 3 -> {
                if (n < 0 || n > to - i) {
                    return -1;
                }
                out.add(java.util.Arrays.copyOfRange(b, i, i + (int) n));
                return i + (int) n;
            }
            case 4, 5 -> {
                long items = major == 5 ? n * 2 : n;
                if (n < 0 || n > to - i || items > to - i) {
                    return -1;
                }
                for (long k = 0; k < items; k++) {
                    i = cbor(b, i, to, nesting + 1, out);
                    if (i < 0) {
                        return -1;
                    }
                }
                return i;
            }
            default -> {
                return cbor(b, i, to, nesting + 1, out); // a tag: its item follows
            }
        }
    }

    private static long be(byte[] b, int i, int n) {
        long v = 0;
        for (int k = 0; k < n; k++) {
            v = v << 8 | (b[i + k] & 0xFF);
        }
        return v;
    }

    /** One MessagePack item at {@code i}: its strings added; returns the index after it, or -1 when it is not one. */
    private static int msgpack(byte[] b, int i, int to, int nesting, List<byte[]> out) {
        if (i >= to || nesting > MAX_NESTING) {
            return -1;
        }
        int c = b[i++] & 0xFF;
        long items = -1;
        long str = -1;
        int skip = 0;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            return i;
        } else if (c <= 0x8f) {
            items = 2L * (c & 0x0f);
        } else if (c <= 0x9f) {
            items = c & 0x0f;
        } else if (c <= 0xbf) {
            str = c & 0x1f;
        } else if (c >= 0xc4 && c <= 0xc6 || c >= 0xd9 && c <= 0xdb) {
            int n = c == 0xc4 || c == 0xd9 ? 1 : c == 0xc5 || c == 0xda ? 2 : 4;
            if (to - i < n) {
                return -1;
            }
            str = be(b, i, n);
            i += n;
        } else if (c >= 0xc7 && c <= 0xc9) {
            int n = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
            if (to - i < n) {
                return -1;
            }
            long len = be(b, i, n);
            i += n;
            skip = (int) Math.min(Integer.MAX_VALUE, len + 1);
        } else if (c == 0xca || c == 0xce || c == 0xd2) {
            skip = 4;
        } else if (c == 0xcb || c == 0xcf || c == 0xd3) {
            skip = 8;
        } else if (c == 0xcc || c == 0xd0) {
            skip = 1;
        } else if (c == 0xcd || c == 0xd1) {
            skip = 2;
        } else if (c >= 0xd4 && c <= 0xd8) {
            skip = 1 + (1 << (c - 0xd4));
        } else if (c >= 0xdc && c <= 0xdf) {
            int n = c == 0xdc || c == 0xde ? 2 : 4;
            if (to - i < n) {
                return -1;
            }
            long len = be(b, i, n);
            i += n;
            items = c >= 0xde ? len * 2 : len;
        } else {
            return -1; // 0xc1
        }
        if (str >= 0) {
            if (str > to - i) {
                return -1;
            }
            out.add(java.util.Arrays.copyOfRange(b, i, i + (int) str));
            return i + (int) str;
        }
        if (items >= 0) {
            if (items > to - i) {
                return -1;
            }
            for (long k = 0; k < items; k++) {
                i = msgpack(b, i, to, nesting + 1, out);
                if (i < 0) {
                    return -1;
                }
            }
            return i;
        }
        return skip > to - i ? -1 : i + skip;
    }
}
