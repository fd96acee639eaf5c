package attest.keys;

import java.util.List;
import java.util.Optional;

/** What the key resolver reads and writes ({@link KeyStore} in PostgreSQL, shared by every replica). */
public interface KeyRecords {
    /** The key whose secret this is, if any (revoked and expired keys included: the caller decides). */
    Optional<VirtualKey> bySecret(String secret);

    Optional<Owner> owner(String subject);

    /** Saves what the identity provider said of an owner. */
    void saveOwner(Owner o);

    /** Owners of live keys. */
    List<String> liveOwners();
}
