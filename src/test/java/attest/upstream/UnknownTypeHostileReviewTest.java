package attest.upstream;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.ResponseHeaders;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import attest.masking.Action;
import attest.masking.MaskResponseProcessor;
import attest.masking.Masker;
import attest.masking.MaskingEngine;
import attest.masking.MaskingOutcome;
import attest.masking.MaskingRuleSet;
import attest.masking.MaskingService;
import attest.masking.Redaction;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An outside, hostile review (helper-82, 2026-12-02) of answers whose {@code Content-Type} the masker does not know,
 * and of binary answers, written from docs/masking.md alone (the "a type in no row" and "other binary" rows, "Binary
 * answers"), before the implementation was read. Each row is an upstream answer (header lines, body bytes, possibly
 * chunked) served by a real local server and taken through the real upstream client (both transports), on the live
 * path and on the held (buffered) path, then {@link MaskResponseProcessor} and {@link RenderUpstreamResponseProcessor}
 * as the routes run them.
 * <p>
 * What is delivered is read back by a zoo of hostile readers (Latin-1, UTF-8, UTF-16 at both alignments, base64
 * standard and URL-safe at every alignment with line breaks joined, hex, percent-, quoted-printable, HTML and JSON
 * escapes, gunzip/inflate; nested 3 deep): none may find the card, SSN, IBAN, email, phone or secret. Expectations:
 * REFUSE (502 {@code masking_failed}, the refusal in the masking report), BLOCK (403 {@code response_blocked}), MASKED
 * (delivered, changed, no reader finds the entity), CLEAN (delivered byte for byte), SAFE (refused or delivered with no
 * reader finding the entity: where the spec does not say which), LIMIT (a limit docs/masking.md states: delivered as
 * it came), AS_TEXT (delivered as it came, the caller told only the text type it was masked as). The rows in
 * {@link #holes} failed before the fix in the commit that added them.
 */
class UnknownTypeHostileReviewTest {
    static final String CARD = "4111 1111 1111 1111";
    static final String AMEX = "3782 822463 10005";
    static final String SSN = "536-90-4399";
    static final String IBAN = "GB82 WEST 1234 5698 7654 32";
    static final String EMAIL = "jane.doe+tag@mail.eu.example.co.uk";
    static final String PHONE = "+1 415-555-2671";
    static final String SECRET = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";

    static final byte[] KEY = "k".repeat(32).getBytes(StandardCharsets.UTF_8);
    /** As masking-rules/default.yaml: CARD partial, SECRET redact, everything else redact. */
    static final MaskingService DEFAULT = service(Map.of("CARD", Action.PARTIAL, "SECRET", Action.REDACT));
    /** A rule set that blocks SSNs (and redacts the rest). */
    static final MaskingService BLOCK_SSN = service(Map.of("CARD", Action.PARTIAL, "SSN", Action.BLOCK));

    static MaskingService service(Map<String, Action> actions) {
        Masker m = new Masker(MaskingEngine.builtIn(), actions, Action.REDACT, KEY);
        return new MaskingService(List.of(new MaskingRuleSet("default", List.of(), List.of(), false, true, List.of(),
                m)), Duration.ofSeconds(20));
    }

    static DefaultCamelContext camel;
    static ScheduledExecutorService scheduler;
    static RawUpstream upstream;
    static final Map<String, List<byte[]>> ANSWERS = new ConcurrentHashMap<>();
    static final Map<UpstreamClient.Kind, UpstreamClient> CLIENTS = new java.util.EnumMap<>(UpstreamClient.Kind.class);

    @BeforeAll
    static void start() throws Exception {
        camel = new DefaultCamelContext();
        scheduler = Executors.newSingleThreadScheduledExecutor();
        upstream = new RawUpstream(RawUpstream.each((c, r) -> {
            String path = r.line().split(" ")[1];
            for (byte[] piece : ANSWERS.get(path.substring(path.lastIndexOf('/') + 1))) {
                c.write(piece); // each piece written and flushed on its own: chunk boundaries are real writes
            }
        }));
        for (UpstreamClient.Kind k : UpstreamClient.Kind.values()) {
            CLIENTS.put(k, new UpstreamClient(Clock.systemUTC(), 1 << 20, UpstreamClient.DEFAULT_MAX_DECODED_BYTES, k));
        }
    }

    @AfterAll
    static void stop() {
        CLIENTS.values().forEach(UpstreamClient::close);
        upstream.close();
        scheduler.shutdownNow();
    }

    enum Expect { REFUSE, BLOCK, MASKED, CLEAN, SAFE, LIMIT, AS_TEXT }

    /**
     * @param headers header lines (each ending CRLF), Content-Length / Transfer-Encoding excluded
     * @param chunks  null: sent with a Content-Length; else the body's cut points for a chunked answer
     */
    record Row(String name, Expect expect, String headers, byte[] body, int[] chunks, MaskingService service) {
        @Override
        public String toString() {
            return expect + " " + name;
        }
    }

    // ---- encoders -----------------------------------------------------------------------------------------------

    static byte[] utf8(String s) {
        return BufferedAnswerAttackTest.utf8(s);
    }

    static byte[] concat(byte[]... parts) {
        return BufferedAnswerAttackTest.concat(parts);
    }

    static byte[] gzip(byte[] b) {
        try {
            return BufferedAnswerAttackTest.gzip(b);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(utf8(s));
    }

    static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }

    static byte[] zlib(byte[] b, boolean raw) {
        java.util.zip.Deflater d = new java.util.zip.Deflater(6, raw);
        d.setInput(b);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        return out.toByteArray();
    }

    static String hex(String s) {
        return HexFormat.of().formatHex(utf8(s));
    }

    static String pct(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : utf8(s)) {
            b.append('%').append(String.format("%02X", x & 0xFF));
        }
        return b.toString();
    }

    static String qp(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : utf8(s)) {
            b.append('=').append(String.format("%02X", x & 0xFF));
        }
        return b.toString();
    }

    static String htmlDec(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> b.append("&#").append(c).append(';'));
        return b.toString();
    }

    static String jsonU(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            b.append(String.format("\\u%04x", (int) c));
        }
        return b.toString();
    }

    static String wrap(String s, int every, String nl) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i += every) {
            b.append(s, i, Math.min(s.length(), i + every)).append(nl);
        }
        return b.toString();
    }

    /** CBOR: a major type's head. */
    static byte[] cborHead(int major, long n) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        int m = major << 5;
        if (n < 24) {
            o.write(m | (int) n);
        } else if (n < 256) {
            o.write(m | 24);
            o.write((int) n);
        } else if (n < 65536) {
            o.write(m | 25);
            o.write((int) (n >> 8));
            o.write((int) n);
        } else {
            o.write(m | 26);
            o.writeBytes(ByteBuffer.allocate(4).putInt((int) n).array());
        }
        return o.toByteArray();
    }

    static byte[] cborText(String s) {
        byte[] b = utf8(s);
        return concat(cborHead(3, b.length), b);
    }

    static byte[] cborBytes(byte[] b) {
        return concat(cborHead(2, b.length), b);
    }

    /** A CBOR map of key/value items already encoded. */
    static byte[] cborMap(byte[]... kv) {
        return concat(cborHead(5, kv.length / 2), concat(kv));
    }

    static byte[] msgStr(String s) {
        byte[] b = utf8(s);
        if (b.length < 32) {
            return concat(new byte[] {(byte) (0xA0 | b.length)}, b);
        }
        return concat(new byte[] {(byte) 0xD9, (byte) b.length}, b);
    }

    static byte[] msgBin(byte[] b) {
        return concat(new byte[] {(byte) 0xC4, (byte) b.length}, b);
    }

    static byte[] msgMap(byte[]... kv) {
        return concat(new byte[] {(byte) (0x80 | kv.length / 2)}, concat(kv));
    }

    static byte[] varint(long v) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        while ((v & ~0x7FL) != 0) {
            o.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
        return o.toByteArray();
    }

    /** A protobuf length-delimited field. */
    static byte[] pb(int field, byte[] value) {
        return concat(varint((long) field << 3 | 2), varint(value.length), value);
    }

    static byte[] grpcFrame(byte[] msg) {
        return concat(new byte[] {0}, ByteBuffer.allocate(4).putInt(msg.length).array(), msg);
    }

    static byte[] utf16le(String s) {
        return s.getBytes(StandardCharsets.UTF_16LE);
    }

    static byte[] utf16be(String s) {
        return s.getBytes(StandardCharsets.UTF_16BE);
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] floats(int n, long seed) {
        Random r = new Random(seed);
        ByteBuffer bb = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            bb.putFloat((float) r.nextGaussian());
        }
        return bb.array();
    }

    static String lorem(int bytes) {
        String s = "The quarterly report shipped on 2026-11-30 with build 1.24.7 and order 88213 for the west region; "
                + "latency p99 was 412 ms at 1732999999123 epoch millis. ";
        StringBuilder b = new StringBuilder(bytes + s.length());
        while (b.length() < bytes) {
            b.append(s);
        }
        return b.toString();
    }

    // ---- rows ---------------------------------------------------------------------------------------------------

    static Row row(String name, Expect e, String ct, byte[] body) {
        return new Row(name, e, ct == null ? "" : "Content-Type: " + ct + "\r\n", body, null, DEFAULT);
    }

    static Row rowH(String name, Expect e, String headers, byte[] body) {
        return new Row(name, e, headers, body, null, DEFAULT);
    }

    static Row block(String name, Expect e, String ct, byte[] body) {
        return new Row(name, e, ct == null ? "" : "Content-Type: " + ct + "\r\n", body, null, BLOCK_SSN);
    }

    static Row chunked(String name, Expect e, String ct, byte[] body, int... cuts) {
        return new Row(name, e, ct == null ? "" : "Content-Type: " + ct + "\r\n", body, cuts, DEFAULT);
    }

    static Stream<Row> rows() {
        List<Row> r = new ArrayList<>();
        String foo = "application/x-foo";
        byte[] b64card = utf8("blob=" + b64("card " + CARD + " thanks") + ";");

        // -- A. the label: spellings, parameters, none, several ----------------------------------------------------
        for (String ct : new String[] {foo, "Application/X-Foo; charset=utf-16", "APPLICATION/X-FOO", "application/x-foo;",
                "  application/x-foo  ", "application/x-foo; charset=\"utf-8\"; q=1", "application/vnd.acme.result.v2",
                "model/gltf-binary", "model/vnd.acme", "x-foo", "application/*", "*/*", "application/", "/x-foo",
                "; charset=utf-8", "charset=utf-8", "application/octet-stream", "Application/Octet-Stream; Charset=UTF-16",
                "multipart/mixed; boundary=zz", "application/vnd.acme+cbor", "application/cbor", "application/msgpack",
                "application/x-protobuf", "application/grpc", "application/grpc+proto",
                "application/vnd.amazon.eventstream", "chemical/x-pdb", "x-world/x-vrml", "application/x-foo+zip",
                "application/vnd.foo+json-seq", "application/jsonx", "application/x-json-foo", "textual/plain",
                "text", "application/json-patch-foo", "application/x-www-form-urlencoded-foo"}) {
            r.add(row("base64 card under [" + ct + "]", Expect.REFUSE, ct, b64card));
        }
        r.add(row("base64 card, no Content-Type", Expect.REFUSE, null, b64card));
        r.add(rowH("base64 card, empty Content-Type", Expect.REFUSE, "Content-Type: \r\n", b64card));
        r.add(rowH("base64 card, Content-Type of blanks", Expect.REFUSE, "Content-Type:    \r\n", b64card));
        r.add(rowH("base64 card, two Content-Type: x-foo then text/plain", Expect.SAFE,
                "Content-Type: application/x-foo\r\nContent-Type: text/plain\r\n", b64card));
        r.add(rowH("base64 card, two Content-Type: text/plain then x-foo", Expect.AS_TEXT,
                "Content-Type: text/plain\r\nContent-Type: application/x-foo\r\n", b64card));
        r.add(rowH("base64 card, content-type in lower case and CONTENT-TYPE", Expect.SAFE,
                "content-type: application/x-foo\r\nCONTENT-TYPE: application/json\r\n", b64card));

        // -- B. encodings of the entity under an unknown type --------------------------------------------------------
        String[][] entities = {{"card", CARD}, {"card dashes", "4111-1111-1111-1111"}, {"card bare", "4111111111111111"},
                {"amex", AMEX}, {"card NBSP", "4111\u00a01111\u00a01111\u00a01111"},
                {"card full-width", "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11"},
                {"ssn", "SSN " + SSN}, {"ssn spaces", "ssn 536 90 4399"}, {"ssn dots", "SSN 536.90.4399"},
                {"ssn bare after word", "SSN 536904399"}, {"iban", "IBAN " + IBAN}, {"iban lower", "iban gb82west12345698765432"},
                {"email", "mail " + EMAIL}, {"phone", "phone " + PHONE}, {"secret", "token " + SECRET}};
        for (String[] e : entities) {
            String t = "note: " + e[1] + " end";
            r.add(row(e[0] + " plain text under x-foo", Expect.MASKED, foo, utf8(t)));
            r.add(row(e[0] + " base64 std", Expect.REFUSE, foo, utf8("x=" + b64(t))));
            r.add(row(e[0] + " base64 url-safe no padding", Expect.REFUSE, foo,
                    utf8("x=" + Base64.getUrlEncoder().withoutPadding().encodeToString(utf8(t)))));
            r.add(row(e[0] + " base64 MIME lines of 8", Expect.REFUSE, foo, utf8(wrap(b64(t), 8, "\r\n"))));
            r.add(row(e[0] + " base64 no Content-Type", Expect.REFUSE, null, utf8(b64(t))));
            r.add(row(e[0] + " UTF-16LE no BOM", Expect.SAFE, foo, utf16le(t)));
            r.add(row(e[0] + " UTF-16BE with BOM", Expect.SAFE, foo, concat(new byte[] {(byte) 0xFE, (byte) 0xFF}, utf16be(t))));
            r.add(row(e[0] + " base64 of UTF-16LE", Expect.REFUSE, foo, utf8(b64(utf16le(t)))));
            r.add(row(e[0] + " base64 of gzip", Expect.REFUSE, foo, utf8(b64(gzip(utf8(t))))));
            r.add(row(e[0] + " base64 in a CBOR text string under application/cbor", Expect.REFUSE, "application/cbor",
                    cborMap(cborText("blob"), cborText(b64(t)))));
            r.add(row(e[0] + " in a CBOR text string under x-foo", Expect.SAFE, foo,
                    cborMap(cborText("k"), cborMap(cborText("n"), cborText(t)))));
        }
        r.add(row("card: hex of text (stated limit since this review)", Expect.LIMIT, foo, utf8("hex:" + hex("card " + CARD))));
        r.add(row("card: percent-encoded", Expect.SAFE, foo, utf8("q=" + pct("card " + CARD))));
        r.add(row("card: quoted-printable (stated limit since this review)", Expect.LIMIT, foo, utf8("Content: " + qp("card " + CARD))));
        r.add(row("card: HTML decimal references", Expect.SAFE, foo, utf8(htmlDec("card " + CARD))));
        r.add(row("card: JSON \\u escapes in a non-JSON body", Expect.SAFE, foo, utf8("v=\"" + jsonU("card " + CARD) + "\"")));
        r.add(row("card: base64 with the = padding cut and a glued prefix letter", Expect.REFUSE, foo,
                utf8("Z" + b64("card " + CARD + "!").replace("=", ""))));
        r.add(row("card: base64 of base64", Expect.REFUSE, foo, utf8(b64(b64("card " + CARD)))));
        r.add(row("card: base64 of gzip of base64 (3 deep)", Expect.REFUSE, foo, utf8(b64(gzip(utf8(b64("card " + CARD)))))));
        r.add(row("card: base64 split with spaces every 4 (stated limit since this review)", Expect.LIMIT, foo, utf8(wrap(b64("card " + CARD), 4, " "))));
        r.add(row("card: base64 split by LF every 76 (MIME)", Expect.REFUSE, foo,
                utf8(wrap(b64(lorem(120) + " card " + CARD), 76, "\n"))));
        r.add(row("card: UTF-32BE (a stated limit of binary, read by the text path)", Expect.SAFE, foo, ("card " + CARD).getBytes(Charset.forName("UTF-32BE"))));
        r.add(rowH("card: base64 under gzip Content-Encoding", Expect.REFUSE,
                "Content-Type: application/x-foo\r\nContent-Encoding: gzip\r\n", gzip(b64card)));
        r.add(rowH("card: text under deflate Content-Encoding", Expect.MASKED,
                "Content-Type: application/x-foo\r\nContent-Encoding: deflate\r\n", zlib(utf8("card " + CARD), false)));
        r.add(rowH("card: text under x-gzip Content-Encoding, no Content-Type", Expect.MASKED,
                "Content-Encoding: x-gzip\r\n", gzip(utf8("card " + CARD))));
        r.add(row("card: text under application/x-foo; charset=utf-16le with a UTF-16LE body", Expect.MASKED,
                "application/x-foo; charset=utf-16le", utf16le("card " + CARD + " end")));
        r.add(row("card: UTF-8 text under application/x-foo; charset=utf-16le", Expect.SAFE,
                "application/x-foo; charset=utf-16le", utf8("card " + CARD + " end")));
        r.add(row("card: text/plain; charset=utf-16le with a UTF-16LE body", Expect.MASKED, "text/plain; charset=utf-16le",
                utf16le("card " + CARD + " end")));
        r.add(row("card NBSP: application/json; charset=latin1, Latin-1 NBSP", Expect.MASKED,
                "application/json; charset=latin1",
                "{\"t\":\"card 4111\u00a01111\u00a01111\u00a01111\"}".getBytes(StandardCharsets.ISO_8859_1)));
        r.add(row("card NBSP: application/x-foo; charset=latin1, Latin-1 NBSP", Expect.SAFE, "application/x-foo; charset=latin1",
                "card 4111\u00a01111\u00a01111\u00a01111 end".getBytes(StandardCharsets.ISO_8859_1)));
        r.add(row("card: application/vnd.foo+json", Expect.MASKED, "application/vnd.foo+json",
                utf8("{\"n\":\"card " + CARD + "\"}")));
        r.add(row("card: application/vnd.foo+xml", Expect.MASKED, "application/vnd.foo+xml",
                utf8("<n>card " + CARD + "</n>")));
        r.add(row("card: model/gltf+json", Expect.MASKED, "model/gltf+json", utf8("{\"asset\":{\"copyright\":\"" + CARD + "\"}}")));
        r.add(row("card: multipart/mixed with a base64 part", Expect.REFUSE, "multipart/mixed; boundary=zz",
                utf8("--zz\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64("card " + CARD)
                        + "\r\n--zz--\r\n")));
        r.add(row("card: multipart/form-data with a base64 part", Expect.SAFE, "multipart/form-data; boundary=zz",
                utf8("--zz\r\nContent-Disposition: form-data; name=\"f\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                        + b64("card " + CARD) + "\r\n--zz--\r\n")));
        r.add(row("card: multipart/mixed with a gzip part", Expect.SAFE, "multipart/mixed; boundary=zz",
                concat(utf8("--zz\r\nContent-Type: application/gzip\r\n\r\n"), gzip(utf8("card " + CARD)),
                        utf8("\r\n--zz--\r\n"))));

        // stated: known text types take the text path alone; media pass unread
        r.add(row("base64 card under text/plain (stated: text path alone)", Expect.LIMIT, "text/plain", b64card));
        r.add(row("base64 card in a JSON string (stated: JSON path alone)", Expect.LIMIT, "application/json",
                utf8("{\"blob\":\"" + b64("card " + CARD) + "\"}")));
        r.add(row("base64 card under image/png (stated: media unread)", Expect.LIMIT, "image/png", b64card));

        // -- C. chunked answers, the entity across chunk boundaries -----------------------------------------------
        byte[] plain = utf8("note: card " + CARD + " and ssn " + SSN + " end");
        for (int cut = 10; cut < 28; cut += 3) {
            r.add(chunked("card text split at " + cut + " in a chunked x-foo answer", Expect.MASKED, foo, plain, cut));
        }
        byte[] enc = utf8("x=" + b64("card " + CARD + " ssn " + SSN));
        for (int cut : new int[] {3, 7, 11, 18, 25}) {
            r.add(chunked("base64 split at " + cut + " in a chunked x-foo answer", Expect.REFUSE, foo, enc, cut, cut + 1));
        }
        byte[] cbor = cborMap(cborText("note"), cborText("card " + CARD));
        r.add(chunked("CBOR split at every byte in a chunked answer, no Content-Type", Expect.SAFE, null, cbor,
                java.util.stream.IntStream.range(1, cbor.length).toArray()));

        // -- D. big bodies ------------------------------------------------------------------------------------------
        r.add(row("1.5 MiB of text then base64 card at the very end", Expect.REFUSE, foo,
                utf8(lorem(3 << 19) + " " + b64("card " + CARD))));
        r.add(row("1.5 MiB of text then card text at the very end", Expect.MASKED, foo, utf8(lorem(3 << 19) + " card " + CARD)));
        r.add(row("1 MiB of random bytes then base64 card", Expect.REFUSE, foo,
                concat(randomBytes(1 << 20, 7), utf8(" " + b64("card " + CARD) + " "))));
        r.add(row("1 MiB of random bytes then a CBOR string with the card", Expect.SAFE, foo,
                concat(randomBytes(1 << 20, 8), cborText("card " + CARD))));

        // -- E. binary containers, block rules ------------------------------------------------------------------
        byte[] cborDeep = cborMap(cborText("a"), cborMap(cborText("b"), cborMap(cborText("c"),
                cborMap(cborText("d"), cborText("card " + CARD)))));
        r.add(row("CBOR nested 4 deep, card text string", Expect.REFUSE, "application/cbor", cborDeep));
        r.add(row("CBOR byte string holding the card", Expect.REFUSE, "application/cbor",
                cborMap(cborText("raw"), cborBytes(utf8("card " + CARD)))));
        r.add(row("CBOR card as a map key", Expect.REFUSE, "application/cbor", cborMap(cborText("card " + CARD), cborText("v"))));
        r.add(row("CBOR indefinite text string, card in chunks", Expect.REFUSE, "application/cbor",
                concat(new byte[] {(byte) 0xA1}, cborText("n"), new byte[] {(byte) 0x7F}, cborText("4111 1111"),
                        cborText(" 1111 1111"), new byte[] {(byte) 0xFF})));
        r.add(row("CBOR tagged (tag 24, embedded CBOR) byte string", Expect.REFUSE, "application/cbor",
                concat(new byte[] {(byte) 0xD8, 24}, cborBytes(cborMap(cborText("n"), cborText("card " + CARD))))));
        r.add(row("MessagePack nested maps, card str", Expect.REFUSE, "application/msgpack",
                msgMap(msgStr("a"), msgMap(msgStr("b"), msgStr("card " + CARD)))));
        r.add(row("MessagePack bin holding the card", Expect.REFUSE, "application/x-msgpack",
                msgMap(msgStr("raw"), msgBin(utf8("card " + CARD)))));
        r.add(row("MessagePack card as a key", Expect.REFUSE, "application/vnd.msgpack", msgMap(msgStr("card " + CARD), msgStr("v"))));
        r.add(row("protobuf nested, card", Expect.REFUSE, "application/x-protobuf", pb(1, pb(2, pb(3, utf8("card " + CARD))))));
        r.add(row("gRPC frame, protobuf, card", Expect.REFUSE, "application/grpc", grpcFrame(pb(1, utf8("card " + CARD)))));
        r.add(row("gRPC-web-text, card", Expect.REFUSE, "application/grpc-web-text",
                utf8(b64(grpcFrame(pb(1, utf8("card " + CARD)))))));
        // block rule: SSN is block, CARD partial (redacted)
        r.add(block("CBOR: redacted card, then blocked SSN", Expect.BLOCK, "application/cbor",
                cborMap(cborText("a"), cborText("card " + CARD), cborText("b"), cborText("SSN " + SSN))));
        r.add(block("CBOR: blocked SSN, then redacted card", Expect.BLOCK, "application/cbor",
                cborMap(cborText("b"), cborText("SSN " + SSN), cborText("a"), cborText("card " + CARD))));
        r.add(block("CBOR: redacted card value, then blocked SSN in a key", Expect.BLOCK, "application/cbor",
                cborMap(cborText("a"), cborText("card " + CARD), cborText("SSN " + SSN), cborText("v"))));
        r.add(block("CBOR: card, then blocked SSN in a byte string nested", Expect.BLOCK, "application/cbor",
                cborMap(cborText("a"), cborText("card " + CARD), cborText("z"),
                        cborMap(cborText("y"), cborBytes(utf8("SSN " + SSN))))));
        r.add(block("MessagePack: card, then blocked SSN", Expect.BLOCK, "application/msgpack",
                msgMap(msgStr("a"), msgStr("card " + CARD), msgStr("b"), msgStr("SSN " + SSN))));
        r.add(block("protobuf: card field 1, blocked SSN field 2", Expect.BLOCK, "application/x-protobuf",
                concat(pb(1, utf8("card " + CARD)), pb(2, utf8("SSN " + SSN)))));
        r.add(block("gRPC: two frames, card then blocked SSN", Expect.BLOCK, "application/grpc",
                concat(grpcFrame(pb(1, utf8("card " + CARD))), grpcFrame(pb(1, utf8("SSN " + SSN))))));
        r.add(block("octet-stream: base64 card then base64 SSN", Expect.BLOCK, "application/octet-stream",
                utf8(b64("card " + CARD) + " " + b64("SSN " + SSN))));
        r.add(block("x-foo: base64 card then base64 SSN", Expect.BLOCK, foo,
                utf8(b64("card " + CARD) + " " + b64("SSN " + SSN))));
        r.add(block("x-foo: text card then base64 SSN", Expect.BLOCK, foo, utf8("card " + CARD + " " + b64("SSN " + SSN))));
        r.add(block("x-foo: text SSN", Expect.BLOCK, foo, utf8("SSN " + SSN)));
        r.add(block("no Content-Type: CBOR, card then SSN", Expect.BLOCK, null,
                cborMap(cborText("a"), cborText("card " + CARD), cborText("b"), cborText("SSN " + SSN))));
        r.add(block("octet-stream: gzip of CBOR, card then SSN", Expect.BLOCK, "application/octet-stream",
                gzip(cborMap(cborText("a"), cborText("card " + CARD), cborText("b"), cborText("SSN " + SSN)))));
        r.add(block("x-foo: UTF-16LE card then SSN", Expect.BLOCK, foo, utf16le("card " + CARD + " SSN " + SSN)));

        // -- F. event streams under an unknown label (buffered whole) ---------------------------------------------
        String sse = sseChunk("card 4111 1111") + sseChunk(" 1111 1111 and ssn 536-90-") + sseChunk("4399 ok") + "data: [DONE]\n\n";
        r.add(row("SSE under x-foo, card split across events", Expect.MASKED, foo, utf8(sse)));
        r.add(chunked("SSE under x-foo chunked mid-entity", Expect.MASKED, foo, utf8(sse), 60, 120, 200));
        r.add(row("SSE under no Content-Type, card split", Expect.MASKED, null, utf8(sse)));
        r.add(row("SSE under x-foo, base64 card in data", Expect.REFUSE, foo,
                utf8(sseChunk(b64("card " + CARD)) + "data: [DONE]\n\n")));
        r.add(row("SSE under x-foo, non-JSON data split across events", Expect.MASKED, foo,
                utf8("data: card 4111 1111\n\ndata:  1111 1111 ok\n\n")));
        r.add(row("NDJSON under x-foo, card split across lines", Expect.MASKED, foo,
                utf8("{\"response\":\"card 4111 1111\"}\n{\"response\":\" 1111 1111 ok\"}\n")));

        // -- G. the negative side: clean answers pass byte for byte ---------------------------------------------------
        r.add(row("clean text under x-foo", Expect.CLEAN, foo, utf8("order 88213 shipped 2026-11-30, build 1.24.7, ts 1732999999123")));
        r.add(row("clean text, no Content-Type", Expect.CLEAN, null, utf8("hello world, v2.3.4 released 2026-12-01")));
        r.add(rowH("clean text, empty Content-Type", Expect.CLEAN, "Content-Type: \r\n", utf8("hello world")));
        r.add(row("clean float32 tensor under model/x-tensor", Expect.CLEAN, "model/x-tensor", floats(16 << 10, 44)));
        r.add(row("clean base64 of text under x-foo", Expect.CLEAN, foo, utf8(b64(lorem(4096)))));
        r.add(row("clean base64 of random bytes under x-foo", Expect.CLEAN, foo, utf8(b64(randomBytes(8192, 45)))));
        r.add(row("clean hex digests under x-foo", Expect.CLEAN, foo,
                utf8("sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 id=" + java.util.UUID.nameUUIDFromBytes(KEY))));
        r.add(row("clean base64 of epoch millis and a version under x-foo", Expect.CLEAN, foo,
                utf8(b64("ts 1732999999123 v 10.2.33.4000 order 4111"))));
        r.add(row("clean UTF-16LE text under x-foo", Expect.CLEAN, foo, utf16le("plain words 2026-11-30 ok ok ok ok")));
        r.add(row("clean CBOR under x-foo", Expect.CLEAN, foo, cborMap(cborText("id"), cborText("order-88213"),
                cborText("n"), cborHead(0, 1732999999L))));
        r.add(row("clean MessagePack under application/msgpack", Expect.CLEAN, "application/msgpack",
                msgMap(msgStr("model"), msgStr("llama-3.1-8b"), msgStr("tokens"), msgBin(randomBytes(200, 46)))));
        r.add(row("clean SSE under x-foo", Expect.CLEAN, foo, utf8(sseChunk("hello") + sseChunk(" world") + "data: [DONE]\n\n")));
        r.add(row("clean 1.5 MiB text under x-foo", Expect.CLEAN, foo, utf8(lorem(3 << 19))));
        r.add(row("clean gRPC under application/grpc", Expect.CLEAN, "application/grpc",
                grpcFrame(pb(1, utf8("the weather is fine today, 21 degrees")))));
        r.add(chunked("clean chunked x-foo", Expect.CLEAN, foo, utf8("a clean answer in pieces, order 88213"), 5, 9, 20));
        holes(r);
        return r.stream();
    }

    /** The holes this review found, each fixed in the commit that added its rows (they failed before it). */
    static void holes(List<Row> r) {
        String foo = "application/x-foo";
        byte[] b64card = utf8("blob=" + b64("card " + CARD + " thanks") + ";");
        // 1. a label that is not one well-formed type was taken by its first characters: text/ (no subtype) and a list
        // of types (a fetch client takes the last one: application/x-foo) passed as text/plain or image/png did
        for (String ct : new String[] {"text/", "text/plain, application/x-foo", "text/plain,application/x-foo",
                "image/png, application/x-foo", "text /plain", "text/plain application/x-foo",
                "application/json, application/x-foo"}) {
            r.add(row("base64 card under [" + ct + "]", Expect.REFUSE, ct, b64card));
        }
        r.add(rowH("base64 card, one Content-Type listing two: text/plain, application/x-foo", Expect.REFUSE,
                "Content-Type: text/plain, application/x-foo\r\n", b64card));
        r.add(row("clean text under [text/plain, application/x-foo]", Expect.CLEAN, "text/plain, application/x-foo",
                utf8("order 88213 shipped 2026-11-30")));
        // 2. binary of an unknown type was masked as text: the text detectors read emails and IPv6 addresses in random
        // bytes (147 of 200 random 64 KiB bodies were rewritten, silently corrupted)
        r.add(row("clean 64 KiB random bytes under x-foo", Expect.CLEAN, foo, randomBytes(64 << 10, 42)));
        r.add(row("clean 64 KiB random bytes, no Content-Type", Expect.CLEAN, null, randomBytes(64 << 10, 43)));
        r.add(row("clean 256 KiB random bytes under model/x-weights", Expect.CLEAN, "model/x-weights",
                randomBytes(256 << 10, 47)));
        r.add(row("random bytes with a card whose groups are split by stray bytes", Expect.REFUSE, foo,
                concat(randomBytes(4096, 48), utf8("card 4111 1111"), new byte[] {(byte) 0xFF},
                        utf8(" 1111"), new byte[] {0x01}, utf8(" 1111 end"), randomBytes(4096, 49))));
        r.add(row("random bytes with an email in a long run", Expect.REFUSE, foo,
                concat(randomBytes(4096, 50), utf8("contact: " + EMAIL + " today"), randomBytes(4096, 51))));
        r.add(block("random bytes with a blocked SSN after a card", Expect.BLOCK, foo,
                concat(randomBytes(2048, 52), utf8("card " + CARD), randomBytes(64, 53), utf8("SSN " + SSN),
                        randomBytes(2048, 54))));
        // 2b. ... but Latin-1 text with no charset is text, however many accents it has: as binary, an email in it was
        // cut into short runs at each accent and went out
        r.add(row("Latin-1 text dense with accents, email, no charset", Expect.MASKED, foo,
                "Grüße aus Köln: Öl, Äpfel, Übergrößen, süße Brötchen; schreib an jürgen@köln.de".getBytes(
                        StandardCharsets.ISO_8859_1)));
        r.add(row("Latin-1 text dense with accents, short email, no Content-Type", Expect.MASKED, null,
                "Ça sûr été: élève à Noël, jo@x.io".getBytes(StandardCharsets.ISO_8859_1)));
        // 3. a body compressed in a coding its headers do not name was refused with nothing in the masking report
        for (String[] e : new String[][] {{"card", CARD}, {"ssn", "SSN " + SSN}, {"email", EMAIL}}) {
            r.add(row(e[0] + " gzip body, no coding named", Expect.REFUSE, foo, gzip(utf8("note: " + e[1] + " end"))));
        }
        r.add(row("card: zlib body", Expect.REFUSE, foo, zlib(utf8("card " + CARD), false)));
        // 4. a +cbor type (RFC 8949's suffix) was masked as text: the CBOR string's length no longer matched
        r.add(row("card: CBOR under application/vnd.foo+cbor", Expect.REFUSE, "application/vnd.foo+cbor",
                cborMap(cborText("n"), cborText("card " + CARD))));
        r.add(row("clean CBOR under application/vnd.foo+cbor", Expect.CLEAN, "application/vnd.foo+cbor",
                cborMap(cborText("n"), cborText("the weather is fine"))));
    }

    static String sseChunk(String text) {
        return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                + com.fasterxml.jackson.databind.node.TextNode.valueOf(text) + "}}]}\n\n";
    }

    // ---- the gateway's path ----------------------------------------------------------------------------------------

    record Delivered(int status, Map<String, String> headers, byte[] body, GatewayException refused,
                     MaskingOutcome outcome) {
    }

    static List<byte[]> answer(Row row) {
        List<byte[]> pieces = new ArrayList<>();
        if (row.chunks() == null) {
            pieces.add(concat(("HTTP/1.1 200 OK\r\n" + row.headers() + "Content-Length: " + row.body().length + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1), row.body()));
            return pieces;
        }
        pieces.add(("HTTP/1.1 200 OK\r\n" + row.headers() + "Transfer-Encoding: chunked\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        int at = 0;
        List<Integer> cuts = new ArrayList<>();
        for (int c : row.chunks()) {
            cuts.add(c);
        }
        cuts.add(row.body().length);
        for (int c : cuts) {
            int end = Math.min(c, row.body().length);
            if (end <= at) {
                continue;
            }
            pieces.add(concat((Integer.toHexString(end - at) + "\r\n").getBytes(StandardCharsets.ISO_8859_1),
                    java.util.Arrays.copyOfRange(row.body(), at, end), utf8("\r\n")));
            at = end;
        }
        pieces.add(utf8("0\r\n\r\n"));
        return pieces;
    }

    static Delivered call(Row row, UpstreamClient.Kind kind, boolean held) {
        String name = Integer.toHexString(row.name().hashCode()) + kind + held;
        ANSWERS.put(name, answer(row));
        Upstream up = new Upstream("llm", "/llm", URI.create("http://127.0.0.1:" + upstream.port()),
                UpstreamCredential.NONE, Duration.ofSeconds(2), Duration.ofSeconds(20), Duration.ofSeconds(20));
        UpstreamTarget target = new UpstreamTarget(up, "/row/" + name,
                URI.create("http://127.0.0.1:" + upstream.port() + "/row/" + name));
        Exchange ex = new DefaultExchange(camel);
        ex.setProperty(Exchanges.REQUEST_ID, "r-" + name);
        ex.setProperty(Exchanges.TARGET, target);
        try {
            UpstreamResponse answer = CLIENTS.get(kind).call(target, "POST", new ForwardHeaders(List.of(
                    Map.entry("Content-Type", "application/json"))), utf8("{\"model\":\"m\"}"), held);
            assertThat(answer.streaming()).as(row + ": an answer of this label is read whole").isFalse();
            ex.setProperty(Exchanges.UPSTREAM_RESPONSE, answer);
            new MaskResponseProcessor(row.service()).process(ex);
            new RenderUpstreamResponseProcessor(scheduler).process(ex);
        } catch (GatewayException e) {
            return new Delivered(e.status(), Map.of(), null, e, ex.getProperty(Exchanges.MASKING, MaskingOutcome.class));
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (Map.Entry<String, String> h : ResponseHeaders.of(ex).entries()) {
            if (ResponseHeaders.allowed(h.getKey())) {
                headers.merge(h.getKey().toLowerCase(Locale.ROOT), h.getValue(), (a, b) -> a + " | " + b);
            }
        }
        return new Delivered(ex.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class), headers,
                ex.getMessage().getBody(byte[].class), null, ex.getProperty(Exchanges.MASKING, MaskingOutcome.class));
    }

    // ---- hostile readers ---------------------------------------------------------------------------------------

    static final Pattern B64_RUN = Pattern.compile("[A-Za-z0-9+/_\\-=\\r\\n]{12,}");
    static final Pattern HEX_RUN = Pattern.compile("(?i)(?:[0-9a-f]{2}){8,}");

    static List<byte[]> decodings(byte[] b) {
        List<byte[]> out = new ArrayList<>();
        byte[] z = inflate(b);
        if (z != null) {
            out.add(z);
        }
        String latin = new String(b, StandardCharsets.ISO_8859_1);
        Matcher m = B64_RUN.matcher(latin);
        while (m.find()) {
            base64(m.group().replaceAll("[\\r\\n=]", ""), out);
        }
        String joined = latin.replaceAll("[ \\t\\r\\n]+", "");
        if (joined.length() != latin.length()) {
            Matcher j = B64_RUN.matcher(joined);
            while (j.find()) {
                base64(j.group().replace("=", ""), out);
            }
        }
        Matcher h = HEX_RUN.matcher(latin);
        while (h.find()) {
            out.add(HexFormat.of().parseHex(h.group().toLowerCase(Locale.ROOT)));
        }
        if (latin.indexOf('%') >= 0) {
            out.add(unescape(latin, Pattern.compile("%([0-9A-Fa-f]{2})")));
        }
        if (latin.indexOf('=') >= 0) {
            out.add(unescape(latin.replace("=\r\n", "").replace("=\n", ""), Pattern.compile("=([0-9A-Fa-f]{2})")));
        }
        String u8 = new String(b, StandardCharsets.UTF_8);
        if (u8.contains("&#") || u8.contains("\\u")) {
            String t = Pattern.compile("&#(\\d+);").matcher(u8).replaceAll(x -> new String(Character.toChars(
                    Integer.parseInt(x.group(1)))).replace("\\", "\\\\").replace("$", "\\$"));
            t = Pattern.compile("\\\\u([0-9a-fA-F]{4})").matcher(t).replaceAll(x -> String.valueOf(
                    (char) Integer.parseInt(x.group(1), 16)).replace("\\", "\\\\").replace("$", "\\$"));
            out.add(utf8(t));
        }
        return out;
    }

    /** A base64 run decoded at its four alignments, in both alphabets. */
    static void base64(String run, List<byte[]> out) {
        for (int skip = 0; skip < 4 && skip < run.length(); skip++) {
            String s = run.substring(skip);
            s = s.substring(0, s.length() - s.length() % 4);
            for (Base64.Decoder d : new Base64.Decoder[] {Base64.getDecoder(), Base64.getUrlDecoder()}) {
                try {
                    out.add(d.decode(s));
                } catch (IllegalArgumentException notThis) {
                    // another alphabet
                }
            }
        }
    }

    static byte[] unescape(String s, Pattern p) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        Matcher m = p.matcher(s);
        int at = 0;
        while (m.find()) {
            o.writeBytes(s.substring(at, m.start()).getBytes(StandardCharsets.ISO_8859_1));
            o.write(Integer.parseInt(m.group(1), 16));
            at = m.end();
        }
        o.writeBytes(s.substring(at).getBytes(StandardCharsets.ISO_8859_1));
        return o.toByteArray();
    }

    static byte[] inflate(byte[] b) {
        if (b.length < 2) {
            return null;
        }
        try (var in = new java.util.zip.GZIPInputStream(new ByteArrayInputStream(b))) {
            return in.readNBytes(64 << 20);
        } catch (Exception notGzip) {
            for (boolean raw : new boolean[] {false, true}) {
                try (var in = new java.util.zip.InflaterInputStream(new ByteArrayInputStream(b),
                        new java.util.zip.Inflater(raw))) {
                    byte[] out = in.readNBytes(64 << 20);
                    if (out.length > 0) {
                        return out;
                    }
                } catch (Exception notDeflate) {
                    // not this one
                }
            }
            return null;
        }
    }

    static List<String> texts(byte[] b) {
        List<String> t = new ArrayList<>();
        t.add(new String(b, StandardCharsets.ISO_8859_1));
        t.add(new String(b, StandardCharsets.UTF_8));
        for (Charset cs : new Charset[] {StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE}) {
            t.add(new String(b, cs));
            if (b.length > 1) {
                t.add(new String(b, 1, b.length - 1, cs));
            }
        }
        return t;
    }

    /** Which needle a reader finds in a text, or null. */
    static String found(String text) {
        String nfkc = java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFKC);
        String digits = nfkc.replaceAll("[^0-9]", "");
        String alnum = nfkc.replaceAll("[^A-Za-z0-9]", "");
        for (String d : new String[] {"4111111111111111", "378282246310005", "536904399", "14155552671"}) {
            if (digits.contains(d)) {
                return d;
            }
        }
        if (alnum.toUpperCase(Locale.ROOT).contains("GB82WEST12345698765432")) {
            return "IBAN";
        }
        if (nfkc.contains("jane.doe+tag@") || alnum.contains("janedoetagmaileu")) {
            return "EMAIL";
        }
        if (alnum.contains("A1b2C3d4E5f6G7h8I9j0K1l2")) {
            return "SECRET";
        }
        return null;
    }

    /** The first reading (how it was read) in which a needle is found, or null. */
    static String leak(byte[] body, int depth, String how) {
        if (body.length > (8 << 20)) {
            return null;
        }
        for (String t : texts(body)) {
            String f = found(t);
            if (f != null) {
                return how + " -> " + f;
            }
        }
        if (depth == 0) {
            return null;
        }
        int i = 0;
        for (byte[] d : decodings(body)) {
            String l = leak(d, depth - 1, how + "/dec" + i++);
            if (l != null) {
                return l;
            }
        }
        return null;
    }

    static Stream<Arguments> cases() {
        return rows().flatMap(r -> Stream.of(UpstreamClient.Kind.values()).flatMap(k -> Stream.of(
                Arguments.of(r, k, "live"), Arguments.of(r, k, "held"))));
    }

    @ParameterizedTest(name = "[{1} {2}] {0}")
    @MethodSource("cases")
    void should_mask_refuse_or_pass_an_unknown_or_binary_answer_as_the_spec_says(Row row, UpstreamClient.Kind kind,
                                                                                 String path) {
        Delivered d = call(row, kind, path.equals("held"));
        String got = d.refused() != null ? d.refused().status() + " " + d.refused().code()
                : d.status() + " " + d.headers() + " " + d.body().length + " bytes";
        switch (row.expect()) {
            case REFUSE -> {
                assertThat(d.refused()).as(row + ": refused, got " + got).isNotNull();
                assertThat(d.refused().status()).as(row + ": " + got).isEqualTo(502);
                assertThat(d.refused().code()).isEqualTo("masking_failed");
                assertThat(d.outcome()).as(row + ": the masking report is kept for the evidence").isNotNull();
                assertThat(d.outcome().redactions()).as(row + ": the refusal is in the masking report")
                        .extracting(Redaction::action).contains("refuse");
            }
            case BLOCK -> {
                assertThat(d.refused()).as(row + ": blocked, got " + got).isNotNull();
                assertThat(d.refused().status()).as(row + ": " + got).isEqualTo(403);
                assertThat(d.refused().code()).isEqualTo("response_blocked");
            }
            case MASKED -> {
                assertThat(d.refused()).as(row + ": delivered masked, got " + got).isNull();
                assertThat(d.status()).isEqualTo(200);
                assertThat(d.body()).as(row + ": changed").isNotEqualTo(row.body());
                assertThat(leak(d.body(), 3, "delivered")).as(row + ": no reader finds the entity").isNull();
            }
            case CLEAN -> {
                assertThat(d.refused()).as(row + ": delivered, got " + got).isNull();
                assertThat(d.status()).isEqualTo(200);
                assertThat(d.body()).as(row + ": byte for byte").isEqualTo(row.body());
            }
            case LIMIT -> {
                assertThat(d.refused()).as(row + ": a stated limit: delivered as it is, got " + got).isNull();
                assertThat(d.body()).as(row + ": a stated limit: unchanged").isEqualTo(row.body());
            }
            case AS_TEXT -> {
                assertThat(d.refused()).as(row + ": delivered as text, got " + got).isNull();
                assertThat(d.headers().get("content-type")).as(row + ": the caller is told only the type it was masked as")
                        .isEqualToIgnoringCase("text/plain");
                assertThat(d.body()).isEqualTo(row.body());
            }
            case SAFE -> {
                if (d.refused() == null) {
                    assertThat(leak(d.body(), 3, "delivered " + d.headers())).as(row + ": no reader finds the entity")
                            .isNull();
                } else {
                    assertThat(d.refused().status()).isIn(403, 502);
                }
            }
        }
        if (d.refused() != null) {
            assertThat(d.refused().getMessage()).as("no value in the error").satisfies(msg -> assertThat(found(msg)).isNull());
        }
        if (d.outcome() != null) {
            assertThat(found(d.outcome().reportJson())).as(row + ": no value in the report").isNull();
        }
    }
}
