package attest.evidence;

import attest.evidence.crypto.MasterKey;
import attest.evidence.crypto.PayloadCipher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A call's request body is sealed and stored once: the terminal update of a record whose request body is the one
 * its open record stored leaves the column as it is (the same ciphertext, and on PostgreSQL the same TOAST value,
 * not a second copy of the prompt), and seals the answer with the request body's data key, so that one
 * {@code payload_key_id} opens both. Where the request body changed, or its data key can no longer seal, the update
 * writes it again. Real PostgreSQL (embedded), a real cipher, the writer's own commit paths.
 */
class RequestSealedOnceTest {
    static Path dir;
    static Database db;
    static final attest.identity.FakeClock CLOCK =
            new attest.identity.FakeClock(Instant.parse("2026-11-29T10:00:00Z"));
    static MasterKey master;
    EvidenceWriter writer;

    @BeforeAll
    static void up() throws Exception {
        dir = Files.createTempDirectory("attest-sealed-once-pg");
        db = Database.open("", "", "", dir.resolve("data"), 0, 4, Duration.ofSeconds(2));
        byte[] key = new byte[32];
        new java.security.SecureRandom().nextBytes(key);
        master = MasterKey.fromBase64(Base64.getEncoder().encodeToString(key));
    }

    @AfterAll
    static void down() {
        db.close();
    }

    @BeforeEach
    void writer() {
        // maxBatch 1: each write is committed alone (in one round trip where the chain head is held)
        writer = new EvidenceWriter(db.sessionFactory(), new attest.evidence.chain.EvidenceChain("sealed-once"), 10, 1,
                Duration.ZERO, Duration.ofSeconds(5)).encryptWith(cipher());
    }

    @AfterEach
    void close() {
        writer.close();
    }

    static PayloadCipher cipher() {
        return new PayloadCipher(db.dataSource(), master, Duration.ofDays(1), CLOCK);
    }

    static byte[] random(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    static EvidenceRecord opened(byte[] request) {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.randomUUID());
        r.setRequestId(UUID.randomUUID().toString());
        r.setInstanceId("sealed-once");
        r.setState(EvidenceRecord.OPEN);
        r.setReceivedAt(CLOCK.instant());
        r.setForwardedAt(CLOCK.instant());
        r.setMethod("POST");
        r.setPath("/llm/v1/chat/completions");
        r.setRequestBody(request);
        r.setRequestSize((long) request.length);
        r.setRequestSha256(EvidenceAssembler.sha256(request));
        return r;
    }

    static void answer(EvidenceRecord r, byte[] response) {
        r.setStatus(200);
        r.setStreamed(false);
        r.setResponseBody(response);
        r.setResponseSize((long) response.length);
        r.setResponseSha256(EvidenceAssembler.sha256(response));
        r.terminate(Outcome.COMPLETED, CLOCK.instant());
    }

    /** The stored request body, its data key and (read as the owner) the TOAST value that holds it, if any. */
    record Stored(byte[] request, String keyId, Long toastValue) {
    }

    static Stored stored(UUID id) throws Exception {
        try (Connection owner = owner(); PreparedStatement ps = owner.prepareStatement(
                "SELECT request_body, payload_key_id FROM evidence_record WHERE id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("record " + id + " is stored").isTrue();
                return new Stored(rs.getBytes(1), rs.getString(2), toastValueOf(owner, id));
            }
        }
    }

    /**
     * The chunk_id of the live TOAST value as long as the record's request body (null: none, stored inline). The
     * tests give every out-of-line body a length of its own; a second match fails the test rather than guess.
     */
    static Long toastValueOf(Connection owner, UUID id) throws Exception {
        try (PreparedStatement ps = owner.prepareStatement("SELECT t.chunk_id FROM evidence_record e, "
                + "LATERAL (SELECT c.chunk_id FROM pg_toast.pg_toast_" + toastOwnerOid(owner) + " c "
                + "GROUP BY c.chunk_id HAVING sum(octet_length(c.chunk_data)) = octet_length(e.request_body)) t "
                + "WHERE e.id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                Long value = rs.next() ? rs.getLong(1) : null;
                assertThat(rs.next()).as("one TOAST value of that length").isFalse();
                return value;
            }
        }
    }

