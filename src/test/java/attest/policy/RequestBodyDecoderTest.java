package attest.policy;

import attest.http.GatewayException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Request content codings: what is decoded, what is refused, and bombs stopped at the decoded limit. */
class RequestBodyDecoderTest {
    static final byte[] TEXT = "{\"model\":\"demo\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
    final RequestBodyDecoder decoder = new RequestBodyDecoder(1000);

    static byte[] gzip(byte[] in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(in);
        }
        return out.toByteArray();
    }

    static byte[] deflate(byte[] in, boolean raw) {
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, raw);
        d.setInput(in);
        d.finish();
        byte[] buf = new byte[in.length + 1024];
        int n = d.deflate(buf);
        d.end();
        return Arrays.copyOf(buf, n);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static int status(Runnable r) {
        try {
            r.run();
        } catch (GatewayException e) {
            return e.status();
        }
        return 0;
    }

    @Test
    void should_decode_gzip_deflate_and_their_variants() throws IOException {
        assertThat(decoder.decode(gzip(TEXT), List.of("gzip"))).isEqualTo(TEXT);
        assertThat(decoder.decode(gzip(TEXT), List.of("x-gzip"))).isEqualTo(TEXT);
        assertThat(decoder.decode(deflate(TEXT, false), List.of("deflate"))).isEqualTo(TEXT);
        assertThat(decoder.decode(deflate(TEXT, true), List.of("deflate"))).isEqualTo(TEXT);
        assertThat(decoder.decode(gzip(gzip(TEXT)), RequestBodyDecoder.codings(List.of("gzip, gzip")))).isEqualTo(TEXT);
        assertThat(decoder.decode(gzip(deflate(TEXT, false)), RequestBodyDecoder.codings(List.of("deflate", "GZIP"))))
                .isEqualTo(TEXT);
        byte[] half = Arrays.copyOf(TEXT, 10);
        byte[] rest = Arrays.copyOfRange(TEXT, 10, TEXT.length);
        assertThat(decoder.decode(concat(gzip(half), gzip(rest)), List.of("gzip"))).isEqualTo(TEXT);
        assertThat(decoder.decode(TEXT, RequestBodyDecoder.codings(List.of("identity")))).isEqualTo(TEXT);
        assertThat(decoder.decode(new byte[0], List.of("gzip"))).isEmpty();
    }

    @Test
    void should_stop_a_bomb_at_the_decoded_limit() throws IOException {
        byte[] exactly = new byte[1000];
        assertThat(decoder.decode(gzip(exactly), List.of("gzip"))).hasSize(1000);
        byte[] over = new byte[1001];
        assertThat(status(() -> decoder.decode(uncheckedGzip(over), List.of("gzip")))).isEqualTo(413);
        // 100 MB of zeros: about 100 KB on the wire, refused after 1000 decoded bytes
        byte[] bomb = deflate(new byte[20_000_000], false);
        assertThat(status(() -> decoder.decode(bomb, List.of("deflate")))).isEqualTo(413);
        // a nested bomb: each layer small, the inner one huge
        byte[] nested = uncheckedGzip(uncheckedGzip(new byte[5_000_000]));
        assertThat(nested.length).isLessThan(1000);
        assertThat(status(() -> decoder.decode(nested, List.of("gzip", "gzip")))).isEqualTo(413);
        // concatenated members count together
        byte[] members = concat(uncheckedGzip(new byte[600]), uncheckedGzip(new byte[600]));
        assertThat(status(() -> decoder.decode(members, List.of("gzip")))).isEqualTo(413);
    }

    @ParameterizedTest
    @ValueSource(strings = {"br", "zstd", "compress", "x-compress", "pack200-gzip", "aes128gcm", "gzip;q=1", "\u00e7"})
    void should_refuse_codings_it_does_not_decode_with_415(String coding) {
        assertThat(status(() -> decoder.decode(TEXT, RequestBodyDecoder.codings(List.of(coding))))).isEqualTo(415);
    }

    @Test
    void should_refuse_more_than_two_codings_and_corrupt_bodies() throws IOException {
        assertThat(status(() -> decoder.decode(TEXT, List.of("gzip", "gzip", "gzip")))).isEqualTo(415);
        byte[] z = gzip(TEXT);
        assertThat(status(() -> decoder.decode(TEXT, List.of("gzip")))).isEqualTo(400);
        assertThat(status(() -> decoder.decode(TEXT, List.of("deflate")))).isEqualTo(400);
        assertThat(status(() -> decoder.decode(Arrays.copyOf(z, z.length - 4), List.of("gzip")))).isEqualTo(400);
        byte[] badCrc = z.clone();
        badCrc[badCrc.length - 6] ^= 1;
        assertThat(status(() -> decoder.decode(badCrc, List.of("gzip")))).isEqualTo(400);
        assertThat(status(() -> decoder.decode(concat(z, "junk".getBytes()), List.of("gzip")))).isEqualTo(400);
        byte[] d = deflate(TEXT, false);
        assertThat(status(() -> decoder.decode(concat(d, "junk".getBytes()), List.of("deflate")))).isEqualTo(400);
    }

    static byte[] uncheckedGzip(byte[] in) {
        try {
            return gzip(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
