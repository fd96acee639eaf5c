package attest.evidence;

import attest.keys.KeyStore;
import attest.usage.Budget;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Virtual keys as the real {@link KeyStore} writes them (created, revoked, expired), then a DBA with the guards off
 * changes an api_key row behind its key.* chain entries: an un-revoked key works again, a moved expiry or a widened
 * scope gives it more than was recorded. `attest verify --jdbc` must not say VALID. The tests share one database:
 * each puts back what it changed.
 */
class TamperKeyTest extends TamperBase {
    static final String CHAIN = "t-keys";
    static UUID live;
    static UUID revoked;
    static UUID expired;

    @BeforeAll
    static void keysWrittenByTheGateway() {
        KeyStore store = new KeyStore(db.dataSource(), CHAIN, "attest.evidence.v1", Clock.systemUTC());
        Instant in30days = Instant.now().plus(30, ChronoUnit.DAYS);
        live = store.create(new KeyStore.Draft("ci-live", "bob-sub", "bob", "user", "portal", List.of("llm"),
                List.of("gpt-4o*"), new Budget(60L, 10_000L, 1_000_000L, null, "month"), in30days), "bob-sub").key().id();
        revoked = store.create(new KeyStore.Draft("ci-revoked", "bob-sub", "bob", "user", "portal", List.of("llm"),
                List.of(), Budget.NONE, in30days), "bob-sub").key().id();
        assertThat(store.revoke(revoked, "admin-sub")).isTrue();
        expired = store.create(new KeyStore.Draft("ci-expired", "svc-sub", null, "service_account", "svc",
                List.of(), List.of(), Budget.NONE, Instant.now().minusSeconds(1)), "svc-sub").key().id();
        assertThat(store.recordExpiries()).isEqualTo(1);
        anchor(CHAIN);
    }

    @Test
    void should_verify_keys_written_by_the_gateway() throws Exception {
        assertCleanBefore();
        // and GET /keys lists them, read pinned to the store's own objects as the reports are
        KeyStore store = new KeyStore(db.dataSource(), CHAIN, "attest.evidence.v1", Clock.systemUTC());
        assertThat(store.list("bob-sub")).extracting(attest.keys.VirtualKey::id).contains(live, revoked)
                .doesNotContain(expired);
        assertThat(store.list(null)).extracting(attest.keys.VirtualKey::id).contains(live, revoked, expired);
    }

    static Stream<Arguments> tampers() {
        return Stream.of(
                Arguments.of("revoked key un-revoked", "revoked",
                        "UPDATE api_key SET revoked_at = NULL, revoked_by = NULL WHERE id = '%s'"),
                Arguments.of("revoked_by changed", "revoked", "UPDATE api_key SET revoked_by = 'bob-sub' WHERE id = '%s'"),
                Arguments.of("revoked_at moved", "revoked",
                        "UPDATE api_key SET revoked_at = revoked_at + interval '10 days' WHERE id = '%s'"),
                Arguments.of("live key revoked behind the chain", "live",
                        "UPDATE api_key SET revoked_at = now(), revoked_by = 'x' WHERE id = '%s'"),
                Arguments.of("expiry moved a year on", "live",
                        "UPDATE api_key SET expires_at = expires_at + interval '365 days' WHERE id = '%s'"),
                Arguments.of("expired key's expiry moved", "expired",
                        "UPDATE api_key SET expires_at = now() + interval '365 days' WHERE id = '%s'"),
                Arguments.of("upstream scope widened to every upstream", "live",
                        "UPDATE api_key SET upstreams = '{}' WHERE id = '%s'"),
                Arguments.of("upstream scope widened", "live", "UPDATE api_key SET upstreams = '{llm,other}' WHERE id = '%s'"),
                Arguments.of("model scope widened", "live", "UPDATE api_key SET models = '{*}' WHERE id = '%s'"),
                Arguments.of("owner changed", "live",
                        "UPDATE api_key SET owner_subject = 'mallory-sub', owner_username = 'mallory' WHERE id = '%s'"),
                Arguments.of("owner username set", "expired", "UPDATE api_key SET owner_username = 'bob' WHERE id = '%s'"),
                Arguments.of("principal type changed", "live",
                        "UPDATE api_key SET principal_type = 'service_account' WHERE id = '%s'"),
                Arguments.of("budget dropped", "live", "UPDATE api_key SET budget = NULL WHERE id = '%s'"),
                Arguments.of("limits dropped", "live", "UPDATE api_key SET limits = NULL WHERE id = '%s'"),
                Arguments.of("name changed", "live", "UPDATE api_key SET name = 'renamed' WHERE id = '%s'"),
                Arguments.of("created_at moved", "live",
                        "UPDATE api_key SET created_at = created_at - interval '1 day' WHERE id = '%s'"),
                Arguments.of("created_by changed", "live", "UPDATE api_key SET created_by = 'admin-sub' WHERE id = '%s'"),
                Arguments.of("expiry marked recorded without its entry", "live",
                        "UPDATE api_key SET expiry_recorded = true WHERE id = '%s'"),
                Arguments.of("expiry marked unrecorded", "expired",
                        "UPDATE api_key SET expiry_recorded = false WHERE id = '%s'"),
                Arguments.of("secret digest swapped for one the DBA knows the secret of", "live",
                        "UPDATE api_key SET secret_sha256 = sha256('attacker-secret'::bytea) WHERE id = '%s'"),
                Arguments.of("revoked key's secret swapped", "revoked",
                        "UPDATE api_key SET secret_sha256 = sha256('attacker-secret'::bytea) WHERE id = '%s'"),
                Arguments.of("client id changed", "live", "UPDATE api_key SET client_id = 'admin-cli' WHERE id = '%s'"),
                Arguments.of("hint changed", "live", "UPDATE api_key SET hint = 'zzzz' WHERE id = '%s'"));
    }

