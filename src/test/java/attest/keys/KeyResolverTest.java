package attest.keys;

import attest.http.GatewayException;
import attest.identity.FakeClock;
import attest.identity.InvalidTokenException;
import attest.usage.Budget;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyResolverTest {
    static final Instant T0 = Instant.parse("2026-11-29T10:00:05Z");

    /** The store in memory, counting its look-ups. */
    static final class Records implements KeyRecords {
        final Map<String, VirtualKey> keys = new HashMap<>();
        final Map<String, Owner> owners = new HashMap<>();
        final AtomicInteger lookups = new AtomicInteger();

        @Override
        public Optional<VirtualKey> bySecret(String secret) {
            lookups.incrementAndGet();
            return Optional.ofNullable(keys.get(secret));
        }

        @Override
        public Optional<Owner> owner(String subject) {
            return Optional.ofNullable(owners.get(subject));
        }

        @Override
        public void saveOwner(Owner o) {
            owners.put(o.subject(), o);
        }

        @Override
        public List<String> liveOwners() {
            return keys.values().stream().map(VirtualKey::ownerSubject).distinct().toList();
        }
    }

    final FakeClock clock = new FakeClock(T0);
    final Records records = new Records();
    final Map<String, Owner> keycloak = new HashMap<>();
    final AtomicInteger keycloakCalls = new AtomicInteger();
    volatile boolean keycloakDown;
    final OwnerDirectory directory = subject -> {
        keycloakCalls.incrementAndGet();
        if (keycloakDown) {
            throw new IllegalStateException("connection refused");
        }
        return Optional.ofNullable(keycloak.get(subject));
    };

    String key(String owner, Instant expires, Instant revoked) {
        String secret = KeySecrets.generate();
        records.keys.put(secret, new VirtualKey(UUID.randomUUID(), "k", KeySecrets.hint(secret), owner, owner, "user",
                "attest-cli", List.of(), List.of(), Budget.NONE, T0, owner, expires, revoked, null));
        return secret;
    }

    void owner(String subject, boolean enabled, String... roles) {
        keycloak.put(subject, new Owner(subject, subject, enabled, List.of(roles), List.of("/team-a"), clock.instant()));
    }

    KeyResolver resolver(Duration cache, int misses) {
        return new KeyResolver(records, directory, clock, cache, Duration.ofSeconds(30), misses, "iss");
    }

    @Test
    void should_act_with_the_owners_power_as_keycloak_says_it() {
        owner("alice", true, "inference-user");
        String k = key("alice", T0.plus(Duration.ofDays(1)), null);
        KeyResolver.Resolved r = resolver(Duration.ZERO, 20).resolve(k, "10.0.0.1");
        assertEquals("alice", r.identity().subject());
        assertEquals(List.of("inference-user"), r.identity().roles());
        assertEquals(List.of("/team-a"), r.identity().groups());
        assertEquals("key:" + r.key().id(), r.identity().tokenId());
        assertNull(resolver(Duration.ZERO, 20).check(k, "10.0.0.1"));
    }

    @Test
    void should_refuse_revoked_expired_unknown_and_malformed_keys() {
        owner("alice", true, "inference-user");
        KeyResolver res = resolver(Duration.ZERO, 1000);
        String revoked = key("alice", T0.plus(Duration.ofDays(1)), T0);
        String expired = key("alice", T0.plus(Duration.ofSeconds(10)), null);
        assertEquals("key revoked", assertThrows(InvalidTokenException.class, () -> res.resolve(revoked, "s")).reason());
        assertEquals("key revoked", res.check(revoked, "s"));
        assertNull(res.check(expired, "s"));
        clock.advance(Duration.ofSeconds(10));
        assertEquals("key expired", assertThrows(InvalidTokenException.class, () -> res.resolve(expired, "s")).reason());
        assertEquals("unknown key", res.check(KeySecrets.generate(), "s"));
        int before = records.lookups.get();
        for (String bad : new String[]{"atk_short", "atk_" + "A".repeat(44), "sk-" + "A".repeat(44), "", "atk_"
                + "A".repeat(42) + "+"}) {
            assertEquals("unknown key", res.check(bad, "s"));
        }
        assertEquals(before, records.lookups.get(), "malformed keys cost no look-up");
    }

    @Test
    void should_stop_looking_up_a_source_that_guesses_keys() {
        owner("alice", true, "inference-user");
        String good = key("alice", T0.plus(Duration.ofDays(1)), null);
        KeyResolver res = resolver(Duration.ofSeconds(2), 5);
        for (int i = 0; i < 5; i++) {
            assertEquals("unknown key", res.check(KeySecrets.generate(), "6.6.6.6"));
        }
        assertEquals(5, records.lookups.get());
        for (int i = 0; i < 100; i++) {
            assertEquals("unknown key", res.check(KeySecrets.generate(), "6.6.6.6"));
        }
        assertEquals(5, records.lookups.get(), "past the budget of unknown keys: no more look-ups in that minute");
        assertNull(res.check(good, "7.7.7.7"), "another source is not affected");
        assertNull(res.check(good, "6.6.6.6"), "a key already cached still resolves");
        clock.advance(Duration.ofSeconds(60));
        assertEquals("unknown key", res.check(KeySecrets.generate(), "6.6.6.6"));
        assertEquals(7, records.lookups.get(), "the next minute looks up again");
    }

    @Test
    void should_cache_found_and_unknown_keys_for_the_cache_time_only() {
        owner("alice", true, "inference-user");
        String k = key("alice", T0.plus(Duration.ofDays(1)), null);
        KeyResolver res = resolver(Duration.ofSeconds(5), 20);
        assertNull(res.check(k, "s"));
        assertNull(res.check(k, "s"));
        assertEquals(1, records.lookups.get());
        KeyResolver uncached = resolver(Duration.ZERO, 20);
        VirtualKey v = records.keys.get(k);
        assertNull(uncached.check(k, "s"));
        records.keys.put(k, new VirtualKey(v.id(), v.name(), v.hint(), v.ownerSubject(), v.ownerUsername(),
                v.principalType(), v.clientId(), v.upstreams(), v.models(), v.budget(), v.createdAt(), v.createdBy(),
                v.expiresAt(), T0, "alice"));
        assertEquals("key revoked", uncached.check(k, "s"), "a revocation is seen once the cache time has passed");
        assertThrows(IllegalStateException.class, () -> resolver(Duration.ofSeconds(6), 20),
                "a cache longer than 5 s would break the revocation promise");
        assertThrows(IllegalStateException.class, () -> new KeyResolver(records, directory, clock, Duration.ZERO,
                Duration.ofSeconds(61), 20, "iss"), "an owner answer older than 60 s would break the owner promise");
    }

    @Test
    void should_take_the_power_away_from_a_disabled_deleted_or_demoted_owner_within_the_max_age() {
        owner("alice", true, "inference-user");
        String k = key("alice", T0.plus(Duration.ofDays(1)), null);
        KeyResolver res = resolver(Duration.ZERO, 20);
        assertEquals(List.of("inference-user"), res.resolve(k, "s").identity().roles());
        int asked = keycloakCalls.get();
        owner("alice", true); // the role is taken away in Keycloak
        clock.advance(Duration.ofSeconds(10));
        assertEquals(List.of("inference-user"), res.resolve(k, "s").identity().roles(), "within the max age");
        assertEquals(asked, keycloakCalls.get(), "a fresh answer is not asked again");
        clock.advance(Duration.ofSeconds(21));
        assertEquals(List.of(), res.resolve(k, "s").identity().roles(), "past the max age, Keycloak is asked");
        keycloak.put("alice", new Owner("alice", "alice", false, List.of("inference-user"), List.of(), clock.instant()));
        assertEquals(0, res.refreshOwners(), "an answer younger than half the max age is not asked again");
        clock.advance(Duration.ofSeconds(31));
        assertEquals("key owner disabled or deleted", assertThrows(InvalidTokenException.class,
                () -> res.resolve(k, "s")).reason());
        keycloak.remove("alice");
        clock.advance(Duration.ofSeconds(31));
        assertEquals("key owner disabled or deleted", assertThrows(InvalidTokenException.class,
                () -> res.resolve(k, "s")).reason());
    }

    @Test
    void should_refuse_with_503_rather_than_act_on_a_stale_owner_when_keycloak_is_down() {
        owner("alice", true, "inference-user");
        String k = key("alice", T0.plus(Duration.ofDays(1)), null);
        KeyResolver res = resolver(Duration.ZERO, 20);
        res.resolve(k, "s");
        keycloakDown = true;
        clock.advance(Duration.ofSeconds(20));
        res.resolve(k, "s"); // still fresh enough
        clock.advance(Duration.ofSeconds(11));
        GatewayException e = assertThrows(GatewayException.class, () -> res.resolve(k, "s"));
        assertEquals(503, e.status());
        assertTrue(!(e instanceof InvalidTokenException));
        assertEquals(0, res.refreshOwners(), "the background refresh fails quietly too");
        keycloakDown = false;
        assertEquals(1, res.refreshOwners());
        assertEquals("alice", res.resolve(k, "s").identity().subject());
    }

    @Test
    void should_say_when_a_key_check_reads_the_store_so_that_the_early_check_runs_it_off_the_event_loop() {
        owner("alice", true, "inference-user");
        String k = key("alice", T0.plus(Duration.ofDays(1)), null);
        KeyResolver res = resolver(Duration.ofSeconds(2), 2);
        assertTrue(res.checkBlocks(k, "10.0.0.1")); // not cached: a read in the store
        assertEquals(null, res.check(k, "10.0.0.1"));
        assertTrue(!res.checkBlocks(k, "10.0.0.1")); // cached for 2 s
        assertTrue(!res.checkBlocks("atk_not-well-formed", "10.0.0.1")); // refused from memory
        // a source past its budget of unknown keys is refused from memory
        res.check(KeySecrets.generate(), "10.0.0.9");
        res.check(KeySecrets.generate(), "10.0.0.9");
        assertTrue(!res.checkBlocks(KeySecrets.generate(), "10.0.0.9"));
        assertTrue(res.checkBlocks(KeySecrets.generate(), "10.0.0.1"));
    }
}
