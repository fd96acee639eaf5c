package attest.evidence.chain;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Properties;

/**
 * An Ed25519 checkpoint key in a file (never in the database): a properties file with {@code private}
 * (PKCS#8, base64) and {@code public} (X.509, base64). The public key alone is written beside it as
 * {@code <file>.pub} (one line of base64), which is what a verifier needs.
 */
public final class KeyFileSigner implements CheckpointSigner {
    private final PrivateKey privateKey;
    private final PublicKey publicKey;
    private final String keyId;

    private KeyFileSigner(PrivateKey privateKey, PublicKey publicKey) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
        this.keyId = keyId(publicKey);
    }

    /** Loads the key file; creates a new key there first if it is missing and {@code generate} is set. */
    public static KeyFileSigner load(Path file, boolean generate) {
        try {
            if (!Files.exists(file)) {
                if (!generate) {
                    throw new IllegalStateException("checkpoint signing key file " + file + " does not exist");
                }
                create(file);
            }
            Properties p = new Properties();
            try (var in = Files.newInputStream(file)) {
                p.load(in);
            }
            KeyFactory kf = KeyFactory.getInstance("Ed25519");
            PrivateKey priv = kf.generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(
                    p.getProperty("private", "").strip())));
            PublicKey pub = publicKey(p.getProperty("public", "").strip());
            KeyFileSigner signer = new KeyFileSigner(priv, pub);
            Path pubFile = file.resolveSibling(file.getFileName() + ".pub");
            if (!Files.exists(pubFile)) {
                Files.writeString(pubFile, Base64.getEncoder().encodeToString(pub.getEncoded()) + "\n");
            }
            return signer;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint signing key file " + file, e);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalStateException("checkpoint signing key file " + file + " holds no valid Ed25519 key");
        }
    }

    private static void create(Path file) throws IOException, GeneralSecurityException {
        KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        String text = "# Attest evidence checkpoint key (Ed25519). Keep it out of the database and backups of it.\n"
                + "private=" + Base64.getEncoder().encodeToString(kp.getPrivate().getEncoded()) + "\n"
                + "public=" + Base64.getEncoder().encodeToString(kp.getPublic().getEncoded()) + "\n";
        Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system
        }
    }

    /** A public key from its X.509 encoding in base64. */
    public static PublicKey publicKey(String base64) throws GeneralSecurityException {
        return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(
                Base64.getDecoder().decode(base64.strip())));
    }

    public static String keyId(PublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()))
                    .substring(0, 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static boolean verify(PublicKey key, byte[] data, byte[] signature) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(key);
            s.update(data);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    @Override
    public String keyId() {
        return keyId;
    }

    @Override
    public String algorithm() {
        return "Ed25519";
    }

    @Override
    public PublicKey publicKey() {
        return publicKey;
    }

    @Override
    public byte[] sign(byte[] data) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            s.update(data);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("signing failed", e);
        }
    }
}
