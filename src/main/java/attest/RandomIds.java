package attest;

import java.security.SecureRandom;
import java.util.UUID;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Random (version 4) UUIDs for ids that must never repeat but grant nothing: a call's request id
 * ({@code attest.ingress.RequestIds}), an evidence record's id and the id of an evidence event on Kafka.
 * <p>
 * 122 random bits from a per-thread {@code L128X256MixRandom} (384 bits of state, each thread's seeded from
 * {@link SecureRandom}), so that ids do not repeat across calls, threads and instances, without
 * {@link UUID#randomUUID()}'s {@code SecureRandom} (a lock and a SHA-1 per id) on the data path. The bits are not
 * unpredictable: such an id must never be what lets someone read or act. Why that holds for each:
 * <ul>
 * <li>a request id is seen by the caller, the upstream and the logs, and unlocks nothing;</li>
 * <li>an evidence record's id ({@code Attest-Evidence-Id}) names the record; every read by it is behind a bearer
 * token checked at the read: a receipt ({@code GET /evidence/{id}/proof}) only for the record's own caller or an
 * auditor, 404 for anyone else; payloads, reports and replays only for auditors. Held calls are reached by their
 * approval id, not the record's. Its uniqueness is what the payload cipher's associated data relies on, not its
 * secrecy;</li>
 * <li>an event id is the Kafka consumers' de-duplication key; whoever can write to the topic can forge events
 * outright, so a predictable id gives nothing more.</li>
 * </ul>
 * What must be unpredictable keeps {@link SecureRandom}: the payload cipher's GCM nonces, key secrets, approval
 * sessions' tokens, data keys.
 */
public final class RandomIds {
    private static final String ALGORITHM = "L128X256MixRandom";
    private static final SecureRandom SEEDS = new SecureRandom();
    private static final ThreadLocal<RandomGenerator> BITS = ThreadLocal.withInitial(() -> {
        byte[] seed = new byte[48];
        SEEDS.nextBytes(seed);
        return RandomGeneratorFactory.of(ALGORITHM).create(seed);
    });

    private RandomIds() {
    }

    /** A new version 4 UUID (IETF variant). */
    public static UUID uuid() {
        RandomGenerator r = BITS.get();
        long msb = (r.nextLong() & ~0xF000L) | 0x4000L; // version 4
        long lsb = (r.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L; // IETF variant
        return new UUID(msb, lsb);
    }
}
