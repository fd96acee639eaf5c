package attest.keys;

import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import attest.identity.InvalidTokenException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns a presented key secret into the owner's identity, narrowed later by the key's scope.
 * <ul>
 *   <li>A secret not of the key form is refused without a lookup. A well-formed one is looked up by its SHA-256
 *       (one indexed read), and the answer, found or not, is kept {@code cacheTtl} on this replica (2 s by
 *       default), so a revocation is seen by every replica within that time.</li>
 *   <li>Brute force stays cheap: a source whose unknown keys exceed {@code missesPerMinute} gets no more lookups
 *       in that minute (only keys already cached resolve); every refusal is the same 401.</li>
 *   <li>The owner's roles, groups and enabled flag are the ones Keycloak gave within {@code ownerMaxAge} (kept in
 *       PostgreSQL, shared by every replica, refreshed in the background by {@link #refreshOwners()}); an older
 *       answer is refreshed before the call, and with Keycloak unreachable the call is refused (503), never run
 *       on stale power.</li>
 * </ul>
 */
public final class KeyResolver {
    private static final Logger LOG = LoggerFactory.getLogger(KeyResolver.class);
    private static final int MAX_CACHED = 10_000;
    private static final int MAX_SOURCES = 10_000;

    /** A resolved key and the identity it acts with. */
    public record Resolved(VirtualKey key, Identity identity) {
    }

    private record Cached(Optional<VirtualKey> key, long at) {
    }

    private final KeyRecords store;
    private final OwnerDirectory directory;
    private final Clock clock;
    private final long cacheNanos;
    private final Duration ownerMaxAge;
    private final int missesPerMinute;
    private final String issuer;
    private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, long[]> misses = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Owner> owners = new ConcurrentHashMap<>();

    public KeyResolver(KeyRecords store, OwnerDirectory directory, Clock clock, Duration cacheTtl, Duration ownerMaxAge,
                       int missesPerMinute, String issuer) {
        if (ownerMaxAge.compareTo(Duration.ofSeconds(60)) > 0) {
            throw new IllegalStateException("attest.keys.owner-max-age-ms is at most 60000: a disabled owner must lose "
                    + "the key's power within 60 s");
        }
        if (cacheTtl.compareTo(Duration.ofSeconds(5)) > 0) {
            throw new IllegalStateException("attest.keys.cache-ms is at most 5000: a revocation must be effective "
                    + "within 5 s");
        }
        this.store = store;
        this.directory = directory;
        this.clock = clock;
        this.cacheNanos = cacheTtl.toNanos();
        this.ownerMaxAge = ownerMaxAge;
        this.missesPerMinute = missesPerMinute;
        this.issuer = issuer;
    }

    /**
     * The early check on the connection's thread: why the key is refused, or null when it is a live key. Never
     * reaches Keycloak (the owner is checked on the route).
     */
    public String check(String secret, String source) {
        try {
            VirtualKey k = find(secret, source);
            return k == null ? "unknown key" : refusal(k);
        } catch (RuntimeException e) {
            return null; // the store is down: the route answers 503 (fail closed, but not as a bad key)
        }
    }

    /**
     * Whether {@link #check} would read the store for this key now: a well-formed key that is not cached, from a
     * source within its budget of unknown keys. Otherwise it answers from memory.
     */
    public boolean checkBlocks(String secret, String source) {
        if (!KeySecrets.wellFormed(secret)) {
            return false;
        }
        Cached c = cache.get(HexFormat.of().formatHex(KeySecrets.digest(secret)));
        if (c != null && System.nanoTime() - c.at() < cacheNanos) {
            return false;
        }
        return !overMisses(source);
    }

    /** Resolves a key for a call; 401 for a wrong, revoked or expired key or a disabled or deleted owner. */
    public Resolved resolve(String secret, String source) {
        VirtualKey k = find(secret, source);
        if (k == null) {
            throw new InvalidTokenException("unknown key");
        }
        String refused = refusal(k);
        if (refused != null) {
            throw new InvalidTokenException(refused);
        }
        Owner o = freshOwner(k.ownerSubject());
        if (!o.enabled()) {
            throw new InvalidTokenException("key owner disabled or deleted");
        }
        return new Resolved(k, new Identity(o.subject(), o.username() != null ? o.username() : k.ownerUsername(),
                k.principalType(), k.clientId(), o.roles(), o.groups(), "key:" + k.id(), issuer, null));
    }

    private String refusal(VirtualKey k) {
        if (k.revoked()) {
            return "key revoked";
        }
        if (k.expired(clock.instant())) {
            return "key expired";
        }
        return null;
    }

    private VirtualKey find(String secret, String source) {
        if (!KeySecrets.wellFormed(secret)) {
            return null;
        }
        String id = HexFormat.of().formatHex(KeySecrets.digest(secret));
        long now = System.nanoTime();
        Cached c = cache.get(id);
        if (c != null && now - c.at() < cacheNanos) {
            return c.key().orElse(null);
        }
        if (overMisses(source)) {
            return null;
        }
        Optional<VirtualKey> found = store.bySecret(secret);
        if (cache.size() >= MAX_CACHED) {
            cache.clear();
        }
        cache.put(id, new Cached(found, now));
        if (found.isEmpty()) {
            miss(source);
        }
        return found.orElse(null);
    }

    private boolean overMisses(String source) {
        long[] m = misses.get(source == null ? "" : source);
        return m != null && m[0] == minute() && m[1] >= missesPerMinute;
    }

    private void miss(String source) {
        if (misses.size() > MAX_SOURCES) {
            long minute = minute();
            misses.values().removeIf(m -> m[0] != minute);
        }
        misses.compute(source == null ? "" : source, (k, m) -> {
            long minute = minute();
            if (m == null || m[0] != minute) {
                return new long[]{minute, 1};
            }
            m[1]++;
            return m;
        });
    }

    private long minute() {
        return clock.millis() / 60_000;
    }

    /** The owner as Keycloak said within the allowed age: from this replica, PostgreSQL, or Keycloak itself. */
    private Owner freshOwner(String subject) {
        Instant now = clock.instant();
        Owner o = owners.get(subject);
        if (o != null && fresh(o, now, Duration.ofNanos(cacheNanos))) {
            return o;
        }
        o = store.owner(subject).orElse(null);
        if (o == null || !fresh(o, now, ownerMaxAge)) {
            o = refresh(subject);
        }
        owners.put(subject, o);
        if (owners.size() > MAX_CACHED) {
            owners.clear();
        }
        return o;
    }

    private static boolean fresh(Owner o, Instant now, Duration age) {
        return o.checkedAt().plus(age).isAfter(now);
    }

    /** Asks Keycloak now and saves the answer for every replica; 503 when it cannot be asked. */
    Owner refresh(String subject) {
        Instant at = clock.instant();
        Optional<Owner> found;
        try {
            found = directory.lookup(subject);
        } catch (RuntimeException e) {
            LOG.warn("key owner {} could not be checked in Keycloak: {}", subject, e.getClass().getSimpleName());
            throw new GatewayException(503, "owner_unverified", "the key's owner cannot be checked with the identity "
                    + "provider now; try again later", Outcome.DENIED);
        }
        // a user that no longer exists is saved as disabled, without roles: the key is dead
        Owner o = found.map(f -> new Owner(subject, f.username(), f.enabled(), f.roles(), f.groups(), at))
                .orElseGet(() -> new Owner(subject, null, false, java.util.List.of(), java.util.List.of(), at));
        store.saveOwner(o);
        return o;
    }

    /** Refreshes every live key's owner whose answer is older than half the allowed age (background task). */
    public int refreshOwners() {
        int n = 0;
        Instant now = clock.instant();
        for (String subject : store.liveOwners()) {
            Owner o = store.owner(subject).orElse(null);
            if (o != null && fresh(o, now, ownerMaxAge.dividedBy(2))) {
                continue;
            }
            try {
                owners.put(subject, refresh(subject));
                n++;
            } catch (GatewayException e) {
                // Keycloak unreachable: calls refresh for themselves once the saved answer is too old (and fail)
            }
        }
        return n;
    }
}
