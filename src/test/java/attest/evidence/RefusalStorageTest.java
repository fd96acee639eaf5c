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
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT r.subject, r.status, r.error_code, (SELECT string_agg(convert_from(ch.canonical, 'UTF8'), '') "
                        + "FROM evidence_chain ch WHERE ch.subject_id = r.id), (SELECT string_agg(o.payload, '') "
                        + "FROM evidence_outbox o WHERE o.event_key = r.id::text) FROM evidence_record r "
                        + "WHERE r.request_id = ?")) {
            ps.setString(1, rid);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo(subject);
                assertThat(rs.getInt(2)).isEqualTo(429);
                assertThat(rs.getString(3)).isEqualTo("too_many_denials");
                assertThat(rs.getString(4)).as("the chain entry").contains(subject);
                assertThat(rs.getString(5)).as("the Kafka event").contains("\"identity\":{\"subject\":\"" + subject + "\"}");
            }
        }
    }
}
