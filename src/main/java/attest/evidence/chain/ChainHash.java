package attest.evidence.chain;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The chain's hashes: {@code hash(n) = SHA-256(DOMAIN || hash(n-1) || canonical(n))}, with {@code hash(0)}
 * 32 zero bytes; a checkpoint's hash is {@code SHA-256(CHECKPOINT_DOMAIN || canonical(checkpoint))}.
 */
public final class ChainHash {
    /** Domain tag of record hashes: the ASCII bytes of "attest.evidence.v1" and one zero byte. */
    public static final byte[] DOMAIN = "attest.evidence.v1\0".getBytes(StandardCharsets.US_ASCII);
    /** Domain tag of checkpoint hashes. */
    public static final byte[] CHECKPOINT_DOMAIN = "attest.checkpoint.v1\0".getBytes(StandardCharsets.US_ASCII);
    public static final byte[] GENESIS = new byte[32];

    private ChainHash() {
    }

    public static byte[] link(byte[] previous, byte[] canonical) {
        MessageDigest md = sha256();
        md.update(DOMAIN);
        md.update(previous);
        md.update(canonical);
        return md.digest();
    }

    public static byte[] checkpoint(byte[] canonical) {
        MessageDigest md = sha256();
        md.update(CHECKPOINT_DOMAIN);
        md.update(canonical);
        return md.digest();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
