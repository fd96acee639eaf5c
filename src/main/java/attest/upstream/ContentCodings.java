package attest.upstream;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.zip.DataFormatException;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;

/**
 * Undoes an upstream's {@code Content-Encoding}, so that what is masked is what the caller would read. The
 * gateway asks every upstream for {@code identity}; an upstream that encodes anyway is decoded here:
 * {@code gzip} / {@code x-gzip} and {@code deflate} (zlib or raw), buffered or streamed, and {@code zstd}
 * for buffered answers (zstd-jni). Brotli ({@code br}) is refused: no decoder is available from Maven
 * Central for this build, and an answer that cannot be decoded cannot be masked. Every decoder is bounded:
 * past {@code maxBytes} of decoded output the answer is refused (a decompression bomb never fills memory).
 */
public final class ContentCodings {
    /** An answer that cannot be decoded (unknown or unsupported coding, corrupt data, over the bound). */
    public static final class Refused extends RuntimeException {
        public Refused(String message) {
            super(message, null, false, false);
        }
    }

    /** Decodes a streamed answer piece by piece. */
    public interface Decoder {
        byte[] push(byte[] encoded);

        /** The end of the stream: refuses a truncated encoding. */
        byte[] finish();
    }

    private ContentCodings() {
    }

    /** The codings applied, in the order they were applied, without {@code identity}. */
    static List<String> codings(String header) {
        List<String> out = new ArrayList<>();
        if (header == null) {
            return out;
        }
        for (String c : header.split(",")) {
            String t = c.trim().toLowerCase(Locale.ROOT);
            if (!t.isEmpty() && !t.equals("identity")) {
                out.add(t);
            }
        }
        return out;
    }

    /** Whether the answer needs decoding at all. */
    public static boolean encoded(String header) {
        return !codings(header).isEmpty();
    }

    /** Decodes a buffered answer (codings undone in reverse order). */
    public static byte[] decode(byte[] body, String header, long maxBytes) {
        List<String> codings = codings(header);
        Collections.reverse(codings);
        byte[] b = body;
        for (String c : codings) {
            b = switch (c) {
                case "gzip", "x-gzip" -> bounded(gzipStream(b), maxBytes);
                case "deflate" -> inflate(b, maxBytes);
                case "zstd" -> bounded(zstdStream(b), maxBytes);
                case "br" -> throw new Refused("the upstream answered with br (Brotli), which the gateway cannot "
                        + "decode");
                default -> throw new Refused("the upstream answered with an unknown content coding");
            };
        }
        return b;
    }

    /** A decoder for a streamed answer, or null when it is not encoded. */
    public static Decoder streaming(String header, long maxBytes) {
        List<String> codings = codings(header);
        if (codings.isEmpty()) {
            return null;
        }
        if (codings.size() > 1) {
            throw new Refused("the upstream streamed with several content codings");
        }
        return switch (codings.get(0)) {
            case "gzip", "x-gzip" -> new InflatingDecoder(true, maxBytes);
            case "deflate" -> new InflatingDecoder(false, maxBytes);
            case "br" -> throw new Refused("the upstream answered with br (Brotli), which the gateway cannot decode");
            case "zstd" -> throw new Refused("the upstream streamed with zstd, which the gateway decodes only for "
                    + "buffered answers");
            default -> throw new Refused("the upstream answered with an unknown content coding");
        };
    }

    private static InputStream gzipStream(byte[] b) {
        try {
            return new GZIPInputStream(new ByteArrayInputStream(b));
        } catch (IOException e) {
            throw new Refused("the upstream's gzip answer is corrupt");
        }
    }

    private static InputStream zstdStream(byte[] b) {
        try {
            return new com.github.luben.zstd.ZstdInputStream(new ByteArrayInputStream(b));
        } catch (IOException | RuntimeException | LinkageError e) {
            throw new Refused("the upstream's zstd answer cannot be decoded");
        }
    }

    /** HTTP's deflate is zlib; some servers send raw deflate: both are accepted. */
    private static byte[] inflate(byte[] b, long maxBytes) {
        boolean zlib = b.length >= 2 && (b[0] & 0x0f) == 8 && (((b[0] & 0xff) << 8) | (b[1] & 0xff)) % 31 == 0;
        return bounded(new InflaterInputStream(new ByteArrayInputStream(b), new Inflater(!zlib)), maxBytes);
    }

