package attest.ingress;

import java.util.UUID;
import java.util.regex.Pattern;

/** Accepts a caller's well-formed {@code X-Request-Id} or mints a new one. */
public final class RequestIds {
    private static final Pattern WELL_FORMED = Pattern.compile("[A-Za-z0-9._:\\-]{8,128}");

    private RequestIds() {
    }

    public static String acceptOrMint(String offered) {
        if (offered != null && WELL_FORMED.matcher(offered).matches()) {
            return offered;
        }
        return UUID.randomUUID().toString();
    }
}
