package attest.ingress;

import java.security.SecureRandom;
import java.util.UUID;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import java.util.regex.Pattern;

/**
 * Request ids. The id the gateway records a call under (the evidence's request id, the {@code X-Request-Id} it
 * answers with and forwards) is always its own, minted here: a caller could otherwise give two calls one id, or
 * take another call's. A caller's {@code X-Request-Id} is kept only as a correlation id, when it is well formed
 * (8 to 128 of {@code A-Z a-z 0-9 . _ : -}); anything else is dropped.
 * <p>
 * A request id is a random (version 4) UUID: 122 random bits, so that ids never repeat across calls, threads and
 * instances. It is no secret and grants nothing (the caller, the upstream and the logs all see it; a held call's
 * result and the evidence are reached by other ids, behind their own checks), so its bits need not be unpredictable:
 * they come from a per-thread {@code L128X256MixRandom} (384 bits of state, each thread's seeded from
 * {@link SecureRandom}) rather than from {@link UUID#randomUUID()}'s {@code SecureRandom}, which took a lock and
 * a SHA-1 per id on the data path.
 */
public final class RequestIds {
    private static final Pattern WELL_FORMED = Pattern.compile("[A-Za-z0-9._:\\-]{8,128}");
    private static final String ALGORITHM = "L128X256MixRandom";
    private static final SecureRandom SEEDS = new SecureRandom();
    private static final ThreadLocal<RandomGenerator> BITS = ThreadLocal.withInitial(() -> {
        byte[] seed = new byte[48];
        SEEDS.nextBytes(seed);
        return RandomGeneratorFactory.of(ALGORITHM).create(seed);
    });

    private RequestIds() {
    }

    /** A new request id: a version 4 UUID in its canonical text form. */
    public static String mint() {
        RandomGenerator r = BITS.get();
        long msb = (r.nextLong() & ~0xF000L) | 0x4000L; // version 4
        long lsb = (r.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L; // IETF variant
        return new UUID(msb, lsb).toString();
    }

    /** The caller's id as a correlation id, or null when it is absent or not well formed. */
    public static String correlation(String offered) {
        return offered != null && WELL_FORMED.matcher(offered).matches() ? offered : null;
    }
}