    private static byte[] bounded(InputStream in, long maxBytes) {
        try (in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                if (out.size() + (long) n > maxBytes) {
                    throw new Refused("the upstream's encoded answer decodes to more than " + maxBytes + " bytes");
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (IOException | RuntimeException e) {
            if (e instanceof Refused r) {
                throw r;
            }
            throw new Refused("the upstream's encoded answer is corrupt");
        }
    }

    /** gzip (RFC 1952, members one after another) or deflate (zlib or raw), decoded as bytes arrive. */
    static final class InflatingDecoder implements Decoder {
        private final boolean gzip;
        private final long maxBytes;
        private final ByteArrayOutputStream header = new ByteArrayOutputStream();
        private Inflater inflater;
        private int trailerLeft;
        private long total;
        private boolean started;

        InflatingDecoder(boolean gzip, long maxBytes) {
            this.gzip = gzip;
            this.maxBytes = maxBytes;
        }

        @Override
        public byte[] push(byte[] encoded) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int at = 0;
            while (at < encoded.length) {
                if (trailerLeft > 0) {
                    int n = Math.min(trailerLeft, encoded.length - at);
                    trailerLeft -= n;
                    at += n;
                    continue;
                }
                if (inflater == null) {
                    // collect the member's header (gzip) or the first two bytes (deflate: zlib or raw?)
                    header.write(encoded[at++]);
                    int headerLength = gzip ? gzipHeaderLength(header.toByteArray()) : deflateStart();
                    if (headerLength < 0) {
                        continue;
                    }
                    byte[] h = header.toByteArray();
                    header.reset();
                    if (gzip) {
                        inflater = new Inflater(true);
                        started = true;
                        if (h.length > headerLength) {
                            inflate(h, headerLength, h.length - headerLength, out);
                        }
                    } else {
                        boolean zlib = (h[0] & 0x0f) == 8 && (((h[0] & 0xff) << 8) | (h[1] & 0xff)) % 31 == 0;
                        inflater = new Inflater(!zlib);
                        started = true;
                        inflate(h, 0, h.length, out);
                    }
                    continue;
                }
                int used = inflate(encoded, at, encoded.length - at, out);
                at += used;
            }
            return out.toByteArray();
        }

        private int deflateStart() {
            return header.size() >= 2 ? 2 : -1;
        }

        /** Feeds the inflater; returns how many input bytes it consumed (the rest follows its end). */
        private int inflate(byte[] in, int off, int len, ByteArrayOutputStream out) {
            inflater.setInput(in, off, len);
            byte[] buf = new byte[8192];
            try {
                while (!inflater.finished()) {
                    int n = inflater.inflate(buf);
                    if (n == 0) {
                        if (inflater.needsInput() || inflater.needsDictionary()) {
                            break;
                        }
                        continue;
                    }
                    total += n;
                    if (total > maxBytes) {
                        throw new Refused("the upstream's encoded stream decodes to more than " + maxBytes + " bytes");
                    }
                    out.write(buf, 0, n);
                }
            } catch (DataFormatException e) {
                throw new Refused("the upstream's encoded stream is corrupt");
            }
            int consumed = len - inflater.getRemaining();
            if (inflater.finished()) {
                inflater.end();
                inflater = null;
                if (gzip) {
                    trailerLeft = 8; // CRC32 and ISIZE; another member may follow
                } else {
                    trailerLeft = Integer.MAX_VALUE; // nothing follows a deflate stream
                }
            }
            return consumed;
        }

        @Override
        public byte[] finish() {
            if (inflater != null || (!started && header.size() > 0) || (gzip && trailerLeft > 0)) {
                throw new Refused("the upstream's encoded stream ended in the middle");
            }
            return new byte[0];
        }

        /** The length of a complete gzip member header in {@code h}, or -1 while it is incomplete. */
        static int gzipHeaderLength(byte[] h) {
            if (h.length >= 1 && (h[0] & 0xff) != 0x1f || h.length >= 2 && (h[1] & 0xff) != 0x8b
                    || h.length >= 3 && h[2] != 8) {
                throw new Refused("the upstream's gzip stream is corrupt");
            }
            if (h.length < 10) {
                return -1;
            }
            int flags = h[3] & 0xff;
            int at = 10;
            if ((flags & 4) != 0) { // FEXTRA
                if (h.length < at + 2) {
                    return -1;
                }
                at += 2 + ((h[at] & 0xff) | (h[at + 1] & 0xff) << 8);
            }
            for (int bit : new int[] {8, 16}) { // FNAME, FCOMMENT: zero-terminated
                if ((flags & bit) != 0) {
                    while (true) {
                        if (at >= h.length) {
                            return -1;
                        }
                        if (h[at++] == 0) {
                            break;
                        }
                    }
                }
            }
            if ((flags & 2) != 0) { // FHCRC
                at += 2;
            }
            return h.length >= at ? at : -1;
        }
    }
}
