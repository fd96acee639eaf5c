package attest.keys;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * Key secrets: {@code atk_} and 43 base64url characters (256 random bits). The store keeps the SHA-256 of the
 * whole secret, which a high-entropy secret makes as good as a keyed hash; a presented secret is looked up by its
 * digest and compared in constant time. Anything that is not of this exact form is refused without a lookup.
 */
public final class KeySecrets {
    public static final String PREFIX = "atk_";
    private static final Pattern FORM = Pattern.compile("atk_[A-Za-z0-9_-]{43}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private KeySecrets() {
    }

    public static String generate() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public static boolean wellFormed(String secret) {
        return secret != null && secret.length() == 47 && FORM.matcher(secret).matches();
    }

    public static byte[] digest(String secret) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.US_ASCII));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The last four characters, shown in listings so that an owner can tell keys apart. */
    public static String hint(String secret) {
        return secret.substring(secret.length() - 4);
    }
}
