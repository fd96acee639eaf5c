package attest.routes;

import attest.http.ChannelGuards;
import attest.http.ConnectionLimits;
import attest.http.HardenedNettyHttpComponent;
import attest.http.KeyCheck;
import attest.http.RefusedRequest;
import attest.keys.KeyRecords;
import attest.keys.KeyResolver;
import attest.keys.KeySecrets;
import attest.keys.Owner;
import attest.keys.VirtualKey;
import attest.usage.Budget;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An outside review, from the spec only (docs/security.md's DenialLimiter row, README's
 * attest.policy.denials-per-caller row), of who a 429 too_many_denials at the door names. Raw HTTP/1.1 to the real
 * data-plane listener with its early guard, key check and denial limiter, the real YAML routes counting denials.
 * Every 429 is matched to the refusal the recorder got by its X-Request-Id: a key's names that key (its id, its owner)
 * and no other, a token's names the token's subject and no key, a bad secret names nobody, the secret and its digest
 * never appear; across window turns, past the tracked bound, two keys of one owner, a key and its owner's token, and
 * many keys locked out at once from many threads.
 */
@CamelMainTest(
        configurationClasses = DenialNamingHostileTest.Wiring.class,
        properties = {"attest.kafka.brokers=", "attest.rules.watch=false", "attest.kafka.relay-brokers=127.0.0.1:9",
                "attest.data.host=127.0.0.1"},
        replaceRouteFromWith = {"control-health=direct:health",
                "control-health-live=direct:health-live", "control-health-ready=direct:health-ready",
                "control-rules=direct:rules", "rules-watch=direct:rules-watch",
                "control-metrics=direct:metrics", "control-approvals=direct:control-approvals",
                "control-auth-callback=direct:auth-callback", "control-audit=direct:audit",
                "evidence-proof=direct:evidence-proof", "control-keys=direct:control-keys",
                "control-openapi=direct:openapi"})
class DenialNamingHostileTest {
    static final int PORT = ReadPathWatchBypassHostileTest.freePort();
    static final int PER_WINDOW = 2;
    static final long WINDOW = 60_000;
    static final int TRACKED = 8;
    static final List<RefusedRequest> REFUSALS = new CopyOnWriteArrayList<>();
    static final attest.identity.FakeClock CLOCK = new attest.identity.FakeClock(Instant.now());
    static final String ALICE = RouteTestConfiguration.TOKENS.user("alice", List.of("inference-user"));
    static final String ALICE_SUB = UUID.nameUUIDFromBytes("alice".getBytes()).toString();
    static final String BOB = RouteTestConfiguration.TOKENS.user("bob", List.of("inference-user"));
    static final String BOB_SUB = UUID.nameUUIDFromBytes("bob".getBytes()).toString();
    /** Keys by secret: kim owns k0..k13, alice owns ka (her token's subject). */
    static final Map<String, VirtualKey> KEYS = new java.util.concurrent.ConcurrentHashMap<>();
    static final List<String> KIM_KEYS = new ArrayList<>();
    static final String ALICE_KEY = KeySecrets.generate();

    static {
        for (int i = 0; i < 15; i++) {
            String s = KeySecrets.generate();
            KIM_KEYS.add(s);
            KEYS.put(s, key(s, "kim"));
        }
        KEYS.put(ALICE_KEY, key(ALICE_KEY, ALICE_SUB));
    }

    static VirtualKey key(String secret, String owner) {
        return new VirtualKey(UUID.randomUUID(), "k", KeySecrets.hint(secret), owner, owner, "user", "attest-cli",
                List.of(), List.of(), Budget.NONE, Instant.now(), owner, Instant.now().plus(Duration.ofDays(1)), null,
                null);
    }

    public static class Wiring implements CamelConfiguration {
        @Override
        public void configure(CamelContext context) {
            context.getPropertiesComponent().addOverrideProperty("attest.data.port", String.valueOf(PORT));
            new RouteTestConfiguration().configure(context);
            Registry r = context.getRegistry();
            Clock clock = Clock.systemUTC();
            KeyResolver keys = keys(clock);
            var denials = new attest.policy.DenialLimiter(PER_WINDOW, WINDOW, TRACKED);
            var netty = new HardenedNettyHttpComponent();
            netty.guard(PORT, new ChannelGuards(new ConnectionLimits(0, 0), 60_000, REFUSALS::add)
                    .withEarlyAuth(RouteTestConfiguration.TOKENS.validator(clock), 16_384)
                    .withKeys(KeyCheck.offLoop(keys::check, keys::checkBlocks, Executors.newFixedThreadPool(4)))
                    .withDenials(denials, CLOCK));
            r.bind("netty-http", netty);
            for (String name : List.of("verifyKeyProcessor", "denialLimiter", "countDenialProcessor")) {
                r.unbind(name);
            }
            r.bind("verifyKeyProcessor", new attest.identity.VerifyKeyProcessor(keys));
            r.bind("denialLimiter", denials);
            r.bind("countDenialProcessor", new attest.policy.CountDenialProcessor(denials, CLOCK));
        }

