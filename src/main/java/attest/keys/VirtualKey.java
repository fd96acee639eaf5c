package attest.keys;

import attest.usage.Budget;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A virtual key: a long-lived credential that acts for its owner (a Keycloak user or service account), narrowed
 * by its scope. The secret itself is never kept; only its SHA-256.
 *
 * @param upstreams upstream names the key may call (empty: any the owner may)
 * @param models    model globs the key may call (empty: any the owner may)
 * @param budget    the key's own budget and limits ({@link Budget#NONE} for none)
 */
public record VirtualKey(UUID id, String name, String hint, String ownerSubject, String ownerUsername,
                         String principalType, String clientId, List<String> upstreams, List<String> models,
                         Budget budget, Instant createdAt, String createdBy, Instant expiresAt, Instant revokedAt,
                         String revokedBy) {

    public boolean expired(Instant now) {
        return !now.isBefore(expiresAt);
    }

    public boolean revoked() {
        return revokedAt != null;
    }
}
