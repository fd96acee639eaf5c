package attest.ingress;

import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Request ids. The id the gateway records a call under (the evidence's request id, the {@code X-Request-Id} it
 * answers with and forwards) is always its own, minted here: a caller could otherwise give two calls one id, or
 * take another call's. A caller's {@code X-Request-Id} is kept only as a correlation id, when it is well formed
 * (8 to 128 of {@code A-Z a-z 0-9 . _ : -}); anything else is dropped.
 */
public final class RequestIds {
    private static final Pattern WELL_FORMED = Pattern.compile("[A-Za-z0-9._:\\-]{8,128}");

    private RequestIds() {
    }

    /** A new request id. */
    public static String mint() {
        return UUID.randomUUID().toString();
    }

    /** The caller's id as a correlation id, or null when it is absent or not well formed. */
    public static String correlation(String offered) {
        return offered != null && WELL_FORMED.matcher(offered).matches() ? offered : null;
    }
}
