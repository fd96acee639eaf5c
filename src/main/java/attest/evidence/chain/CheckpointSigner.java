package attest.evidence.chain;

import java.security.PublicKey;

/** Signs checkpoints with a key that is not in the database. A KMS can implement this later. */
public interface CheckpointSigner {
    /** The key's id: the first 16 hex digits of the SHA-256 of its public key (X.509 encoding). */
    String keyId();

    /** The signature algorithm, as the JDK names it ({@code Ed25519}). */
    String algorithm();

    PublicKey publicKey();

    byte[] sign(byte[] data);
}
