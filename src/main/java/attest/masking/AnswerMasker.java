package attest.masking;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The one masking path for an answer, whatever way it reaches a caller: live (buffered or streamed), a held
 * call executed after approval (its event stream buffered, then masked by the same stream-aware masker as a
 * live stream), and so the stored result read later, and a replay's answer (a new call on the data plane).
 * The format is chosen from the answer's {@code Content-Type}:
 * <ul>
 * <li>{@code text/event-stream}: {@link SseMasker};</li>
 * <li>NDJSON ({@code application/x-ndjson}, {@code application/jsonl}, ...): {@link NdjsonMasker};</li>
 * <li>media ({@code image/*}, {@code audio/*}, {@code video/*}, {@code font/*}), PDF and archives: passed unchanged,
 * byte for byte, unread (a stated limit);</li>
 * <li>other binary ({@code application/octet-stream}, protobuf, gRPC and gRPC-Web, CBOR (and every {@code +cbor} type), MessagePack, AWS event
 * streams, Arrow, ...): read for text by {@link BinaryScan} and refused when an entity is found (binary cannot be
 * rewritten safely), else passed unchanged;</li>
 * <li>a structured-syntax suffix ({@code +json}, {@code +xml}: {@code application/problem+json},
 * {@code image/svg+xml}) is text, whatever its top-level type;</li>
 * <li>anything else: JSON (one value or several), else text ({@link JsonMasker}).</li>
 * </ul>
 * Whatever has no finding comes out byte for byte.
 */
public final class AnswerMasker {
    /** PDF and archives: passed unread, as media are (a stated limit). */
    private static final Set<String> UNREAD = Set.of("application/pdf", "application/zip", "application/gzip",
            "application/x-gzip", "application/x-tar", "application/x-7z-compressed", "application/x-bzip2",
            "application/x-xz", "application/zstd", "application/vnd.rar", "application/x-rar-compressed",
            "application/java-archive");
    /** Binary that is read for text and refused when an entity is found ({@link BinaryScan}). */
    private static final Set<String> SCANNED = Set.of("application/octet-stream", "application/x-protobuf",
            "application/protobuf", "application/x-protobuffer", "application/vnd.google.protobuf", "application/wasm",
            "application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file", "application/cbor",
            "application/msgpack", "application/x-msgpack", "application/vnd.msgpack", "application/bson",
            "application/x-bson", "application/avro", "application/x-avro-binary", "application/vnd.apache.avro+binary",
            "application/vnd.amazon.eventstream", "application/x-npy", "application/vnd.apache.parquet",
            "application/x-hdf5", "binary/octet-stream");

    /** A masker for an answer that arrives in pieces. */
    public interface Streaming {
        byte[] push(byte[] raw);

        byte[] finish();

        /**
         * The answer broke off (the upstream's connection closed or failed before its end): returns what may still go
         * out to the caller, masked (possibly nothing); whatever else is held is dropped, never released raw.
         */
        byte[] abandon();
    }

    private AnswerMasker() {
    }

    /**
     * The media type, lower case, without parameters; empty when absent, and when it is not one well-formed
     * {@code type/subtype} (two tokens): {@code text/}, or a list {@code text/plain, application/x-foo} (a fetch client
     * takes the last type of such a list) is a type in no row, not text by its first characters.
     */
    static String mediaType(String contentType) {
        String t = attest.http.MediaTypes.of(contentType);
        return wellFormed(t) ? t : "";
    }

    /** Whether {@code t} is {@code type/subtype}, each a non-empty token (RFC 9110: no space, comma or separator). */
    private static boolean wellFormed(String t) {
        int slash = t.indexOf('/');
        if (slash <= 0 || slash == t.length() - 1) {
            return false;
        }
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (i != slash && !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || "!#$%&'*+-.^_`|~".indexOf(c) >= 0)) {
                return false;
            }
        }
        return true;
    }

    /** Whether the answer is not text: media, PDF and archives ({@link #unread}) or binary that is scanned. */
    public static boolean binary(String contentType) {
        return unread(contentType) || scanned(contentType);
    }

    /** gRPC and gRPC-Web in every form ({@code +proto}, {@code +json}, {@code -text}): length-prefixed frames. */
    private static boolean grpc(String t) {
        return t.equals("application/grpc") || t.startsWith("application/grpc+") || t.startsWith("application/grpc-");
    }

    /** A structured-syntax suffix that is text ({@code +json}, {@code +xml}), but not gRPC's framed {@code +json}. */
    static boolean structuredText(String contentType) {
        String t = mediaType(contentType);
        return !grpc(t) && (t.endsWith("+json") || t.endsWith("+xml"));
    }

    /** Media ({@code image/*}, {@code audio/*}, {@code video/*}, {@code font/*}), PDF and archives: passed unread. */
    static boolean unread(String contentType) {
        String t = mediaType(contentType);
        return !structuredText(t) && (UNREAD.contains(t) || t.startsWith("image/") || t.startsWith("audio/")
                || t.startsWith("video/") || t.startsWith("font/"));
    }

    /**
     * Types known to be text, besides {@code text/*}, the structured suffixes and the live types: their answers take
     * the text path alone.
     */
    private static final Set<String> TEXT = Set.of("application/json", "application/xml", "application/javascript",
            "application/x-javascript", "application/ecmascript", "application/x-www-form-urlencoded",
            "application/yaml", "application/x-yaml", "application/toml", "application/sql", "application/graphql",
            "application/rtf", "application/x-sh");

    /**
     * A type in no list: not text the masker knows, not binary it scans, not media, PDF or an archive
     * ({@code application/x-foo}, a vendor type, {@code model/*}), or no type at all. Its client knows what it is and
     * the masker does not: it is masked as text, then read as binary is ({@link BinaryScan}) and refused when an
     * entity is still found (UTF-16, base64: they went out before 2026-12-02, {@code UnknownTypeAnswersTest}).
     */
    static boolean unknown(String contentType) {
        String t = mediaType(contentType);
        return !t.startsWith("text/") && !structuredText(t) && !TEXT.contains(t)
                && !attest.http.MediaTypes.live(t) && !binary(t);
    }

    /** Binary read for text and refused when an entity is found ({@link BinaryScan}). */
    static boolean scanned(String contentType) {
        String t = mediaType(contentType);
        return grpc(t) || SCANNED.contains(t) || t.endsWith("+cbor");
    }

    /**
     * Masks a whole answer (a buffered live answer; a held call's answer, read whole). The bytes that go out are read
     * by every reader the way the masker read them, or masked under each reading:
     * <ul>
     * <li>an event stream or NDJSON that declares a charset other than UTF-8 is decoded in it and goes out as UTF-8,
     * as a live stream does (the caller is told so: {@link #maskedContentType}); read as UTF-8 first too, as an SSE
     * client reads whatever the label says;</li>
     * <li>any other answer that declares such a charset is read in it and written back in it, then read as UTF-8 (or
     * as a JSON reader detects the encoding from the bytes) and masked so too;</li>
     * <li>a body that is not JSON but holds server-sent event {@code data:} lines (an event stream under another
     * label, or none) is masked as an event stream too, as an SSE client (the OpenAI SDK) reads it whatever its label;
     * likewise lines of JSON objects with other text between them, as NDJSON;</li>
     * <li>a body still compressed (gzip, zstd, zlib) that its label does not name is refused: it cannot be read.</li>
     * </ul>
     *
     * @throws MaskingFailedException the answer cannot be masked: the caller gets none of it
     */
    public static byte[] mask(byte[] body, String contentType, Masker masker, Consumer<Redaction> report) {
        if (body == null || body.length == 0) {
            return body;
        }
        if (binary(contentType)) {
            // a label is not the content: JSON under a binary label (an upstream's default type, a proxy's) is read as
            // JSON by the caller's client all the same (the OpenAI SDK reads a completion whatever its type), and an
            // event stream is read as one (the SDK parses a stream's events whatever its type)
            if (JsonMasker.parseAll(body) != null) {
                return JsonMasker.mask(body, masker, report);
            }
            if (streamLike(body) && eventLines(body)) {
                return whole(body, "text/event-stream", masker, report);
            }
            if (scanned(contentType)) {
                // binary cannot be rewritten safely (a frame, a field, a string carries its length): read for the text a
                // client can get out of it, and refused when it holds an entity
                BinaryScan.refuseIfFound(body, masker, report);
            }
            return body;
        }
        if (compressed(body)) {
            // the evidence says why (it said nothing before 2026-12-02)
            report.accept(new Redaction(BinaryScan.UNREADABLE, BinaryScan.ACTION, "binary:body", "compressed_unnamed"));
            throw new MaskingFailedException("the answer is compressed in a coding its headers do not name");
        }
        if (attest.http.MediaTypes.live(contentType)) {
            java.nio.charset.Charset cs = streamCharset(contentType);
            if (cs == null) {
                return whole(body, contentType, masker, report);
            }
            // as a reader that reads UTF-8 whatever the label says (an SSE client) reads it, if it can ...
            String utf8 = streamContentType(contentType);
            byte[] first = validUtf8(body) ? whole(body, utf8, masker, report) : body;
            // ... then as the label says, written as UTF-8, as a live stream is (the caller is told charset=utf-8)
            return run(streaming(contentType, masker, report), first);
        }
        java.nio.charset.Charset declared = declaredCharset(contentType);
        java.nio.charset.Charset bom = utf16Bom(body);
        if (bom != null && JsonMasker.parseAll(body) == null) {
            // text that starts with a UTF-16 byte order mark: a browser reads it in UTF-16 whatever the label says
            // (the WHATWG encoding sniffing puts the BOM first), so the masker does too (a JSON body is read by the
            // JSON reader, which detects the encoding itself)
            declared = bom;
        }
        if (declared == null && unknown(contentType) && binaryBytes(body)) {
            // binary by its bytes, under a type the masker does not know: masked as text it would be broken (a length
            // no longer matches), and the text detectors read emails and IP addresses in random bytes (most random
            // 64 KiB bodies were rewritten so before 2026-12-02): read as binary is, and refused when it carries an
            // entity, read also as one text with its bytes that are not text left out (a card whose groups a stray
            // byte parts), where only what random bytes do not spell counts
            BinaryScan.refuseIfFound(body, masker, report, true);
            return body;
        }
        byte[] out = body;
        if (declared != null) {
            // read in the charset the answer declares, as its reader does (UTF-16, UTF-32, Shift_JIS, ...), masked as
            // UTF-8, and written back in that charset
            int[] found = {0};
            byte[] masked = JsonMasker.mask(new String(body, declared).getBytes(StandardCharsets.UTF_8), masker, r -> {
                found[0]++;
                report.accept(r);
            });
            out = found[0] == 0 ? body : new String(masked, StandardCharsets.UTF_8).getBytes(declared);
        }
        // as the bytes read without the label: UTF-8, or the encoding a JSON reader detects from them (a label that
        // lies, UTF-8 under charset=utf-16le, is read so by Python's json.loads and by UTF-8 readers)
        out = JsonMasker.mask(out, masker, report);
        if (streamLike(out) && JsonMasker.parseAll(out) == null) {
            // not JSON: text that a stream client may read all the same
            if (eventLines(out)) {
                out = whole(out, "text/event-stream", masker, report);
            } else if (objectLines(out)) {
                out = whole(out, "application/x-ndjson", masker, report);
            }
        }
        if (unknown(contentType)) {
            // what its client reads of it the masker may not have read as text (UTF-16, base64): read as binary too
            BinaryScan.refuseIfFound(out, masker, report);
        }
        return out;
    }

    /**
     * The content type the caller is told for an answer masked by {@link #mask}: an event stream or NDJSON that
     * declares a charset other than UTF-8 goes out as UTF-8 ({@link #streamContentType}); any other as it came.
     */
    public static String maskedContentType(String contentType) {
        return attest.http.MediaTypes.live(contentType) && streamCharset(contentType) != null
                ? streamContentType(contentType) : contentType;
    }

    /** A whole stream through the streaming masker of its (UTF-8) label; unchanged, byte for byte, without a finding. */
    private static byte[] whole(byte[] body, String contentType, Masker masker, Consumer<Redaction> report) {
        int[] found = {0};
        byte[] out = run(streaming(contentType, masker, r -> {
            found[0]++;
            report.accept(r);
        }), body);
        return found[0] == 0 ? body : out;
    }

    private static byte[] run(Streaming s, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] a = s.push(body);
        out.write(a, 0, a.length);
        byte[] b = s.finish();
        out.write(b, 0, b.length);
        return out.toByteArray();
    }

    /**
     * Whether a body is binary by its bytes: more than one byte in 16 is a control character (but tab, line ends, form
     * feed and escape) or a byte from 80 to 9F that is no part of a valid UTF-8 sequence. Text with a stray byte or two
     * is text, and so is Latin-1 text, whatever its accents.
     */
    static boolean binaryBytes(byte[] b) {
        int bad = 0;
        for (int i = 0; i < b.length; ) {
            int c = b[i] & 0xFF;
            if (c < 0x80) {
                if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1B || c == 0x7F) {
                    bad++;
                }
                i++;
                continue;
            }
            int n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
            boolean valid = n > 0 && i + n <= b.length;
            for (int k = 1; valid && k < n; k++) {
                valid = (b[i + k] & 0xC0) == 0x80;
            }
            if (valid) {
                i += n;
            } else {
                // a byte from A0 on that is no UTF-8 is a Latin-1 letter or sign: text (one in 16 accents is common)
                bad += c >= 0xA0 ? 0 : 1;
                i++;
            }
        }
        return bad * 16L > b.length;
    }

    private static boolean validUtf8(byte[] body) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(body));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }

    /** UTF-16LE or UTF-16BE when the body starts with that byte order mark; null otherwise. */
    static java.nio.charset.Charset utf16Bom(byte[] b) {
        if (b.length >= 2 && b[0] == (byte) 0xFF && b[1] == (byte) 0xFE) {
            return StandardCharsets.UTF_16LE;
        }
        return b.length >= 2 && b[0] == (byte) 0xFE && b[1] == (byte) 0xFF ? StandardCharsets.UTF_16BE : null;
    }

    /**
     * Whether a line of the body starts with {@code data:} or two lines start with a brace, read on the bytes: the cheap
     * test that spares a JSON answer (one line, or lines indented) a second parse.
     */
    static boolean streamLike(byte[] b) {
        int objects = 0;
        for (int i = 0; i < b.length; i++) {
            if (i > 0 && b[i - 1] != '\n' && b[i - 1] != '\r') {
                continue;
            }
            int k = i + 2 < b.length && b[i] == (byte) 0xEF && b[i + 1] == (byte) 0xBB && b[i + 2] == (byte) 0xBF
                    ? i + 3 : i;
            if (k + 5 <= b.length && b[k] == 'd' && b[k + 1] == 'a' && b[k + 2] == 't' && b[k + 3] == 'a'
                    && b[k + 4] == ':') {
                return true;
            }
            int j = k;
            while (j < b.length && (b[j] == ' ' || b[j] == '\t')) {
                j++;
            }
            if (j < b.length && b[j] == '{' && ++objects >= 2) {
                return true;
            }
        }
        return false;
    }

    /** The body's lines (LF, CR or CRLF ends), as a UTF-8 reader shows them. */
    private static String[] lines(byte[] body) {
        return new String(body, StandardCharsets.UTF_8).split("\r\n|\r|\n");
    }

    /** Whether any line is a server-sent event's {@code data:} field (a BOM may start the body). */
    static boolean eventLines(byte[] body) {
        for (String line : lines(body)) {
            if (line.startsWith("data:") || line.startsWith("\uFEFFdata:")) {
                return true;
            }
        }
        return false;
    }

    /** Whether two or more lines are each one JSON object (NDJSON with other text between, or after, its lines). */
    static boolean objectLines(byte[] body) {
        int n = 0;
        for (String line : lines(body)) {
            String l = line.replace("\uFEFF", "").strip();
            if (l.startsWith("{") && JsonMasker.strictTree(l) != null && ++n >= 2) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the body is data compressed in a coding the answer does not name (gzip or zstd by their magic numbers, or
     * a zlib stream that inflates): a masker reads no text in it, and any client can decompress it.
     */
    static boolean compressed(byte[] b) {
        if (b.length >= 3 && b[0] == 0x1f && b[1] == (byte) 0x8b) {
            return true;
        }
        if (b.length >= 4 && b[0] == 0x28 && b[1] == (byte) 0xb5 && b[2] == 0x2f && b[3] == (byte) 0xfd) {
            return true;
        }
        if (b.length >= 3 && (b[0] & 0x0f) == 8 && ((b[0] & 0xff) << 8 | (b[1] & 0xff)) % 31 == 0) {
            // a whole zlib stream, its checksum included: text that starts like a zlib header ("x^2", "HK") is not one
            java.util.zip.Inflater inflater = new java.util.zip.Inflater();
            try {
                inflater.setInput(b);
                byte[] sink = new byte[8192];
                long total = 0;
                while (!inflater.finished()) {
                    int n = inflater.inflate(sink);
                    total += n;
                    if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                        return false;
                    }
                    if (total > 64L * 1024 * 1024) {
                        return true; // a bomb, if anything
                    }
                }
                return true;
            } catch (java.util.zip.DataFormatException notZlib) {
                return false;
            } finally {
                inflater.end();
            }
        }
        return false;
    }

    /**
     * The charset the content type declares, when it is one a reader would decode differently from the masker's own
     * reading (UTF-8, else ISO-8859-1 byte for byte); null otherwise (none, UTF-8, US-ASCII, ISO-8859-1, unknown).
     */
    static java.nio.charset.Charset declaredCharset(String contentType) {
        java.nio.charset.Charset cs = charsetParam(contentType);
        return cs == null || cs.equals(StandardCharsets.UTF_8) || cs.equals(StandardCharsets.US_ASCII)
                || cs.equals(StandardCharsets.ISO_8859_1) ? null : cs;
    }

    /** The charset a content type's {@code charset} parameter names; null when none, or one this JVM does not know. */
    private static java.nio.charset.Charset charsetParam(String contentType) {
        if (contentType == null) {
            return null;
        }
        for (String param : contentType.split(";")) {
            String p = param.trim();
            if (p.regionMatches(true, 0, "charset=", 0, 8)) {
                try {
                    return java.nio.charset.Charset.forName(p.substring(8).trim().replace("\"", ""));
                } catch (IllegalArgumentException unknown) {
                    return null;
                }
            }
        }
        return null;
    }

    /** A masker for an answer relayed as it arrives (event streams and NDJSON; else text across pieces). */
    public static Streaming streaming(String contentType, Masker masker, Consumer<Redaction> report) {
        java.nio.charset.Charset declared = streamCharset(contentType);
        Streaming utf8 = streamingUtf8(contentType, masker, report);
        return declared == null ? utf8 : transcoded(utf8, declared, report);
    }

    /**
     * The content type a live stream goes out with once masked: the upstream's, its charset (if any other than UTF-8)
     * replaced by UTF-8. The masker reads a stream that declares a charset in that charset (as a reader that honours
     * the label reads it) and writes UTF-8; labelled UTF-8, every reader (one that honours the label, and one that
     * reads an event stream or NDJSON as UTF-8 whatever it says) reads what the masker read.
     */
    public static String streamContentType(String contentType) {
        if (contentType == null) {
            return null;
        }
        String[] params = contentType.split(";");
        StringBuilder out = new StringBuilder(params[0].trim());
        for (int i = 1; i < params.length; i++) {
            String p = params[i].trim();
            if (p.regionMatches(true, 0, "charset=", 0, 8)) {
                p = "charset=utf-8";
            }
            if (!p.isEmpty()) {
                out.append("; ").append(p);
            }
        }
        return out.toString();
    }

    /** The charset a live stream declares, when it is one the masker must decode from (not UTF-8 or US-ASCII). */
    static java.nio.charset.Charset streamCharset(String contentType) {
        java.nio.charset.Charset cs = charsetParam(contentType);
        return cs == null || cs.equals(StandardCharsets.UTF_8) || cs.equals(StandardCharsets.US_ASCII) ? null : cs;
    }

    /**
     * A stream in {@code cs} decoded as it arrives (a character split between pieces waits for its other bytes) and
     * masked as UTF-8; what the masker releases goes out as UTF-8 (see {@link #streamContentType}). Bytes of a character
     * cut short at a break-off are dropped.
     */
    static Streaming transcoded(Streaming inner, java.nio.charset.Charset cs, Consumer<Redaction> report) {
        java.nio.charset.CharsetDecoder dec = cs.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPLACE)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPLACE);
        LabelReader label = LabelReader.of(cs);
        return new Streaming() {
            private byte[] pending = new byte[0];

            private byte[] decode(byte[] raw, boolean end) {
                byte[] all = java.util.Arrays.copyOf(pending, pending.length + raw.length);
                System.arraycopy(raw, 0, all, pending.length, raw.length);
                if (label != null) {
                    return utf8First(all, end, label);
                }
                java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(all);
                java.nio.CharBuffer out = java.nio.CharBuffer.allocate(
                        (int) (all.length * (double) dec.maxCharsPerByte()) + 16);
                dec.decode(in, out, end);
                if (end) {
                    dec.flush(out);
                }
                pending = java.util.Arrays.copyOfRange(all, in.position(), all.length);
                out.flip();
                return out.toString().getBytes(StandardCharsets.UTF_8);
            }

            /**
             * A charset that reads ASCII as ASCII, single-byte (ISO-8859-1, windows-1252, ...) or multi-byte (Shift_JIS,
             * EUC-JP, GBK, GB18030, Big5, EUC-KR, ...): each complete, valid UTF-8 sequence is read as UTF-8, as an SSE
             * client reads every event stream whatever its label, and any other byte starts a character read as the
             * label reads it. Under a multi-byte label only a UTF-8 character the detectors read is taken so (a space, a
             * dash, a digit, a format character, a form of ASCII: {@link LabelReader#significant}); a CJK letter, which
             * hides nothing, is left to the label, so that text really in the label's charset (whose two-byte characters
             * are often valid UTF-8 too) stays readable. A UTF-8 card grouped by no-break spaces (C2 A0) under an
             * ISO-8859-1 label read as Latin-1 alone is "4111Â 1111 ...", under a GBK label "4111聽1111 ...", under
             * Shift_JIS "4111ﾂ?1111 ...": no card to the detectors, every digit of one to a reader. What goes out is
             * this one reading, as UTF-8 (relabelled), so every reader of the caller's stream reads what the masker
             * read.
             */
            private byte[] utf8First(byte[] all, boolean end, LabelReader labelled) {
                StringBuilder text = new StringBuilder(all.length);
                int i = 0;
                while (i < all.length) {
                    int b = all[i] & 0xFF;
                    if (b < 0x80) {
                        text.append((char) b);
                        i++;
                        continue;
                    }
                    int n = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
                    if (n > 0 && i + n > all.length && !end && continuations(all, i + 1, all.length)) {
                        break; // perhaps a sequence split between pieces: wait for its other bytes
                    }
                    String utf8 = n > 0 && i + n <= all.length ? strictUtf8(all, i, n) : null;
                    if (utf8 != null && labelled.single()) {
                        text.append(utf8);
                        i += n;
                        continue;
                    }
                    if (utf8 != null && LabelReader.significant(utf8)) {
                        // under a multi-byte label, a UTF-8 character that the detectors read (a space, a dash, a digit, a
                        // format character, punctuation, a full-width Latin letter) is read as UTF-8; if the label reads a
                        // different such character here, the two readings cannot both be masked: refused
                        StringBuilder other = new StringBuilder(2);
                        labelled.read(all, i, true, other);
                        if (!other.toString().equals(utf8) && LabelReader.significant(other.toString())
                                && other.charAt(0) != '\uFFFD') {
                            throw StreamShape.refuse(report, "stream", "ambiguous_charset");
                        }
                        text.append(utf8);
                        i += n;
                        continue;
                    }
                    int used = labelled.read(all, i, end, text);
                    if (used == 0) {
                        break; // a character of the label's split between pieces: wait for its other bytes
                    }
                    i += used;
                }
                pending = java.util.Arrays.copyOfRange(all, i, all.length);
                return text.toString().getBytes(StandardCharsets.UTF_8);
            }

            public byte[] push(byte[] raw) {
                return inner.push(decode(raw, false));
            }

            public byte[] finish() {
                byte[] last = inner.push(decode(new byte[0], true));
                byte[] rest = inner.finish();
                byte[] both = java.util.Arrays.copyOf(last, last.length + rest.length);
                System.arraycopy(rest, 0, both, last.length, rest.length);
                return both;
            }

            public byte[] abandon() {
                pending = new byte[0];
                return inner.abandon();
            }
        };
    }

    /**
     * How a charset that reads ASCII as ASCII reads a character that starts with a byte from 0x80 on: single-byte
     * (ISO-8859-1, windows-1252) by a table, multi-byte (Shift_JIS, EUC-JP, GBK, GB18030, Big5, EUC-KR) one character
     * at a time, its trail bytes (ASCII ones too) with it. Not for a charset in which ASCII bytes are not ASCII text
     * (UTF-16, UTF-32, EBCDIC) or whose escape sequences make ASCII bytes other characters (ISO-2022-JP, -KR, -CN):
     * those are read as the label says alone (their reading of UTF-8 bytes shows no run of them as it was written).
     */
    static final class LabelReader {
        private final String[] single;
        private final java.nio.charset.CharsetDecoder strict;
        private final int maxBytes;
        private final java.nio.CharBuffer one = java.nio.CharBuffer.allocate(4);

        private LabelReader(String[] single, java.nio.charset.Charset cs, int maxBytes) {
            this.single = single;
            this.strict = single != null ? null : cs.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
            this.maxBytes = maxBytes;
        }

        boolean single() {
            return single != null;
        }

        /**
         * Whether a character (one code point) is one the detectors read as ASCII or not at all ({@link Normalized}):
         * a space, a dash or the minus sign, a digit of any script, a format character, full-width or compatibility
         * forms of ASCII (letters, {@code ＠}, {@code ①}). A CJK or accented letter, an emoji, a private-use character
         * is not: read either way, it hides no entity's separator or digit.
         */
        static boolean significant(String ch) {
            String n = Normalized.of(ch).text();
            if (n.isEmpty()) {
                return true;
            }
            for (int k = 0; k < n.length(); k++) {
                if (n.charAt(k) < 0x80) {
                    return true;
                }
            }
            return false;
        }

        /** The reader for {@code cs}, or null when it does not read ASCII as ASCII (see above). */
        static LabelReader of(java.nio.charset.Charset cs) {
            String[] single = singleByte(cs);
            if (single != null) {
                return new LabelReader(single, cs, 1);
            }
            float max;
            try {
                max = cs.newEncoder().maxBytesPerChar();
            } catch (UnsupportedOperationException e) {
                return null; // a charset that only decodes
            }
            if (max <= 1.0f || max > 4.0f) {
                return null;
            }
            for (int b = 0; b < 0x80; b++) {
                String read = new String(new byte[] {(byte) b}, cs);
                // 0x5C and 0x7E are the yen sign and the overline in some Japanese tables: read as ASCII here
                if (!read.equals(String.valueOf((char) b)) && b != 0x5C && b != 0x7E) {
                    return null;
                }
            }
            boolean any = false;
            for (char c : "\u3000\u3042\u4e2d\uac00\uff11".toCharArray()) {
                java.nio.charset.CharsetEncoder enc = cs.newEncoder();
                if (!enc.canEncode(c)) {
                    continue;
                }
                byte[] b = String.valueOf(c).getBytes(cs);
                for (byte x : b) {
                    if (x == 0x1B || x == 0x0E || x == 0x0F) {
                        return null; // escape sequences or shifts: ASCII bytes are read as other characters
                    }
                }
                if (b.length == 0 || (b[0] & 0xFF) < 0x80) {
                    return null;
                }
                any = true;
            }
            return any ? new LabelReader(null, cs, (int) Math.ceil(max)) : null;
        }

        /**
         * Reads the character at {@code at} (its first byte from 0x80 on) as the label does into {@code out}; returns the
         * bytes it takes, or 0 when it may go on in bytes still to come. A byte that starts no character of the label
         * is read as U+FFFD, as a decoder that replaces reads it.
         */
        int read(byte[] b, int at, boolean end, StringBuilder out) {
            if (single != null) {
                out.append(single[(b[at] & 0xFF) - 0x80]);
                return 1;
            }
            int avail = b.length - at;
            for (int n = 1; n <= Math.min(maxBytes, avail); n++) {
                strict.reset();
                one.clear();
                java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(b, at, n);
                java.nio.charset.CoderResult r = strict.decode(in, one, true);
                if (r.isError() || r.isOverflow() || in.hasRemaining() || strict.flush(one).isError()) {
                    continue;
                }
                one.flip();
                if (one.length() == 1 || one.length() == 2 && Character.isSurrogatePair(one.charAt(0), one.charAt(1))) {
                    out.append(one);
                    return n;
                }
            }
            if (!end && avail < maxBytes) {
                return 0;
            }
            out.append('\uFFFD');
            return 1;
        }
    }

    /**
     * How a single-byte charset that reads ASCII as ASCII reads each byte from 0x80 on; null for any other charset
     * (multi-byte ones: {@link LabelReader}).
     */
    static String[] singleByte(java.nio.charset.Charset cs) {
        try {
            if (cs.newEncoder().maxBytesPerChar() != 1.0f) {
                return null;
            }
        } catch (UnsupportedOperationException e) {
            return null; // a charset that only decodes
        }
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        String read = new String(all, cs);
        if (read.length() != 256 || !read.substring(0, 128).equals(new String(all, 0, 128, StandardCharsets.US_ASCII))) {
            return null;
        }
        String[] high = new String[128];
        for (int i = 0; i < 128; i++) {
            high[i] = read.substring(128 + i, 129 + i);
        }
        return high;
    }

    private static boolean continuations(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if ((b[i] & 0xC0) != 0x80) {
                return false;
            }
        }
        return true;
    }

    /** The {@code n} bytes at {@code at} read as one UTF-8 character, or null when they are not one (strictly). */
    private static String strictUtf8(byte[] b, int at, int n) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b, at, n)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return null;
        }
    }

    private static Streaming streamingUtf8(String contentType, Masker masker, Consumer<Redaction> report) {
        if (attest.http.MediaTypes.ndjson(contentType)) {
            NdjsonMasker m = new NdjsonMasker(masker, report);
            return new Streaming() {
                public byte[] push(byte[] raw) {
                    return m.push(raw);
                }

                public byte[] finish() {
                    return m.finish();
                }

                public byte[] abandon() {
                    return m.abandon();
                }
            };
        }
        SseMasker m = new SseMasker(masker, report);
        return new Streaming() {
            public byte[] push(byte[] raw) {
                return m.push(raw);
            }

            public byte[] finish() {
                return m.finish();
            }

            public byte[] abandon() {
                return m.abandon();
            }
        };
    }
}