    static long toastOwnerOid(Connection owner) throws Exception {
        try (PreparedStatement ps = owner.prepareStatement("SELECT 'evidence_record'::regclass::oid");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void should_store_a_large_request_body_once_across_the_open_and_terminal_writes() throws Exception {
        byte[] prompt = random(64 * 1024);
        EvidenceRecord r = opened(prompt);
        writer.insert(r, null);
        Stored open = stored(r.getId());
        assertThat(open.toastValue()).as("a 64 KiB prompt is stored out of line").isNotNull();

        byte[] response = random(3000);
        answer(r, response);
        writer.update(r, null);
        Stored terminal = stored(r.getId());

        assertThat(terminal.request()).as("the very ciphertext the open record stored").isEqualTo(open.request());
        assertThat(terminal.toastValue()).as("the same TOAST value: the prompt was not written again")
                .isEqualTo(open.toastValue());
        assertThat(terminal.keyId()).isEqualTo(open.keyId());
        EvidenceRecord read = writer.find(r.getId());
        assertThat(read.getRequestBody()).isEqualTo(prompt);
        assertThat(read.getResponseBody()).isEqualTo(response);
        assertThat(read.getState()).isEqualTo(EvidenceRecord.TERMINAL);
    }

    @Test
    void should_keep_the_request_bodys_data_key_for_the_answer_when_the_key_period_turns_during_the_call()
            throws Exception {
        byte[] prompt = random(5000);
        EvidenceRecord r = opened(prompt);
        writer.insert(r, null);
        String before = stored(r.getId()).keyId();
        CLOCK.advance(Duration.ofDays(1)); // the data key's period ends while the call runs
        try {
            byte[] response = random(700);
            answer(r, response);
            writer.update(r, null);
            Stored terminal = stored(r.getId());
            assertThat(terminal.keyId()).as("one data key opens both payloads").isEqualTo(before);
            EvidenceRecord read = writer.find(r.getId());
            assertThat(read.getRequestBody()).isEqualTo(prompt);
            assertThat(read.getResponseBody()).isEqualTo(response);

            EvidenceRecord next = opened(random(10));
            writer.insert(next, null);
            assertThat(stored(next.getId()).keyId()).as("a new call takes the new period's key").isNotEqualTo(before);
        } finally {
            CLOCK.advance(Duration.ofDays(-1));
        }
    }

    @Test
    void should_write_the_request_body_again_when_the_terminal_record_has_another() throws Exception {
        // the same content in another array: not the stored body as far as the writer knows, so sealed and written
        byte[] prompt = random(4000);
        EvidenceRecord r = opened(prompt);
        writer.insert(r, null);
        Stored open = stored(r.getId());
        r.setRequestBody(prompt.clone());
        answer(r, random(100));
        writer.update(r, null);
        Stored terminal = stored(r.getId());
        assertThat(terminal.request()).as("sealed again (a new nonce)").isNotEqualTo(open.request());
        assertThat(writer.find(r.getId()).getRequestBody()).isEqualTo(prompt);

        // a body dropped at the end (a refused call keeps no body): the column is emptied, not left as it was
        EvidenceRecord refused = opened(random(3000));
        writer.insert(refused, null);
        refused.setRequestBody(null);
        refused.setStatus(429);
        refused.terminate(Outcome.DENIED, CLOCK.instant());
        writer.update(refused, null);
        assertThat(stored(refused.getId()).request()).isNull();
    }

    @Test
    void should_seal_everything_afresh_when_the_stored_request_bodys_key_can_no_longer_seal() throws Exception {
        // a period of its own: the data key destroyed here is no other test's
        Instant start = CLOCK.instant();
        CLOCK.advance(Duration.ofDays(10));
        try {
            byte[] prompt = random(3100);
            EvidenceRecord r = opened(prompt);
            writer.insert(r, null);
            Stored open = stored(r.getId());
            // the open record's data key is destroyed meanwhile (retention, seen by a cipher without it cached), and
            // a new period has begun
            try (Connection owner = owner(); PreparedStatement ps = owner.prepareStatement(
                    "UPDATE evidence_data_key SET wrapped = NULL, destroyed_at = now() WHERE id = ?")) {
                ps.setString(1, open.keyId());
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            CLOCK.advance(Duration.ofDays(1));
            writer.encryptWith(cipher());
            byte[] response = random(500);
            answer(r, response);
            writer.update(r, null);
            Stored terminal = stored(r.getId());
            assertThat(terminal.keyId()).isNotEqualTo(open.keyId());
            assertThat(terminal.request()).isNotEqualTo(open.request());
            EvidenceRecord read = writer.find(r.getId());
            assertThat(read.getRequestBody()).as("readable under the new key").isEqualTo(prompt);
            assertThat(read.getResponseBody()).isEqualTo(response);
        } finally {
            CLOCK.advance(Duration.between(CLOCK.instant(), start));
        }
    }

    static Connection owner() throws Exception {
        return DriverManager.getConnection(db.embedded().jdbcUrl(), "postgres",
                Files.readString(Database.ownerPasswordFile(dir.resolve("data"))).strip());
    }

    @Test
    void should_refuse_to_complete_a_record_whose_payloads_retention_purged_meanwhile() throws Exception {
        byte[] prompt = random(2100);
        EvidenceRecord r = opened(prompt);
        writer.insert(r, null);
        try (Connection owner = owner(); PreparedStatement ps = owner.prepareStatement(
                "UPDATE evidence_record SET request_body = NULL, payload_purged = true WHERE id = ?")) {
            ps.setObject(1, r.getId());
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
        answer(r, random(50));
        assertThatThrownBy(() -> writer.update(r, null)).isInstanceOf(EvidenceUnavailableException.class);
        try (Connection owner = owner(); PreparedStatement ps = owner.prepareStatement(
                "SELECT payload_purged, request_body IS NULL, state FROM evidence_record WHERE id = ?")) {
            ps.setObject(1, r.getId());
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getBoolean(1)).as("the purge is not undone").isTrue();
                assertThat(rs.getBoolean(2)).isTrue();
                assertThat(rs.getString(3)).isEqualTo(EvidenceRecord.OPEN);
            }
        }
    }

    @Test
    void should_refuse_to_keep_a_request_body_that_another_write_sealed_under_another_key() throws Exception {
        byte[] prompt = random(2200);
        EvidenceRecord r = opened(prompt);
        writer.insert(r, null);
        String first = stored(r.getId()).keyId();
        Instant start = CLOCK.instant();
        CLOCK.advance(Duration.ofDays(20));
        try {
            // another copy of the record (read back, as a held call's execution does) written in a later period
            EvidenceRecord copy = writer.find(r.getId());
            copy.setUpstream("llm");
            writer.update(copy, null);
            Stored rewritten = stored(r.getId());
            assertThat(rewritten.keyId()).isNotEqualTo(first);

            answer(r, random(60));
            assertThatThrownBy(() -> writer.update(r, null)).isInstanceOf(EvidenceUnavailableException.class);
            assertThat(stored(r.getId()).keyId()).isEqualTo(rewritten.keyId());
            assertThat(writer.find(r.getId()).getRequestBody()).as("still opens").isEqualTo(prompt);
        } finally {
            CLOCK.advance(Duration.between(CLOCK.instant(), start));
        }
    }

    @Test
    void should_remember_nothing_from_a_write_that_did_not_commit() {
        EvidenceRecord r = opened(random(2300));
        r.setState("bogus"); // refused by the table's check: the insert does not commit
        assertThatThrownBy(() -> writer.insert(r, null)).isInstanceOf(EvidenceUnavailableException.class);
        assertThat(r.sealedRequest()).isNull();
        r.setState(EvidenceRecord.OPEN);
        writer.insert(r, null);
        assertThat(r.sealedRequest()).isNotNull();
        assertThat(r.sealedRequest().plain()).isSameAs(r.getRequestBody());
    }

    @Test
    void should_find_the_row_to_keep_by_its_id_alone_whatever_the_plan() throws Exception {
        // the check of the stored key must not lead the planner to the partial index of unpurged rows by key (a
        // generic plan took it once under load: it read every row of the day's key, ~10 ms a call)
        EvidenceRecord r = opened(random(100));
        writer.insert(r, null);
        EvidenceRecord keep = r.snapshot();
        keep.setPayloadKeyId(stored(r.getId()).keyId());
        keep.requestStored(true);
        try (Connection owner = owner()) {
            try (var st = owner.createStatement()) {
                st.execute("SET plan_cache_mode = force_generic_plan");
                st.execute("SET enable_seqscan = off");
            }
            try (PreparedStatement ps = owner.prepareStatement("EXPLAIN " + EvidenceRows.update(keep))) {
                EvidenceRows.bindUpdate(owner, ps, 1, keep);
                StringBuilder plan = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        plan.append(rs.getString(1)).append('\n');
                    }
                }
                assertThat(plan.toString()).contains("evidence_record_pkey").doesNotContain("evidence_record_payload_key");
            }
        }
    }

