package attest.ingress;

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
 * they come from {@link attest.RandomIds} (a per-thread {@code L128X256MixRandom} seeded from {@code SecureRandom})
 * rather than from {@code UUID.randomUUID()}'s {@code SecureRandom}, which took a lock and a SHA-1 per id on the
 * data path.
 */
public final class RequestIds {
    private static final Pattern WELL_FORMED = Pattern.compile("[A-Za-z0-9._:\\-]{8,128}");

    private RequestIds() {
    }

    /** A new request id: a version 4 UUID in its canonical text form. */
    public static String mint() {
        return attest.RandomIds.uuid().toString();
    }

    /** The caller's id as a correlation id, or null when it is absent or not well formed. */
    public static String correlation(String offered) {
        return offered != null && WELL_FORMED.matcher(offered).matches() ? offered : null;
    }
}