    static UUID key(String which) {
        return switch (which) {
            case "live" -> live;
            case "revoked" -> revoked;
            default -> expired;
        };
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tampers")
    void should_not_verify_a_key_row_changed_behind_its_entries(String what, String which, String sql)
            throws Exception {
        assertCleanBefore();
        UUID id = key(which);
        dba("DROP TABLE IF EXISTS key_backup", "CREATE TABLE key_backup AS SELECT * FROM api_key WHERE id = '" + id + "'",
                sql.formatted(id));
        try {
            assertNotValidAfter(what);
        } finally {
            dba("DELETE FROM api_key WHERE id = '" + id + "'", "INSERT INTO api_key SELECT * FROM key_backup",
                    "DROP TABLE key_backup");
        }
    }

    @Test
    void should_not_verify_a_key_inserted_behind_the_chain() throws Exception {
        assertCleanBefore();
        dba("INSERT INTO api_key (id, secret_sha256, hint, name, owner_subject, principal_type, created_at, created_by, "
                + "expires_at) VALUES (gen_random_uuid(), '\\x01', 'abcd', 'backdoor', 'mallory-sub', 'user', now(), "
                + "'mallory-sub', now() + interval '10 years')");
        try {
            assertNotValidAfter("api_key row inserted with no key.created entry");
            assertThat(verifyAsAuditor().faults()).anyMatch(f -> f.contains("key_unchained"));
        } finally {
            dba("DELETE FROM api_key WHERE name = 'backdoor'");
        }
    }

    @Test
    void should_not_verify_when_a_chained_key_row_is_deleted() throws Exception {
        assertCleanBefore();
        dba("DROP TABLE IF EXISTS key_backup", "CREATE TABLE key_backup AS SELECT * FROM api_key WHERE id = '"
                + revoked + "'", "DELETE FROM api_key WHERE id = '" + revoked + "'");
        try {
            assertNotValidAfter("revoked api_key row deleted");
            assertThat(verifyAsAuditor().faults()).anyMatch(f -> f.contains("key_missing"));
        } finally {
            dba("INSERT INTO api_key SELECT * FROM key_backup", "DROP TABLE key_backup");
        }
    }

    @Test
    void should_name_the_changed_column() throws Exception {
        dba("DROP TABLE IF EXISTS key_backup", "CREATE TABLE key_backup AS SELECT * FROM api_key WHERE id = '"
                + revoked + "'", "UPDATE api_key SET revoked_at = NULL, revoked_by = NULL WHERE id = '" + revoked + "'");
        try {
            assertThat(verifyAsAuditor().faults()).anyMatch(f -> f.contains("key " + revoked)
                    && f.contains("key_mismatch") && f.contains("revoked_at"));
        } finally {
            dba("DELETE FROM api_key WHERE id = '" + revoked + "'", "INSERT INTO api_key SELECT * FROM key_backup",
                    "DROP TABLE key_backup");
        }
    }
}
