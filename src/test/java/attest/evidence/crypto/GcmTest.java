package attest.evidence.crypto;

import org.junit.jupiter.api.Test;

import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * AES-256-GCM sealing with one cipher per thread: nothing of one use may carry over to the next (key, nonce, AAD,
 * a failed tag check), on one thread or across threads.
 */
class GcmTest {
    static SecretKeySpec key(int seed) {
        byte[] k = new byte[32];
        Arrays.fill(k, (byte) seed);
        return new SecretKeySpec(k, "AES");
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void should_open_what_it_sealed_under_interleaved_keys_with_a_new_nonce_each_time() {
        byte[] a1 = MasterKey.Gcm.seal(key(1), bytes("first"), "r1:request");
        byte[] b = MasterKey.Gcm.seal(key(2), bytes("second"), "r2:request");
        byte[] a2 = MasterKey.Gcm.seal(key(1), bytes("first"), "r1:request");
        assertThat(Arrays.copyOf(a1, 12)).isNotEqualTo(Arrays.copyOf(a2, 12));
        assertThat(a1).isNotEqualTo(a2);
        assertThat(MasterKey.Gcm.open(key(1), a1, "r1:request")).isEqualTo(bytes("first"));
        assertThat(MasterKey.Gcm.open(key(2), b, "r2:request")).isEqualTo(bytes("second"));
        assertThat(MasterKey.Gcm.open(key(1), a2, "r1:request")).isEqualTo(bytes("first"));
    }

    @Test
    void should_refuse_a_wrong_key_a_wrong_label_or_a_changed_byte_and_work_on_afterwards() {
        byte[] sealed = MasterKey.Gcm.seal(key(1), bytes("card 4111 1111 1111 1111"), "r1:response");
        assertThatThrownBy(() -> MasterKey.Gcm.open(key(2), sealed, "r1:response"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("4111");
        assertThatThrownBy(() -> MasterKey.Gcm.open(key(1), sealed, "r1:request"))
                .isInstanceOf(IllegalArgumentException.class);
        for (int i : new int[]{0, 11, 12, sealed.length - 1}) {
            byte[] changed = sealed.clone();
            changed[i] ^= 1;
            assertThatThrownBy(() -> MasterKey.Gcm.open(key(1), changed, "r1:response"))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        // the same thread's cipher, after failed tag checks, still seals and opens
        assertThat(MasterKey.Gcm.open(key(1), sealed, "r1:response")).isEqualTo(bytes("card 4111 1111 1111 1111"));
        byte[] empty = MasterKey.Gcm.seal(key(1), new byte[0], "r1:raw");
        assertThat(MasterKey.Gcm.open(key(1), empty, "r1:raw")).isEmpty();
    }

    @Test
    void should_seal_on_one_thread_and_open_on_another_under_concurrency() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<byte[]>> sealed = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int n = i;
                sealed.add(pool.submit(() -> MasterKey.Gcm.seal(key(n % 3), bytes("payload " + n), "r" + n)));
            }
            List<Future<byte[]>> opened = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int n = i;
                byte[] s = sealed.get(i).get(10, TimeUnit.SECONDS);
                opened.add(pool.submit(() -> MasterKey.Gcm.open(key(n % 3), s, "r" + n)));
            }
            for (int i = 0; i < 200; i++) {
                assertThat(new String(opened.get(i).get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8))
                        .isEqualTo("payload " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
