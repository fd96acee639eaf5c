package attest.upstream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Encoded answers are decoded before masking, with a bound; what cannot be decoded is refused. */
class ContentCodingsTest {
    static final byte[] TEXT = ("data: {\"choices\":[{\"delta\":{\"content\":\"Grüße card 4111 1111 1111 1111 🙂\"}}]}"
            + "\n\n").repeat(40).getBytes(StandardCharsets.UTF_8);

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(out)) {
            g.write(b);
        }
        return out.toByteArray();
    }

    static byte[] deflate(byte[] b, boolean raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (DeflaterOutputStream d = new DeflaterOutputStream(out, new Deflater(Deflater.DEFAULT_COMPRESSION, raw))) {
            d.write(b);
        }
        return out.toByteArray();
    }

    static byte[] streamed(ContentCodings.Decoder d, byte[] encoded, int... cuts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int from = 0;
        for (int cut : cuts) {
            out.writeBytes(d.push(Arrays.copyOfRange(encoded, from, cut)));
            from = cut;
        }
        out.writeBytes(d.push(Arrays.copyOfRange(encoded, from, encoded.length)));
        out.writeBytes(d.finish());
        return out.toByteArray();
    }

    @Test
    void should_decode_buffered_gzip_deflate_and_zstd() throws IOException {
        assertThat(ContentCodings.decode(gzip(TEXT), "gzip", 1 << 20)).isEqualTo(TEXT);
        assertThat(ContentCodings.decode(gzip(TEXT), "X-GZIP", 1 << 20)).isEqualTo(TEXT);
        assertThat(ContentCodings.decode(deflate(TEXT, false), "deflate", 1 << 20)).isEqualTo(TEXT);
        assertThat(ContentCodings.decode(deflate(TEXT, true), "deflate", 1 << 20)).isEqualTo(TEXT);
        assertThat(ContentCodings.decode(com.github.luben.zstd.Zstd.compress(TEXT), "zstd", 1 << 20)).isEqualTo(TEXT);
        // codings applied in order are undone in reverse
        assertThat(ContentCodings.decode(gzip(deflate(TEXT, false)), "deflate, gzip", 1 << 20)).isEqualTo(TEXT);
        assertThat(ContentCodings.decode(TEXT, "identity", 1 << 20)).isEqualTo(TEXT);
    }

    @Test
    void should_decode_a_gzip_stream_cut_at_every_byte() throws IOException {
        byte[] encoded = gzip(TEXT);
        for (int cut = 1; cut < encoded.length; cut++) {
            assertThat(streamed(ContentCodings.streaming("gzip", 1 << 20), encoded, cut)).as("cut %d", cut)
                    .isEqualTo(TEXT);
        }
        byte[] raw = deflate(TEXT, true);
        for (int cut = 1; cut < raw.length; cut += 7) {
            assertThat(streamed(ContentCodings.streaming("deflate", 1 << 20), raw, cut)).isEqualTo(TEXT);
        }
    }

    @Test
    void should_decode_a_gzip_stream_of_several_members_with_a_file_name() throws IOException {
        ByteArrayOutputStream both = new ByteArrayOutputStream();
        both.writeBytes(gzip(Arrays.copyOf(TEXT, 100)));
        // a member with FNAME set (flag 8): header, name, zero, then the deflate data of a plain member
        byte[] second = gzip(Arrays.copyOfRange(TEXT, 100, TEXT.length));
        second[3] = 8;
        both.write(second, 0, 10);
        both.writeBytes("answer.txt\0".getBytes(StandardCharsets.US_ASCII));
        both.write(second, 10, second.length - 10);
        byte[] encoded = both.toByteArray();
        for (int cut = 1; cut < encoded.length; cut += 3) {
            assertThat(streamed(ContentCodings.streaming("gzip", 1 << 20), encoded, cut)).isEqualTo(TEXT);
        }
    }

    @Test
    void should_refuse_a_decompression_bomb_buffered_and_streamed() throws IOException {
        byte[] bomb = gzip(new byte[8 * 1024 * 1024]); // 8 MiB of zeros in a few KB
        assertThat(bomb.length).isLessThan(64 * 1024);
        assertThatThrownBy(() -> ContentCodings.decode(bomb, "gzip", 1 << 20))
                .isInstanceOf(ContentCodings.Refused.class).hasMessageContaining("more than");
        assertThatThrownBy(() -> streamed(ContentCodings.streaming("gzip", 1 << 20), bomb, 100))
                .isInstanceOf(ContentCodings.Refused.class);
        byte[] zbomb = com.github.luben.zstd.Zstd.compress(new byte[8 * 1024 * 1024]);
        assertThatThrownBy(() -> ContentCodings.decode(zbomb, "zstd", 1 << 20))
                .isInstanceOf(ContentCodings.Refused.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"br", "compress", "x-unknown", "gzip, br"})
    void should_refuse_what_it_cannot_decode(String coding) throws IOException {
        assertThatThrownBy(() -> ContentCodings.decode(gzip(TEXT), coding, 1 << 20))
                .isInstanceOf(ContentCodings.Refused.class);
        assertThatThrownBy(() -> ContentCodings.streaming(coding, 1 << 20)).isInstanceOf(ContentCodings.Refused.class);
    }

    @Test
    void should_refuse_corrupt_and_truncated_answers() throws IOException {
        byte[] encoded = gzip(TEXT);
        assertThatThrownBy(() -> ContentCodings.decode(TEXT, "gzip", 1 << 20)).isInstanceOf(ContentCodings.Refused.class);
        assertThatThrownBy(() -> ContentCodings.decode(Arrays.copyOf(encoded, encoded.length / 2), "gzip", 1 << 20))
                .isInstanceOf(ContentCodings.Refused.class);
        assertThatThrownBy(() -> streamed(ContentCodings.streaming("gzip", 1 << 20),
                Arrays.copyOf(encoded, encoded.length / 2))).isInstanceOf(ContentCodings.Refused.class);
        assertThatThrownBy(() -> streamed(ContentCodings.streaming("gzip", 1 << 20), TEXT))
                .isInstanceOf(ContentCodings.Refused.class);
    }
}