    @Test
    void should_keep_the_stored_request_body_in_a_batched_commit_too() throws Exception {
        // a writer that lingers batches its writes and commits them the long way (plain JDBC batches)
        try (EvidenceWriter batching = new EvidenceWriter(db.sessionFactory(),
                new attest.evidence.chain.EvidenceChain("sealed-once-batch"), 100, 64, Duration.ofMillis(20),
                Duration.ofSeconds(5)).encryptWith(cipher())) {
            EvidenceRecord kept = opened(random(6000));
            EvidenceRecord changed = opened(random(6001));
            java.util.concurrent.CompletableFuture.allOf(batching.commit(kept, true, null),
                    batching.commit(changed, true, null)).get(10, java.util.concurrent.TimeUnit.SECONDS);
            Stored keptOpen = stored(kept.getId());
            Stored changedOpen = stored(changed.getId());
            answer(kept, random(10));
            byte[] other = random(77);
            changed.setRequestBody(other);
            answer(changed, random(11));
            java.util.concurrent.CompletableFuture.allOf(batching.commit(kept, false, null),
                    batching.commit(changed, false, null)).get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(stored(kept.getId()).request()).isEqualTo(keptOpen.request());
            assertThat(stored(kept.getId()).toastValue()).isEqualTo(keptOpen.toastValue());
            assertThat(stored(changed.getId()).request()).isNotEqualTo(changedOpen.request());
            assertThat(batching.find(changed.getId()).getRequestBody()).isEqualTo(other);
            assertThat(batching.find(kept.getId()).getState()).isEqualTo(EvidenceRecord.TERMINAL);
        }
    }
}
