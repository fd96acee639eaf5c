package attest.evidence.crypto;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The master key that wraps the payload data keys (AES-256-GCM). It comes from the environment or a file,
 * never from the database. Its id (first 16 hex digits of SHA-256 over "attest.master.v1" and the key) is
 * stored with each wrapped data key.
 */
public final class MasterKey {
    static final SecureRandom RANDOM = new SecureRandom();
    private final SecretKeySpec key;
    private final String id;

    public MasterKey(byte[] raw) {
        if (raw.length != 32) {
            throw new IllegalArgumentException("the evidence master key must be 32 bytes (base64 of 32 bytes)");
        }
        this.key = new SecretKeySpec(raw, "AES");
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update("attest.master.v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            this.id = HexFormat.of().formatHex(md.digest(raw)).substring(0, 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A key for another purpose, derived from this one (HMAC-SHA-256 of the label under the master key), so that
     * no second secret has to be managed and the master key itself is never used for two things.
     */
    public byte[] derive(String label) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getEncoded(), "HmacSHA256"));
            return mac.doFinal(label.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** From base64 text (an environment variable's value or a file's content). */
    public static MasterKey fromBase64(String text) {
        return new MasterKey(Base64.getDecoder().decode(text.strip()));
    }

    /** From a file; creates a new random key there first if it is missing and {@code generate} is set. */
    public static MasterKey fromFile(Path file, boolean generate) {
        try {
            if (!Files.exists(file)) {
                if (!generate) {
                    throw new IllegalStateException("evidence master key file " + file + " does not exist");
                }
                if (file.getParent() != null) {
                    Files.createDirectories(file.getParent());
                }
                byte[] raw = new byte[32];
                RANDOM.nextBytes(raw);
                Files.writeString(file, Base64.getEncoder().encodeToString(raw) + "\n", StandardOpenOption.CREATE_NEW);
                try {
                    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
                } catch (UnsupportedOperationException ignored) {
                    // not a POSIX file system
                }
            }
            return fromBase64(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the evidence master key file " + file, e);
        }
    }

    public String id() {
        return id;
    }

    byte[] wrap(byte[] dataKey, String dataKeyId) {
        return Gcm.seal(key, dataKey, dataKeyId);
    }

    byte[] unwrap(byte[] wrapped, String dataKeyId) {
        return Gcm.open(key, wrapped, dataKeyId);
    }

    /** AES-256-GCM with a random 96-bit nonce; the output is nonce || ciphertext || tag. */
    static final class Gcm {
        /**
         * One cipher per thread, initialised afresh (with a new nonce) for every use: a new instance per payload
         * expanded the AES key each time, which was most of the cost of sealing a small payload.
         */
        private static final ThreadLocal<Cipher> CIPHER = ThreadLocal.withInitial(() -> {
            try {
                return Cipher.getInstance("AES/GCM/NoPadding");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/GCM is not available", e);
            }
        });

        private Gcm() {
        }

        static byte[] seal(SecretKeySpec key, byte[] plain, String aad) {
            try {
                byte[] nonce = new byte[12];
                RANDOM.nextBytes(nonce);
                Cipher c = CIPHER.get();
                c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
                c.updateAAD(aad.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                byte[] ct = c.doFinal(plain);
                byte[] out = Arrays.copyOf(nonce, 12 + ct.length);
                System.arraycopy(ct, 0, out, 12, ct.length);
                return out;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("encryption failed", e);
            }
        }

        static byte[] open(SecretKeySpec key, byte[] sealed, String aad) {
            try {
                Cipher c = CIPHER.get();
                c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, sealed, 0, 12));
                c.updateAAD(aad.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                return c.doFinal(sealed, 12, sealed.length - 12);
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("decryption failed (wrong key, or the data was changed)");
            }
        }
    }
}