        static KeyResolver keys(Clock clock) {
            KeyRecords records = new KeyRecords() {
                @Override
                public Optional<VirtualKey> bySecret(String secret) {
                    return Optional.ofNullable(KEYS.get(secret));
                }

                @Override
                public Optional<Owner> owner(String subject) {
                    return Optional.of(owner0(subject));
                }

                @Override
                public void saveOwner(Owner o) {
                    // fixed
                }

                @Override
                public List<String> liveOwners() {
                    return List.of("kim", ALICE_SUB);
                }
            };
            return new KeyResolver(records, subject -> Optional.of(owner0(subject)), clock, Duration.ZERO,
                    Duration.ofSeconds(30), 1_000, "iss");
        }

        static Owner owner0(String subject) {
            return new Owner(subject, subject, true, List.of("inference-user"), List.of(), Instant.now());
        }
    }

    /** To the start of a later window (the windows are aligned to the epoch). */
    static void nextWindow() {
        long now = CLOCK.millis();
        CLOCK.advance(Duration.ofMillis((now / WINDOW + 1) * WINDOW + 1 - now));
    }

    @BeforeEach
    void freshWindow() {
        nextWindow();
    }

    /** A call policy refuses (GET is not allowed): a 4xx that counts. */
    static String denied(String authHeader) {
        return "GET /llm/v1/models HTTP/1.1\r\nHost: x\r\n" + authHeader + "\r\nConnection: close\r\n\r\n";
    }

    static String bearer(String t) {
        return "Authorization: Bearer " + t;
    }

    record Answer(int status, String requestId, String raw) {
    }

