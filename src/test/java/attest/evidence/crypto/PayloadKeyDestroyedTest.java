package attest.evidence.crypto;

import attest.evidence.Database;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Crypto-shredding is final on every replica at once: once retention destroys a data key in the store (on whichever
 * replica runs it), a replica that had the key in memory (it sealed or opened payloads with it) opens nothing with it
 * any more. Before, each replica kept the unwrapped key until it restarted, and a payload copied before the purge (a
 * backup, a replica's lagging copy) still opened there. Real PostgreSQL (embedded), two ciphers as two replicas.
 */
class PayloadKeyDestroyedTest {
    static Path dir;
    static Database db;
    static MasterKey master;

    @BeforeAll
    static void up() throws Exception {
        dir = Files.createTempDirectory("attest-key-destroyed-pg");
        db = Database.open("", "", "", dir.resolve("data"), 0, 4, Duration.ofSeconds(2));
        byte[] key = new byte[32];
        new java.security.SecureRandom().nextBytes(key);
        master = MasterKey.fromBase64(Base64.getEncoder().encodeToString(key));
    }

    @AfterAll
    static void down() {
        db.close();
    }

    PayloadCipher replica(Instant now) {
        return new PayloadCipher(db.dataSource(), master, Duration.ofDays(1), Clock.fixed(now, ZoneOffset.UTC));
    }

    /** As {@code Retention} destroys a key: the wrapped key gone, the time of its destruction kept. */
    static void destroy(String keyId) throws Exception {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE evidence_data_key SET wrapped = NULL, destroyed_at = now() WHERE id = ?")) {
            ps.setString(1, keyId);
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
    }

    @Test
    void should_open_nothing_with_a_key_destroyed_after_this_replica_cached_it() throws Exception {
        Instant day = Instant.parse("2026-10-01T10:00:00Z");
        PayloadCipher sealing = replica(day);   // the replica that sealed the payloads (the key in its memory)
        PayloadCipher reading = replica(day);   // another that opened one of them (the key in its memory too)
        String keyId = sealing.currentKeyId();
        String record = UUID.randomUUID() + ":request";
        byte[] sealed = sealing.encrypt("card 4111 1111 1111 1111".getBytes(StandardCharsets.UTF_8), keyId, record);
        assertThat(new String(reading.decrypt(sealed, keyId, record), StandardCharsets.UTF_8)).contains("4111");
        assertThat(new String(sealing.decrypt(sealed, keyId, record), StandardCharsets.UTF_8)).contains("4111");

        destroy(keyId);

        assertThatThrownBy(() -> sealing.decrypt(sealed, keyId, record))
                .isInstanceOf(PayloadCipher.PurgedException.class);
        assertThatThrownBy(() -> reading.decrypt(sealed, keyId, record))
                .isInstanceOf(PayloadCipher.PurgedException.class);
        // and a replica started after the purge never had it
        assertThatThrownBy(() -> replica(day).decrypt(sealed, keyId, record))
                .isInstanceOf(PayloadCipher.PurgedException.class);
    }

    @Test
    void should_still_open_with_a_live_key_and_refuse_a_payload_moved_to_another_record() {
        Instant day = Instant.parse("2026-10-02T10:00:00Z");
        PayloadCipher one = replica(day);
        String keyId = one.currentKeyId();
        String record = UUID.randomUUID() + ":response";
        byte[] sealed = one.encrypt("hello".getBytes(StandardCharsets.UTF_8), keyId, record);

        assertThat(replica(day).decrypt(sealed, keyId, record)).isEqualTo("hello".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> one.decrypt(sealed, keyId, UUID.randomUUID() + ":response"))
                .isInstanceOf(RuntimeException.class).isNotInstanceOf(PayloadCipher.PurgedException.class);
    }
}
