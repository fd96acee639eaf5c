package attest.evidence;

import attest.http.RefusedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a refused request costs the store, measured in PostgreSQL (pg_column_size of its evidence row, its chain
 * entry and its outbox event): at most 2 KB, whatever the request carried.
 */
class RefusalStorageTest {
    static Database db;
    static EvidenceWriter writer;
    static RefusalRecorder recorder;
    static final int MIB = 1024 * 1024;
    static final String LONG_ID = "x".repeat(128);

    @BeforeAll
    static void up() throws Exception {
        db = Database.open("", "", "", Files.createTempDirectory("attest-refusal-pg"), 0, 4, Duration.ofSeconds(2));
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain("refusals"), 100, 16,
                Duration.ZERO, Duration.ofSeconds(5));
        byte[] key = new byte[32];
        new java.security.SecureRandom().nextBytes(key);
        writer.encryptWith(new attest.evidence.crypto.PayloadCipher(db.dataSource(),
                attest.evidence.crypto.MasterKey.fromBase64(Base64.getEncoder().encodeToString(key)),
                Duration.ofDays(1), Clock.systemUTC()));
        recorder = new RefusalRecorder(new EvidenceAssembler("refusals"), writer,
                new RefusalLimiter(1_000_000, Duration.ofMinutes(1), 100), "refusals", "attest.evidence.v1",
                Clock.systemUTC());
    }

    @AfterAll
    static void down() {
        writer.close();
        db.close();
    }

    static Stream<Arguments> refusals() {
        String hostile = "/llm/v1/chat/completions/" + "%2e%2e/".repeat(2000) + "?api_key=" + "k".repeat(5000);
        return Stream.of(
                Arguments.of("no token, 1 MiB body", new RefusedRequest(401, "invalid_token",
                        "the access token is missing or invalid", "POST", "/llm/v1/chat/completions", "127.0.0.1",
                        "0f6a3c1e-7c1b-4a0e-9a39-2d0b1f3e4a55", (long) MIB, null, "no bearer token")),
                Arguments.of("no token, every caller-chosen field at its longest", new RefusedRequest(401,
                        "invalid_token", "the access token is missing or invalid", "M".repeat(8000), hostile,
                        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", LONG_ID,
                        Long.MAX_VALUE, "a".repeat(64), "algorithm not allowed: " + "A".repeat(4000))),
                Arguments.of("connection cap", new RefusedRequest(503, "overloaded",
                        "too many connections from this source address", null, null, "10.1.2.3", null, null, null,
                        null)),
                Arguments.of("oversized headers, long target", new RefusedRequest(431, "headers_too_large",
                        "request headers too large", "GET", hostile, "10.1.2.3", null, null, null, null)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void should_store_at_most_2_KB_for_a_refused_request(String name, RefusedRequest refusal) throws Exception {
        long before = recorder.recorded();
        recorder.accept(refusal);
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> recorder.recorded() == before + 1);
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT pg_column_size(r.*), (SELECT sum(pg_column_size(ch.*)) FROM evidence_chain ch WHERE "
                        + "ch.subject_id = r.id), (SELECT sum(pg_column_size(o.*)) FROM evidence_outbox o WHERE "
                        + "o.event_key = r.id::text), r.request_body IS NULL AND r.response_body IS NULL, r.request_size "
                        + "FROM evidence_record r ORDER BY r.received_at DESC LIMIT 1")) {
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                long row = rs.getLong(1);
                long chain = rs.getLong(2);
                long outbox = rs.getLong(3);
                System.out.printf("[refusal] %s: row %d + chain %d + outbox %d = %d bytes%n", name, row, chain, outbox,
                        row + chain + outbox);
                assertThat(chain).as("a chain entry").isPositive();
                assertThat(outbox).as("an outbox event").isPositive();
                assertThat(row + chain + outbox).as("bytes stored for one refused request").isLessThanOrEqualTo(2048);
                assertThat(rs.getBoolean(4)).as("no body stored").isTrue();
                // the declared size, unless it is past 2^53 (not a size, and not representable in canonical JSON)
                Long declared = refusal.declaredSize();
                assertThat(rs.getObject(5)).isEqualTo(declared != null && declared <= (1L << 53) ? declared : null);
            }
        }
    }
    @org.junit.jupiter.api.Test
    void should_name_the_verified_caller_of_a_too_many_denials_refusal_in_row_chain_and_event() throws Exception {
        String subject = "5a7d0c9e-2f1b-4c3d-8e9f-0a1b2c3d4e5f";
        String rid = java.util.UUID.randomUUID().toString();
        long before = recorder.recorded();
        recorder.accept(new RefusedRequest(429, "too_many_denials", "too many refused calls", "POST",
                "/llm/v1/chat/completions", "10.9.8.7", rid, 2L, "b".repeat(64), null, subject));
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> recorder.recorded() == before + 1);
        String[] e = evidenceOf(rid);
        assertThat(e[0]).isEqualTo(subject);
        assertThat(e[1]).as("a token names no key").isNull();
        assertThat(e[2]).isEqualTo("429");
        assertThat(e[3]).isEqualTo("too_many_denials");
        assertThat(e[4]).as("the chain entry").contains(subject).doesNotContain("key_id");
        assertThat(e[5]).as("the Kafka event").contains("\"identity\":{\"subject\":\"" + subject + "\"}");
    }

    /** The row's subject and key_id, its chain entry and its event, by request id. */
    static String[] evidenceOf(String rid) throws Exception {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT r.subject, r.key_id::text, r.status, r.error_code, (SELECT string_agg(convert_from(ch.canonical, "
                        + "'UTF8'), '') FROM evidence_chain ch WHERE ch.subject_id = r.id), (SELECT string_agg(o.payload, "
                        + "'') FROM evidence_outbox o WHERE o.event_key = r.id::text), row_to_json(r.*)::text "
                        + "FROM evidence_record r WHERE r.request_id = ?")) {
            ps.setString(1, rid);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("the record of %s", rid).isTrue();
                return new String[] {rs.getString(1), rs.getString(2), String.valueOf(rs.getInt(3)), rs.getString(4),
                        rs.getString(5), rs.getString(6), rs.getString(7)};
            }
        }
    }

    @org.junit.jupiter.api.Test
    void should_name_a_locked_out_virtual_key_and_its_owner_in_row_chain_and_event_as_its_calls_do() throws Exception {
        String owner = "6b8e1d0f-3a2c-4d5e-9f0a-1b2c3d4e5f60";
        java.util.UUID keyId = java.util.UUID.fromString("c3d4e5f6-a7b8-4c9d-8e0f-112233445566");
        String secret = attest.keys.KeySecrets.generate();
        String digest = attest.policy.DenialLimiter.key(secret).substring(4);
        String rid = java.util.UUID.randomUUID().toString();
        long before = recorder.recorded();
        recorder.accept(new RefusedRequest(429, "too_many_denials", "too many refused calls", "POST",
                "/llm/v1/chat/completions", "10.9.8.6", rid, 2L, "b".repeat(64), null, owner, keyId));
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> recorder.recorded() == before + 1);
        String[] e = evidenceOf(rid);
        assertThat(e[0]).as("the owner, as a call made with the key names it").isEqualTo(owner);
        assertThat(e[1]).as("the key, as a call made with it names it").isEqualTo(keyId.toString());
        assertThat(e[2]).isEqualTo("429");
        assertThat(e[3]).isEqualTo("too_many_denials");
        assertThat(e[4]).as("the chain entry").contains("\"key_id\":\"" + keyId + "\"").contains(owner);
        assertThat(e[5]).as("the Kafka event")
                .contains("\"identity\":{\"subject\":\"" + owner + "\",\"key_id\":\"" + keyId + "\"}");
        for (String part : e) {
            assertThat(part).doesNotContain(secret).doesNotContain(digest);
        }
    }

    @org.junit.jupiter.api.Test
    void should_keep_the_summary_consistent_past_the_sources_share_of_named_key_refusals() throws Exception {
        String source = "10.66.0.1";
        java.util.UUID keyA = java.util.UUID.randomUUID();
        java.util.UUID keyB = java.util.UUID.randomUUID();
        Clock fixed = Clock.fixed(java.time.Instant.parse("2026-12-01T12:00:10Z"), java.time.ZoneOffset.UTC);
        RefusalRecorder shared = new RefusalRecorder(new EvidenceAssembler("refusals"), writer,
                new RefusalLimiter(2, Duration.ofMinutes(1), 100), "refusals", "attest.evidence.v1", fixed);
        java.util.List<String> rids = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) { // key A twice, then key B, key A, a bad secret (nobody)
            String rid = java.util.UUID.randomUUID().toString();
            rids.add(rid);
            java.util.UUID key = i == 2 ? keyB : i == 4 ? null : keyA;
            shared.accept(i == 4 ? new RefusedRequest(401, "invalid_token", "no valid bearer token", "POST",
                    "/llm/v1/chat/completions", source, rid, 2L, null, "unknown key")
                    : new RefusedRequest(429, "too_many_denials", "too many refused calls", "POST",
                    "/llm/v1/chat/completions", source, rid, 2L, null, null, "owner-" + key, key));
        }
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> shared.recorded() == 2);
        assertThat(shared.counted()).isEqualTo(3);
        assertThat(evidenceOf(rids.get(0))[1]).isEqualTo(keyA.toString());
        assertThat(evidenceOf(rids.get(1))[1]).isEqualTo(keyA.toString());
        shared.close(); // the window's summary
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> summaryOf(source) != null);
        assertThat(summaryOf(source)).isEqualTo("2 {\"401\": 1, \"429\": 2} 3");
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM evidence_record WHERE source_address = ?")) {
            ps.setString(1, source);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertThat(rs.getLong(1)).as("2 recorded + 3 counted = the 5 refusals").isEqualTo(2);
            }
        }
    }

    /** The source's summary row: recorded, counted by status, counted in all; null when none yet. */
    static String summaryOf(String source) throws Exception {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT recorded || ' ' || counted::text || ' ' || counted_total FROM refusal_summary "
                        + "WHERE source_address = ?")) {
            ps.setString(1, source);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