    static Answer send(String request) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), PORT)) {
            s.setSoTimeout(15_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            int n;
            try {
                while ((n = in.read(buf)) >= 0) {
                    got.write(buf, 0, n);
                }
            } catch (IOException e) {
                // a reset after the answer
            }
            String raw = got.toString(StandardCharsets.ISO_8859_1);
            int status = raw.startsWith("HTTP/1.1 ") ? Integer.parseInt(raw.substring(9, 12)) : -1;
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?im)^x-request-id:\\s*(\\S+)").matcher(raw);
            return new Answer(status, m.find() ? m.group(1) : null, raw);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static RefusedRequest refusalOf(Answer a) {
        assertThat(a.requestId()).as("the 429 names its request id: " + a.raw()).isNotNull();
        // the recorder may get the refusal just after the answer is written
        return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> REFUSALS.stream()
                .filter(r -> a.requestId().equals(r.requestId())).findFirst(), Optional::isPresent).orElseThrow();
    }

    /** Denied until the door refuses: the 429's refusal. */
    static RefusedRequest lockOut(String authHeader) {
        for (int i = 0; i < PER_WINDOW; i++) {
            assertThat(send(denied(authHeader)).status()).as("a counted denial").isIn(403, 404);
        }
        Answer a = send(denied(authHeader));
        assertThat(a.status()).as("locked out at the door: " + a.raw()).isEqualTo(429);
        assertThat(a.raw()).contains("too_many_denials");
        return refusalOf(a);
    }

    static void assertNoSecret(RefusedRequest r, String secret) throws Exception {
        byte[] d = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
        String text = r.toString().toLowerCase(java.util.Locale.ROOT);
        for (String form : List.of(secret, HexFormat.of().formatHex(d), java.util.Base64.getEncoder().encodeToString(d),
                java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(d), KEYS.get(secret) == null ? "-"
                        : "x")) {
            if (!form.equals("x") && !form.equals("-")) {
                assertThat(text).as("secret or digest in the refusal").doesNotContain(form.toLowerCase(java.util.Locale.ROOT));
            }
        }
    }

    static void assertNamesKey(RefusedRequest r, String secret) throws Exception {
        VirtualKey k = KEYS.get(secret);
        assertThat(r.code()).isEqualTo("too_many_denials");
        assertThat(r.keyId()).as("the key named").isEqualTo(k.id());
        assertThat(r.subject()).as("the key's owner named").isEqualTo(k.ownerSubject());
        assertNoSecret(r, secret);
        assertViews(r, k.ownerSubject(), k.id(), secret);
    }

    /** The refusal as the recorder stores it: its record row, its chain entry and its Kafka event name the same. */
    static void assertViews(RefusedRequest q, String subject, UUID keyId, String secret) throws Exception {
        Instant now = Instant.now();
        attest.evidence.EvidenceRecord rec = new attest.evidence.EvidenceAssembler("h89").refusal(q, now);
        assertThat(rec.getSubject()).as("record subject").isEqualTo(subject);
        assertThat(rec.getKeyId()).as("record key_id").isEqualTo(keyId);
        var entry = attest.evidence.chain.ChainRecords.call(rec, now);
        Map<?, ?> identity = (Map<?, ?>) entry.body().get("identity");
        assertThat(identity.get("subject")).as("chain entry subject").isEqualTo(subject);
        assertThat(identity.get("key_id") == null ? null : String.valueOf(identity.get("key_id")))
                .as("chain entry key_id").isEqualTo(keyId == null ? null : keyId.toString());
        var event = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                attest.evidence.EvidenceEvents.refusal(rec, "t", now).getPayload());
        assertThat(event.path("record").path("identity").path("subject").asText(null)).as("event identity.subject in " + event).isEqualTo(subject);
        assertThat(event.path("record").path("identity").path("key_id").asText(null)).as("event identity.key_id")
                .isEqualTo(keyId == null ? null : keyId.toString());
        byte[] d = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
        for (String view : List.of(String.valueOf(entry.body()), event.toString())) {
            assertThat(view.toLowerCase(java.util.Locale.ROOT)).doesNotContain(secret.toLowerCase(java.util.Locale.ROOT))
                    .doesNotContain(HexFormat.of().formatHex(d));
        }
    }

    static final List<String> LOGS = new CopyOnWriteArrayList<>();
    static org.apache.logging.log4j.core.appender.AbstractAppender tap;

    @org.junit.jupiter.api.BeforeAll
    static void tapLogs() {
        var ctx = (org.apache.logging.log4j.core.LoggerContext) org.apache.logging.log4j.LogManager.getContext(false);
        tap = new org.apache.logging.log4j.core.appender.AbstractAppender("h89-denial-log-tap", null, null, true,
                org.apache.logging.log4j.core.config.Property.EMPTY_ARRAY) {
            @Override
            public void append(org.apache.logging.log4j.core.LogEvent event) {
                LOGS.add(event.getMessage().getFormattedMessage() + " | " + event.getThrown());
            }
        };
        tap.start();
        ctx.getConfiguration().getRootLogger().addAppender(tap, null, null);
        ctx.updateLoggers();
    }

    @org.junit.jupiter.api.AfterAll
    static void noSecretInLogs() throws Exception {
        var ctx = (org.apache.logging.log4j.core.LoggerContext) org.apache.logging.log4j.LogManager.getContext(false);
        ctx.getConfiguration().getRootLogger().removeAppender(tap.getName());
        ctx.updateLoggers();
        String all = String.join("\n", LOGS).toLowerCase(java.util.Locale.ROOT);
        for (String s : KEYS.keySet()) {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            assertThat(all).as("a key's secret or digest in the logs").doesNotContain(s.toLowerCase(java.util.Locale.ROOT))
                    .doesNotContain(HexFormat.of().formatHex(d));
        }
        assertThat(all).doesNotContain(ALICE.toLowerCase(java.util.Locale.ROOT));
    }

    @Test
    void should_name_a_locked_out_key_by_its_id_and_owner_under_every_header() throws Exception {
        String s = KIM_KEYS.get(0);
        assertNamesKey(lockOut(bearer(s)), s);
        assertNamesKey(refusalOf(send(denied("x-api-key: " + s))), s);
        assertNamesKey(refusalOf(send(denied("api-key: " + s))), s);
    }

    @Test
    void should_name_each_of_two_keys_of_one_owner_as_itself() throws Exception {
        String a = KIM_KEYS.get(1);
        String b = KIM_KEYS.get(2);
        assertNamesKey(lockOut(bearer(a)), a);
        assertThat(send(denied(bearer(b))).status()).as("the owner's other key is not locked out").isNotEqualTo(429);
        send(denied(bearer(b)));
        Answer ab = send(denied(bearer(b)));
        assertNamesKey(refusalOf(ab), b);
        assertNamesKey(refusalOf(send(denied(bearer(a)))), a);
    }

    @Test
    void should_never_give_a_token_a_keys_name_or_a_key_the_tokens() throws Exception {
        // alice's key and alice's token, interleaved in one window
        for (int i = 0; i < PER_WINDOW; i++) {
            assertThat(send(denied(bearer(ALICE_KEY))).status()).isIn(403, 404);
            assertThat(send(denied(bearer(ALICE))).status()).isIn(403, 404);
        }
        RefusedRequest key = refusalOf(send(denied(bearer(ALICE_KEY))));
        RefusedRequest token = refusalOf(send(denied(bearer(ALICE))));
        assertNamesKey(key, ALICE_KEY);
        assertThat(token.code()).isEqualTo("too_many_denials");
        assertThat(token.subject()).isEqualTo(ALICE_SUB);
        assertThat(token.keyId()).as("a token caller named by a key").isNull();
        assertNoSecret(token, ALICE_KEY);
        assertViews(token, ALICE_SUB, null, ALICE_KEY);
    }

    @Test
    void should_not_carry_a_keys_name_into_the_next_windows_refusal_of_another_caller() throws Exception {
        String s = KIM_KEYS.get(3);
        assertNamesKey(lockOut(bearer(s)), s);
        nextWindow();
        assertThat(send(denied(bearer(s))).status()).as("a new window: the key is served again").isIn(403, 404);
        RefusedRequest bob = lockOut(bearer(BOB));
        assertThat(bob.subject()).isEqualTo(BOB_SUB);
        assertThat(bob.keyId()).as("bob named by last window's key").isNull();
        assertViews(bob, BOB_SUB, null, s);
        // and the key locked out again in this window is still itself
        send(denied(bearer(s)));
        assertNamesKey(refusalOf(send(denied(bearer(s)))), s);
    }

    @Test
    void should_name_nobody_for_a_bad_secret() throws Exception {
        String bad = KeySecrets.generate();
        for (int i = 0; i < PER_WINDOW + 2; i++) {
            Answer a = send(denied(bearer(bad)));
            assertThat(a.status()).isEqualTo(401);
            RefusedRequest r = refusalOf(a);
            assertThat(r.keyId()).isNull();
            assertThat(r.subject()).isNull();
            assertNoSecret(r, bad);
        }
    }

    @Test
    void should_name_no_key_past_the_tracked_bound_and_not_lock_an_untracked_key_out() throws Exception {
        // the bound filled by callers with one denial each
        for (int i = 4; i < 4 + TRACKED; i++) {
            send(denied(bearer(KIM_KEYS.get(i))));
        }
        String late = KIM_KEYS.get(13);
        for (int i = 0; i < PER_WINDOW + 3; i++) {
            Answer a = send(denied(bearer(late)));
            // one past the bound is not tracked: not refused at the door, so never named
            assertThat(a.status()).as("a caller past the tracked bound is not locked out: " + a.raw()).isIn(403, 404);
        }
        // the tracked callers locked out each name themselves, never the late key
        for (int i = 4; i < 4 + TRACKED; i++) {
            String s = KIM_KEYS.get(i);
            for (int j = 1; j < PER_WINDOW; j++) {
                assertThat(send(denied(bearer(s))).status()).isIn(403, 404);
            }
            Answer a = send(denied(bearer(s)));
            assertThat(a.status()).as("a tracked caller is locked out: " + a.raw()).isEqualTo(429);
            assertNamesKey(refusalOf(a), s);
        }
    }

    @Test
    void should_never_cross_names_when_many_keys_are_locked_out_from_many_threads() throws Exception {
        // five of kim's keys, alice's key and alice's token (one subject), bob's token: the tracked bound exactly
        List<String> callers = new ArrayList<>(KIM_KEYS.subList(4, 9));
        callers.add(ALICE_KEY);
        callers.add("token:" + ALICE);
        callers.add("token:" + BOB);
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<String[]>> calls = new ArrayList<>();
            for (int round = 0; round < 6; round++) {
                for (String s : callers) {
                    String header = s.startsWith("token:") ? bearer(s.substring(6)) : switch (round % 3) {
                        case 0 -> bearer(s);
                        case 1 -> "x-api-key: " + s;
                        default -> "api-key: " + s;
                    };
                    calls.add(pool.submit(() -> {
                        Answer a = send(denied(header));
                        return new String[]{s, String.valueOf(a.status()), a.requestId(), a.raw()};
                    }));
                }
            }
            int locked = 0;
            for (Future<String[]> f : calls) {
                String[] got = f.get();
                int status = Integer.parseInt(got[1]);
                assertThat(status).as(got[3]).isIn(403, 404, 429);
                if (status == 429) {
                    locked++;
                    RefusedRequest r = refusalOf(new Answer(status, got[2], got[3]));
                    if (got[0].startsWith("token:")) {
                        assertThat(r.keyId()).as("a token's 429 named by a key").isNull();
                        assertThat(r.subject()).isEqualTo(got[0].equals("token:" + ALICE) ? ALICE_SUB : BOB_SUB);
                        assertNoSecret(r, ALICE_KEY);
                    } else {
                        assertNamesKey(r, got[0]);
                    }
                }
            }
            assertThat(locked).as("callers were locked out").isGreaterThanOrEqualTo(callers.size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void should_keep_a_locked_out_key_out_under_other_spellings_of_its_header() throws Exception {
        String s = KIM_KEYS.get(12);
        assertNamesKey(lockOut(bearer(s)), s);
        for (String header : List.of("authorization: bearer " + s, "AUTHORIZATION: BEARER " + s,
                "Authorization: Bearer  " + s, "x-api-key:   " + s + "  ", "X-API-KEY: " + s, "Api-Key: " + s,
                "Authorization:\tBearer " + s)) {
            Answer a = send(denied(header));
            assertThat(a.status()).as(header.replace(s, "<key>") + ": " + a.raw()).isIn(429);
            assertNamesKey(refusalOf(a), s);
        }
    }

    @Test
    void should_not_mix_a_locked_out_keys_name_with_a_token_sent_beside_it() throws Exception {
        String s = KIM_KEYS.get(11);
        assertNamesKey(lockOut(bearer(s)), s);
        RefusedRequest bob = lockOut(bearer(BOB));
        assertThat(bob.keyId()).isNull();
        for (String both : List.of(bearer(BOB) + "\r\nx-api-key: " + s, "x-api-key: " + s + "\r\n" + bearer(BOB),
                bearer(ALICE) + "\r\napi-key: " + s, "x-api-key: " + s + "\r\napi-key: " + KIM_KEYS.get(10))) {
            Answer a = send(denied(both));
            assertThat(a.status()).as(a.raw()).isIn(400, 401, 429);
            RefusedRequest r = refusalOf(a);
            if (r.keyId() != null) {
                assertThat(r.keyId()).as("a key named with another caller's subject").isEqualTo(KEYS.get(s).id());
                assertThat(r.subject()).isEqualTo("kim");
            } else if (r.subject() != null) {
                assertThat(r.subject()).as("named by a token's subject").isIn(BOB_SUB, ALICE_SUB);
            }
            assertNoSecret(r, s);
        }
    }

    @Test
    void should_name_a_key_revoked_after_its_denials_or_refuse_it_naming_no_key() throws Exception {
        String s = KIM_KEYS.get(14);
        VirtualKey k = KEYS.get(s);
        assertNamesKey(lockOut(bearer(s)), s);
        KEYS.put(s, new VirtualKey(k.id(), k.name(), k.hint(), k.ownerSubject(), k.ownerUsername(), k.principalType(),
                k.clientId(), k.upstreams(), k.models(), k.budget(), k.createdAt(), k.createdBy(), k.expiresAt(),
                Instant.now(), "admin"));
        try {
            Answer a = send(denied(bearer(s)));
            assertThat(a.status()).as(a.raw()).isIn(429, 401);
            RefusedRequest r = refusalOf(a);
            if (a.status() == 429) {
                // the door still takes it as live (the resolver's cache): named as before
                assertThat(r.keyId()).isEqualTo(k.id());
                assertThat(r.subject()).isEqualTo("kim");
            } else {
                assertThat(r.keyId()).as("a revoked key's 401 names no key").isNull();
                assertThat(r.subject()).isNull();
            }
            assertNoSecret(r, s);
        } finally {
            KEYS.put(s, k);
        }
    }
}
