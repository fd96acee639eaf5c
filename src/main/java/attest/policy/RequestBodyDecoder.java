package attest.policy;

import attest.http.GatewayException;
import attest.evidence.Outcome;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decodes a request body's {@code Content-Encoding} so that policy, risk rules and request masking read what
 * the upstream would read, and the decoded body is what is forwarded. {@code gzip} ({@code x-gzip}) and
 * {@code deflate} (zlib, or raw deflate as some clients send it) are decoded, in the reverse order of the
 * header, at most {@value #MAX_CODINGS} of them; {@code identity} is nothing. Every other coding ({@code br},
 * {@code zstd}, {@code compress}, unknown) is refused with 415: no brotli decoder is on the classpath, and zstd
 * is there only as Kafka's runtime dependency, whose default window lets one request claim 128 MiB.
 * <p>
 * Inflation is bounded: it stops, with 413, as soon as the decoded size passes the body limit, counting what
 * was decoded rather than what was sent, so a small bomb costs no more than the limit. A body that does not
 * decode is refused with 400.
 */
public final class RequestBodyDecoder {
    public static final int MAX_CODINGS = 2;
    private static final int CHUNK = 16 * 1024;

    private final long maxDecodedBytes;

    public RequestBodyDecoder(long maxDecodedBytes) {
        this.maxDecodedBytes = maxDecodedBytes;
    }

    /** The codings named by the Content-Encoding header values, in order, without {@code identity}. */
    public static List<String> codings(List<String> headerValues) {
        List<String> out = new ArrayList<>();
        for (String v : headerValues) {
            for (String token : v.split(",")) {
                String t = token.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty() && !t.equals("identity")) {
                    out.add(t);
                }
            }
        }
        return out;
    }

    /** The body with every coding undone, or the body itself when there is none. */
    public byte[] decode(byte[] body, List<String> codings) {
        if (codings.isEmpty()) {
            return body;
        }
        if (codings.size() > MAX_CODINGS) {
            throw unsupported("more than " + MAX_CODINGS + " content codings");
        }
        for (String c : codings) {
            if (!c.equals("gzip") && !c.equals("x-gzip") && !c.equals("deflate")) {
                throw unsupported("content coding '" + printable(c) + "' is not supported (gzip, deflate)");
            }
        }
        if (body.length == 0) {
            return body;
        }
        byte[] out = body;
        for (int i = codings.size() - 1; i >= 0; i--) {
            out = codings.get(i).equals("deflate") ? inflateZlibOrRaw(out) : gunzip(out);
        }
        return out;
    }

    private byte[] inflateZlibOrRaw(byte[] in) {
        try {
            return inflate(in, false);
        } catch (DataFormatException e) {
            try {
                return inflate(in, true);
            } catch (DataFormatException e2) {
                throw GatewayException.badRequest("request body is not valid deflate data");
            }
        }
    }

    private byte[] inflate(byte[] in, boolean raw) throws DataFormatException {
        Inflater inflater = new Inflater(raw);
        try {
            inflater.setInput(in);
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(in.length * 4 + 64, CHUNK));
            byte[] buf = new byte[CHUNK];
            while (!inflater.finished()) {
                int n = inflater.inflate(buf);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new DataFormatException("truncated");
                }
                count(out, buf, n);
            }
            if (inflater.getRemaining() > 0) {
                throw new DataFormatException("trailing data");
            }
            return out.toByteArray();
        } finally {
            inflater.end();
        }
    }

    /** RFC 1952: one or more members, each checked against its CRC-32 and size. */
    private byte[] gunzip(byte[] in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(in.length * 4 + 64, CHUNK));
        int pos = 0;
        do {
            pos = member(in, pos, out);
        } while (pos < in.length);
        return out.toByteArray();
    }

    private int member(byte[] in, int pos, ByteArrayOutputStream out) {
        if (in.length - pos < 18 || (in[pos] & 0xff) != 0x1f || (in[pos + 1] & 0xff) != 0x8b || in[pos + 2] != 8) {
            throw GatewayException.badRequest("request body is not valid gzip data");
        }
        int flags = in[pos + 3] & 0xff;
        int p = pos + 10;
        try {
            if ((flags & 4) != 0) {
                p += 2 + ((in[p] & 0xff) | (in[p + 1] & 0xff) << 8);
            }
            if ((flags & 8) != 0) {
                while (in[p++] != 0) { }
            }
            if ((flags & 16) != 0) {
                while (in[p++] != 0) { }
            }
            if ((flags & 2) != 0) {
                p += 2;
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            throw GatewayException.badRequest("request body is not valid gzip data");
        }
        if (p > in.length) {
            throw GatewayException.badRequest("request body is not valid gzip data");
        }
        Inflater inflater = new Inflater(true);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        int start = out.size();
        try {
            inflater.setInput(in, p, in.length - p);
            byte[] buf = new byte[CHUNK];
            while (!inflater.finished()) {
                int n = inflater.inflate(buf);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw GatewayException.badRequest("request body is not valid gzip data");
                }
                crc.update(buf, 0, n);
                count(out, buf, n);
            }
            int end = in.length - inflater.getRemaining();
            if (in.length - end < 8) {
                throw GatewayException.badRequest("request body is not valid gzip data");
            }
            long expectCrc = le32(in, end);
            long expectSize = le32(in, end + 4);
            if (expectCrc != crc.getValue() || expectSize != ((out.size() - start) & 0xffffffffL)) {
                throw GatewayException.badRequest("request body is not valid gzip data");
            }
            return end + 8;
        } catch (DataFormatException e) {
            throw GatewayException.badRequest("request body is not valid gzip data");
        } finally {
            inflater.end();
        }
    }

    private void count(ByteArrayOutputStream out, byte[] buf, int n) {
        if (out.size() + (long) n > maxDecodedBytes) {
            throw GatewayException.tooLarge("decoded request body exceeds " + maxDecodedBytes + " bytes");
        }
        out.write(buf, 0, n);
    }

    private static long le32(byte[] b, int i) {
        return (b[i] & 0xffL) | (b[i + 1] & 0xffL) << 8 | (b[i + 2] & 0xffL) << 16 | (b[i + 3] & 0xffL) << 24;
    }

    private static String printable(String s) {
        String t = s.length() > 32 ? s.substring(0, 32) : s;
        return t.replaceAll("[^a-z0-9._+-]", "?");
    }

    private static GatewayException unsupported(String message) {
        return new GatewayException(415, "unsupported_media_type", "request body: " + message, Outcome.DENIED);
    }
}
