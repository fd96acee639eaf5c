package attest.evidence;

import attest.evidence.chain.EvidenceChain;
import attest.evidence.chain.Verifier;
import attest.evidence.crypto.MasterKey;
import attest.evidence.crypto.PayloadCipher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A hostile review of the terminal updates of a group commit written as one multi-row statement per run of rows,
 * from its promises only: every record ends as the one-by-one path leaves it (compared column by column with a twin
 * record written by a writer that commits each write alone), a record not found or given twice is never silently
 * lost, the guard still checks every row, a write given up by its caller is never committed, and the chain
 * verifies. Real PostgreSQL (embedded).
 */
class TerminalBatchHostileTest extends TamperBase {
    /** The writer that commits each write alone: the reference. */
    EvidenceWriter alone;

    @AfterEach
    void closeAlone() {
        if (alone != null) {
            alone.close();
        }
    }

    /** Takes every write waiting (up to 256) after lingering for more: the terminal updates share statements. */
    static EvidenceWriter batching(String chain, Duration commitTimeout) {
        return new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 4096, 256, Duration.ofMillis(400),
                commitTimeout, 16, 4);
    }

    static EvidenceWriter oneByOne(String chain) {
        return new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 64, 1, Duration.ZERO,
                Duration.ofSeconds(30));
    }

    static final String[] TEXTS = {null, "", "'", "\"", "\\", "a'b\"c\\d", "\\x00", "nul\u0000inside", "\uD83D\uDE00 emoji",
            "NULL", "{a,b}", "(1,2)", "$$ $tag$", "E'\\n'", "\t\r\n", "\u00e9\u4e2d\u0301", "x".repeat(100_000),
            "),(", "'::text); DROP TABLE evidence_record; --"};
    static final String[][] ARRAYS = {null, new String[0], {""}, {"NULL"}, {"a,b", "{x}", "\"q\"", "\\", "\uD83D\uDE00"},
            {null}, {"x", null, ""}, {"}", "{", " spaced "}};
    static final Instant[] TIMES = {null, Instant.parse("2026-11-29T10:15:29.123456Z"),
            Instant.parse("2026-11-29T10:15:29.999999500Z"), Instant.parse("2026-11-29T10:15:29.000000499Z"),
            Instant.parse("1970-01-01T00:00:00Z"), Instant.parse("2099-12-31T23:59:59.999999Z")};
    /** The chain holds integers up to 2^53 (a record with a larger one has no canonical form, and fails alone). */
    static final Long[] LONGS = {null, 0L, -1L, (1L << 53) - 1, -(1L << 53) + 1, 42L};
    static final Integer[] INTS = {null, 200, 0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE};
    static final Boolean[] BOOLS = {null, true, false};
    static final byte[][] BYTES = {null, new byte[0], {0}, {0x5c, 0x27, 0x22, 0, (byte) 0xff},
            "\\x41".getBytes(StandardCharsets.UTF_8)};
    static final String[] OUTCOMES = {"completed", "upstream_error", "denied", "unauthenticated"};

    static <T> T pick(T[] values, int i, int salt) {
        return values[Math.floorMod(i * 31 + salt * 7 + salt * salt, values.length)];
    }

    /** A terminal record of a shape that depends on i: NULLs, empty strings, hostile text, odd times and numbers. */
    static EvidenceRecord terminal(int i, String instance) {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.randomUUID());
        r.setRequestId(i % 5 == 0 ? "" : "req-" + i + pick(TEXTS, i, 1));
        r.setInstanceId(instance);
        r.setState(EvidenceRecord.TERMINAL);
        r.setOutcome(OUTCOMES[i % OUTCOMES.length]);
        Instant received = pick(TIMES, i, 2);
        r.setReceivedAt(received == null ? Instant.parse("2026-11-29T10:15:29.000001Z") : received);
        r.setForwardedAt(pick(TIMES, i, 3));
        r.setFirstByteAt(pick(TIMES, i, 4));
        r.setCompletedAt(pick(TIMES, i, 5));
        r.setDurationMs(pick(LONGS, i, 6));
        r.setSourceAddress(pick(TEXTS, i, 7));
        r.setSubject(pick(TEXTS, i, 8));
        r.setUsername(pick(TEXTS, i, 9));
        r.setPrincipalType(pick(TEXTS, i, 10));
        r.setClientId(pick(TEXTS, i, 11));
        r.setRealmRoles(pick(ARRAYS, i, 12));
        r.setGroups(pick(ARRAYS, i, 13));
        r.setTokenId(pick(TEXTS, i, 14));
        r.setIssuer(pick(TEXTS, i, 15));
        r.setAuthError(pick(TEXTS, i, 16));
        r.setMethod(pick(TEXTS, i, 17));
        r.setPath(pick(TEXTS, i, 18));
        r.setUpstream(pick(TEXTS, i, 19));
        r.setModel(pick(TEXTS, i, 20));
        r.setStreamed(pick(BOOLS, i, 21));
        r.setDecision(pick(TEXTS, i, 22));
        r.setRuleId(pick(TEXTS, i, 23));
        r.setRulesVersion(pick(TEXTS, i, 24));
        r.setReason(pick(TEXTS, i, 25));
        r.setStatus(pick(INTS, i, 26));
        r.setUpstreamStatus(pick(INTS, i, 27));
        r.setErrorCode(pick(TEXTS, i, 28));
        r.setRequestBody(pick(BYTES, i, 29));
        r.setRequestSize(pick(LONGS, i, 30));
        r.setRequestSha256(pick(TEXTS, i, 31));
        r.setResponseBody(pick(BYTES, i, 32));
        r.setResponseSize(pick(LONGS, i, 33));
        r.setResponseSha256(pick(TEXTS, i, 34));
        r.setResponseTruncated(pick(BOOLS, i, 35));
        r.setMaskingRuleSet(pick(TEXTS, i, 36));
        r.setMaskingExempt(pick(BOOLS, i, 37));
        r.setMaskingReport(pick(TEXTS, i, 38));
        r.setRawResponseSize(pick(LONGS, i, 39));
        r.setRawResponseSha256(pick(TEXTS, i, 40));
        r.setApprovalId(i % 3 == 0 ? null : UUID.nameUUIDFromBytes(("a" + i).getBytes(StandardCharsets.UTF_8)));
        r.setRawResponseBody(pick(BYTES, i, 41));
        r.setForwardedSha256(pick(TEXTS, i, 42));
        r.setCorrelationId(pick(TEXTS, i, 43));
        r.setStreamTimings(pick(TEXTS, i, 44));
        r.setPayloadKeyId(pick(TEXTS, i, 45));
        r.setKeyId(i % 4 == 0 ? null : UUID.nameUUIDFromBytes(("k" + i).getBytes(StandardCharsets.UTF_8)));
        field(r, "usageStatus", pick(TEXTS, i, 46));
        field(r, "promptTokens", pick(LONGS, i, 47));
        field(r, "completionTokens", pick(LONGS, i, 48));
        field(r, "totalTokens", pick(LONGS, i, 49));
        field(r, "cachedTokens", pick(LONGS, i, 50));
        field(r, "reasoningTokens", pick(LONGS, i, 51));
        field(r, "estimatedTokens", pick(LONGS, i, 52));
        digests(r);
        // as the gateway writes them: a truncated request names its stored prefix; no counts without a usage status
        if (i % 4 == 1) {
            r.setRequestTruncated(true);
            // the stored prefix's size and digest are the stored body's
            r.setRequestStoredSize(r.getRequestBody() == null ? pick(LONGS, i, 54) : (Long) (long) r.getRequestBody().length);
            r.setRequestStoredSha256(r.getRequestBody() == null ? pick(TEXTS, i, 55)
                    : EvidenceAssembler.sha256(r.getRequestBody()));
        }
        if (r.getUsageStatus() == null) {
            for (String f : new String[]{"promptTokens", "completionTokens", "totalTokens", "cachedTokens",
                    "reasoningTokens", "estimatedTokens"}) {
                field(r, f, null);
            }
        }
        return r;
    }

    /** Sets a field that has no setter (the usage counts, set from a meter in the gateway). */
    static void field(EvidenceRecord r, String name, Object value) {
        try {
            java.lang.reflect.Field f = EvidenceRecord.class.getDeclaredField(name);
            f.setAccessible(true);
            f.set(r, value);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /** The payloads' digests as the gateway computes them (the verifier checks a body against its digest). */
    static void digests(EvidenceRecord r) {
        if (r.getRequestBody() != null) {
            r.setRequestSha256(EvidenceAssembler.sha256(r.getRequestBody()));
            r.setRequestSize((long) r.getRequestBody().length);
        }
        if (r.getResponseBody() != null) {
            r.setResponseSha256(EvidenceAssembler.sha256(r.getResponseBody()));
        }
        if (r.getRawResponseBody() != null) {
            r.setRawResponseSha256(EvidenceAssembler.sha256(r.getRawResponseBody()));
        }
    }

    /** An outbox event for this record (the event's payload from a plain record of the same id). */
    static OutboxEvent event(EvidenceRecord r) {
        EvidenceRecord plain = EvidenceEventGoldenTest.completed();
        plain.setId(r.getId());
        return EvidenceEvents.terminal(plain, "t", Instant.now());
    }

    /** The record as it was opened: same identity, not yet answered. */
    static EvidenceRecord open(EvidenceRecord terminal) {
        EvidenceRecord r = EvidenceRowsTest.open(terminal);
        r.setModel("opened-" + terminal.getModel());
        return r;
    }

    /** The terminal updates at {@code failing} failed and left their records open; every other one committed. */
    static void assertOnlyThoseFailed(List<EvidenceRecord> terminals, List<CompletableFuture<Void>> futures,
                                      List<Integer> failing) throws Exception {
        for (int i = 0; i < futures.size(); i++) {
            boolean fails = failing.contains(i);
            Throwable f = failure(futures.get(i));
            if (fails) {
                assertThat(f).as("write " + i).isInstanceOf(EvidenceUnavailableException.class);
            } else {
                assertThat(f).as("write " + i).isNull();
            }
            assertThat(state(terminals.get(i).getId())).as("record " + i).isEqualTo(fails ? "open" : "terminal");
        }
    }

    static EvidenceRecord twin(EvidenceRecord r) {
        EvidenceRecord c = r.snapshot();
        c.setId(UUID.randomUUID());
        return c;
    }

    static String row(UUID id) throws Exception {
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement(
                "SELECT (to_jsonb(e) - 'id')::text FROM evidence_record e WHERE id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    static String rowWithout(UUID id, String... columns) throws Exception {
        StringBuilder minus = new StringBuilder("'id'");
        for (String c : columns) {
            minus.append(", '").append(c).append("'");
        }
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement(
                "SELECT (to_jsonb(e) - ARRAY[" + minus + "])::text FROM evidence_record e WHERE id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    static long entries(String chain) throws Exception {
        return Long.parseLong(oneAsOwner("SELECT count(*) FROM evidence_chain WHERE chain_id = '" + chain + "'"));
    }

    static long outbox(List<OutboxEvent> events) throws Exception {
        if (events.isEmpty()) {
            return 0;
        }
        StringBuilder ids = new StringBuilder();
        for (OutboxEvent e : events) {
            ids.append(ids.isEmpty() ? "" : ",").append('\'').append(e.getEventId()).append('\'');
        }
        return Long.parseLong(oneAsOwner("SELECT count(*) FROM evidence_outbox WHERE event_id IN (" + ids + ")"));
    }

    static void assertChainsVerify(String... chains) throws Exception {
        for (String chain : chains) {
            try (Connection c = owner()) {
                assertContiguous(c, chain);
            }
            anchor(chain);
        }
        Verifier.Report o = verifyAsOwner();
        assertThat(o.code()).as(o.summary() + " " + o.faults()).isEqualTo(Verifier.VALID);
    }

    static void joinAll(List<CompletableFuture<Void>> futures) {
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
    }

    /**
     * n terminal updates (of hostile shapes) in one group commit, mixed with inserts of new open records and of
     * refused (terminal) records; their twins updated one by one by the reference writer; every row compared.
     */
    void assertBatchOfTerminalUpdatesAsOneByOne(int n, int bigAt) throws Exception {
        String chain = "tb-size-" + n;
        String reference = "tb-size-ref-" + n;
        closeAlone();
        if (writer != null) {
            writer.close();
        }
        writer = batching(chain, Duration.ofSeconds(60));
        alone = oneByOne(reference);
        List<EvidenceRecord> terminals = new ArrayList<>();
        List<EvidenceRecord> twins = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminal(i + n, "tb");
            if (i == bigAt) {
                byte[] big = new byte[5 * 1024 * 1024];
                new java.util.Random(n).nextBytes(big);
                t.setResponseBody(big);
                t.setRawResponseBody(big);
                digests(t);
            }
            terminals.add(t);
            twins.add(twin(t));
        }
        List<CompletableFuture<Void>> opened = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            opened.add(writer.commit(open(terminals.get(i)), true, null));
            alone.insert(open(twins.get(i)), null);
        }
        joinAll(opened);
        List<OutboxEvent> events = new ArrayList<>();
        List<EvidenceRecord> fresh = new ArrayList<>();
        List<CompletableFuture<Void>> done = new ArrayList<>();
        long entriesBefore = entries(chain);
        long commits = writer.commits();
        for (int i = 0; i < n; i++) {
            OutboxEvent e = event(terminals.get(i));
            events.add(e);
            done.add(writer.commit(terminals.get(i), false, e));
            if (i % 3 == 1) {
                // an insert between the updates: an open record, or a refused request's terminal one
                EvidenceRecord f = i % 2 == 0 ? open(terminal(i, "tb")) : terminal(i + 1000, "tb");
                f.setId(UUID.randomUUID());
                fresh.add(f);
                done.add(writer.commit(f, true, null));
            }
        }
        joinAll(done);
        long batchCommits = writer.commits() - commits;
        for (EvidenceRecord t : twins) {
            alone.update(t, null);
        }
        for (int i = 0; i < n; i++) {
            String mine = row(terminals.get(i).getId());
            assertThat(mine).as("batch of " + n + ", record " + i).isEqualTo(row(twins.get(i).getId()))
                    .contains("\"state\": \"terminal\"");
        }
        for (EvidenceRecord f : fresh) {
            assertThat(row(f.getId())).as("an insert in the batch").isNotNull();
        }
        assertThat(entries(chain) - entriesBefore).as("one chain entry per write").isEqualTo(n + fresh.size());
        assertThat(outbox(events)).as("one outbox row per event").isEqualTo(n);
        if (n > 1) {
            assertThat(batchCommits).as("the writes shared commits (batching exercised)").isLessThan(n);
        }
        assertChainsVerify(chain, reference);
    }

    @Test
    void should_leave_a_single_update_as_the_one_by_one_path_does() throws Exception {
        assertBatchOfTerminalUpdatesAsOneByOne(1, -1);
    }

    @Test
    void should_leave_two_and_three_updates_as_the_one_by_one_path_does() throws Exception {
        assertBatchOfTerminalUpdatesAsOneByOne(2, -1);
        assertBatchOfTerminalUpdatesAsOneByOne(3, 1);
    }

    @Test
    void should_leave_runs_around_sixty_four_as_the_one_by_one_path_does() throws Exception {
        assertBatchOfTerminalUpdatesAsOneByOne(63, -1);
        assertBatchOfTerminalUpdatesAsOneByOne(64, 63);
        assertBatchOfTerminalUpdatesAsOneByOne(65, 64);
    }

    @Test
    void should_leave_runs_past_one_hundred_and_twenty_eight_as_the_one_by_one_path_does() throws Exception {
        assertBatchOfTerminalUpdatesAsOneByOne(127, -1);
        assertBatchOfTerminalUpdatesAsOneByOne(129, 128);
    }

    @Test
    void should_fail_alone_a_record_not_there_wherever_it_sits_in_the_run() throws Exception {
        String chain = "tb-missing";
        writer = batching(chain, Duration.ofSeconds(60));
        int n = 129;
        List<EvidenceRecord> terminals = new ArrayList<>();
        List<CompletableFuture<Void>> opened = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminal(i, "tb");
            terminals.add(t);
            opened.add(writer.commit(open(t), true, null));
        }
        joinAll(opened);
        long entriesBefore = entries(chain);
        List<Integer> missingAt = List.of(0, 63, 64, 128);
        List<CompletableFuture<Void>> done = new ArrayList<>();
        List<OutboxEvent> events = new ArrayList<>();
        List<OutboxEvent> lostEvents = new ArrayList<>();
        List<UUID> missing = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminals.get(i);
            if (missingAt.contains(i)) {
                t = twin(t); // an id no row has
                missing.add(t.getId());
            }
            OutboxEvent e = event(t);
            (missingAt.contains(i) ? lostEvents : events).add(e);
            done.add(writer.commit(t, false, e));
        }
        for (int i = 0; i < n; i++) {
            Throwable failed = failure(done.get(i));
            if (missingAt.contains(i)) {
                assertThat(failed).as("record not there at " + i).isInstanceOf(EvidenceUnavailableException.class);
            } else {
                assertThat(failed).as("record " + i).isNull();
                assertThat(state(terminals.get(i).getId())).as("record " + i).isEqualTo("terminal");
            }
        }
        for (UUID id : missing) {
            assertThat(row(id)).as("no row made up for a record not there").isNull();
        }
        assertThat(entries(chain) - entriesBefore).as("entries of the committed writes only")
                .isEqualTo(n - missingAt.size());
        assertThat(outbox(events)).isEqualTo(events.size());
        assertThat(outbox(lostEvents)).as("no event for a write that failed").isZero();
        assertChainsVerify(chain);
    }

    @Test
    void should_end_a_record_updated_twice_or_thrice_in_one_batch_with_its_last_update() throws Exception {
        String chain = "tb-twice";
        String reference = "tb-twice-ref";
        writer = batching(chain, Duration.ofSeconds(60));
        alone = oneByOne(reference);
        int n = 70;
        List<EvidenceRecord> terminals = new ArrayList<>();
        List<EvidenceRecord> twins = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminal(i + 7, "tb");
            terminals.add(t);
            twins.add(twin(t));
            writer.commit(open(t), true, null).join();
            alone.insert(open(twins.get(i)), null);
        }
        long entriesBefore = entries(chain);
        List<CompletableFuture<Void>> done = new ArrayList<>();
        int writes = 0;
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminals.get(i);
            int times = i % 10 == 3 ? 2 : i % 10 == 7 ? 3 : 1;
            for (int k = 1; k < times; k++) {
                // an earlier update that leaves it open (forwarded, first byte), in the same run as its last
                EvidenceRecord forwarded = open(t);
                forwarded.setModel("forwarded-" + k);
                done.add(writer.commit(forwarded, false, null));
                writes++;
            }
            done.add(writer.commit(t, false, null));
            writes++;
        }
        joinAll(done);
        for (EvidenceRecord t : twins) {
            alone.update(t, null);
        }
        for (int i = 0; i < n; i++) {
            assertThat(row(terminals.get(i).getId())).as("record " + i).isEqualTo(row(twins.get(i).getId()));
        }
        assertThat(entries(chain) - entriesBefore).isEqualTo(writes);
        assertChainsVerify(chain, reference);
    }

    @Test
    void should_refuse_the_second_terminal_update_of_a_record_in_one_batch_and_keep_the_first() throws Exception {
        String chain = "tb-twice-terminal";
        String reference = "tb-twice-terminal-ref";
        writer = batching(chain, Duration.ofSeconds(60));
        alone = oneByOne(reference);
        int n = 66;
        List<EvidenceRecord> terminals = new ArrayList<>();
        List<EvidenceRecord> twins = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminal(i, "tb");
            terminals.add(t);
            twins.add(twin(t));
            writer.commit(open(t), true, null).join();
            alone.insert(open(twins.get(i)), null);
        }
        long entriesBefore = entries(chain);
        List<CompletableFuture<Void>> firsts = new ArrayList<>();
        List<CompletableFuture<Void>> seconds = new ArrayList<>();
        List<OutboxEvent> secondEvents = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            firsts.add(writer.commit(terminals.get(i), false, null));
            if (i % 20 == 5) {
                EvidenceRecord again = terminals.get(i).snapshot();
                again.setOutcome("denied".equals(again.getOutcome()) ? "completed" : "denied");
                again.setModel("second terminal update");
                OutboxEvent e = event(again);
                secondEvents.add(e);
                seconds.add(writer.commit(again, false, e));
            }
        }
        for (int i = 0; i < n; i++) {
            assertThat(failure(firsts.get(i))).as("first terminal update of " + i).isNull();
        }
        for (CompletableFuture<Void> s : seconds) {
            assertThat(failure(s)).as("a second terminal update: the guard refuses it")
                    .isInstanceOf(EvidenceUnavailableException.class);
        }
        for (EvidenceRecord t : twins) {
            alone.update(t, null);
        }
        for (int i = 0; i < n; i++) {
            assertThat(row(terminals.get(i).getId())).as("record " + i + " keeps its first terminal update")
                    .isEqualTo(row(twins.get(i).getId()));
        }
        assertThat(entries(chain) - entriesBefore).isEqualTo(n);
        assertThat(outbox(secondEvents)).isZero();
        assertChainsVerify(chain, reference);
    }

    @Test
    void should_refuse_a_terminal_update_of_a_record_already_terminal_and_commit_the_rest_of_its_batch()
            throws Exception {
        String chain = "tb-already";
        writer = batching(chain, Duration.ofSeconds(60));
        int n = 64;
        List<EvidenceRecord> terminals = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminal(i + 3, "tb");
            terminals.add(t);
            writer.commit(open(t), true, null).join();
        }
        EvidenceRecord done = terminals.get(31);
        writer.update(done, null);
        String before = row(done.getId());
        EvidenceRecord again = done.snapshot();
        again.setOutcome("completed".equals(again.getOutcome()) ? "denied" : "completed");
        long entriesBefore = entries(chain);
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            futures.add(writer.commit(i == 31 ? again : terminals.get(i), false, null));
        }
        for (int i = 0; i < n; i++) {
            if (i == 31) {
                assertThat(failure(futures.get(i))).isInstanceOf(EvidenceUnavailableException.class);
            } else {
                assertThat(failure(futures.get(i))).as("record " + i).isNull();
                assertThat(state(terminals.get(i).getId())).isEqualTo("terminal");
            }
        }
        assertThat(row(done.getId())).as("a terminal record is not changed").isEqualTo(before);
        assertThat(entries(chain) - entriesBefore).isEqualTo(n - 1);
        assertChainsVerify(chain);
    }

    @Test
    void should_refuse_an_update_that_changes_an_open_records_identity_and_commit_the_rest() throws Exception {
        String chain = "tb-identity";
        writer = batching(chain, Duration.ofSeconds(60));
        int n = 5;
        List<EvidenceRecord> terminals = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminal(i + 11, "tb");
            t.setRequestId("req-identity-" + i);
            terminals.add(t);
            writer.commit(open(t), true, null).join();
        }
        EvidenceRecord moved = terminals.get(2).snapshot();
        moved.setReceivedAt(moved.getReceivedAt().plusNanos(1000));
        EvidenceRecord renamed = terminals.get(3).snapshot();
        renamed.setRequestId("another request");
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            futures.add(writer.commit(i == 2 ? moved : i == 3 ? renamed : terminals.get(i), false, null));
        }
        assertOnlyThoseFailed(terminals, futures, List.of(2, 3));
        assertChainsVerify(chain);
    }

    @Test
    void should_fail_alone_a_record_without_a_canonical_form_in_a_batch() throws Exception {
        String chain = "tb-surrogate";
        writer = batching(chain, Duration.ofSeconds(60));
        int n = 6;
        List<EvidenceRecord> terminals = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminal(i + 20, "tb");
            terminals.add(t);
            writer.commit(open(t), true, null).join();
        }
        EvidenceRecord lone = terminals.get(2).snapshot();
        lone.setModel("lone \uD800 surrogate");
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            futures.add(writer.commit(i == 2 ? lone : terminals.get(i), false, null));
        }
        assertOnlyThoseFailed(terminals, futures, List.of(2));
        assertChainsVerify(chain);
    }

    @Test
    void should_never_commit_the_terminal_updates_whose_callers_gave_up_while_their_batch_waited() throws Exception {
        String chain = "tb-timeout";
        writer = batching(chain, Duration.ofMillis(1500));
        int n = 40;
        List<EvidenceRecord> terminals = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminal(i + 30, "tb");
            terminals.add(t);
            writer.commit(open(t), true, null).join();
        }
        long entriesBefore = entries(chain);
        stallTheStore(chain);
        // even ones: callers that wait within the commit timeout (and give up); odd ones: writes nobody waits for
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            futures.add(i % 2 == 0 ? writer.commit(terminals.get(i), false, null)
                    : writer.submit(terminals.get(i), false, null));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            for (int i = 0; i < n; i += 2) {
                if (!futures.get(i).isDone()) {
                    return false;
                }
            }
            return true;
        });
        for (int i = 0; i < n; i += 2) {
            assertThat(failure(futures.get(i))).as("timed out " + i).isInstanceOf(EvidenceUnavailableException.class);
        }
        resume();
        for (int i = 1; i < n; i += 2) {
            assertThat(failure(futures.get(i))).as("not given up " + i).isNull();
        }
        for (int i = 0; i < n; i++) {
            assertThat(state(terminals.get(i).getId())).as("record " + i)
                    .isEqualTo(i % 2 == 0 ? "open" : "terminal");
        }
        assertThat(entries(chain) - entriesBefore).isEqualTo(n / 2);
        assertChainsVerify(chain);
    }

    static MasterKey master;

    static synchronized PayloadCipher cipher() {
        if (master == null) {
            byte[] key = new byte[32];
            new java.security.SecureRandom().nextBytes(key);
            master = MasterKey.fromBase64(Base64.getEncoder().encodeToString(key));
        }
        return new PayloadCipher(db.dataSource(), master, Duration.ofDays(1), java.time.Clock.systemUTC());
    }

    static byte[] storedRequest(UUID id) throws Exception {
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement(
                "SELECT request_body FROM evidence_record WHERE id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                return rs.getBytes(1);
            }
        }
    }

    @Test
    void should_keep_or_replace_the_stored_request_body_per_record_in_one_batch_of_both_kinds() throws Exception {
        String chain = "tb-keep";
        String reference = "tb-keep-ref";
        writer = batching(chain, Duration.ofSeconds(60)).encryptWith(cipher());
        alone = oneByOne(reference).encryptWith(cipher());
        int n = 67;
        List<EvidenceRecord> calls = new ArrayList<>();
        List<EvidenceRecord> twins = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // the request thread's record: opened, then answered (the same object, its request body the same array)
            EvidenceRecord call = RequestSealedOnceTest.opened(("{\"q\":" + i + ",\"x\":\"'\\\\\u00e9\"}")
                    .getBytes(StandardCharsets.UTF_8));
            call.setInstanceId("tb");
            call.setModel(pick(TEXTS, i, 3));
            call.setGroups(pick(ARRAYS, i, 4));
            EvidenceRecord twin = call.snapshot();
            twin.setId(UUID.randomUUID());
            twin.setRequestBody(call.getRequestBody().clone());
            writer.insert(call, null);
            alone.insert(twin, null);
            calls.add(call);
            twins.add(twin);
        }
        List<byte[]> storedBefore = new ArrayList<>();
        for (EvidenceRecord c : calls) {
            storedBefore.add(storedRequest(c.getId()));
        }
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (EvidenceRecord r : new EvidenceRecord[]{calls.get(i), twins.get(i)}) {
                if (i % 3 == 2) {
                    // the request body changed: the update writes it again
                    r.setRequestBody(("{\"rewritten\":" + i + "}").getBytes(StandardCharsets.UTF_8));
                }
                RequestSealedOnceTest.answer(r, i % 4 == 1 ? new byte[0] : ("answer " + i).getBytes(
                        StandardCharsets.UTF_8));
                if (i % 5 == 0) {
                    r.setResponseBody(null);
                }
            }
            done.add(writer.commit(calls.get(i), false, null));
        }
        joinAll(done);
        for (EvidenceRecord t : twins) {
            alone.update(t, null);
        }
        for (int i = 0; i < n; i++) {
            UUID id = calls.get(i).getId();
            assertThat(rowWithout(id, "request_body", "response_body", "raw_response_body", "payload_key_id"))
                    .as("record " + i).isEqualTo(rowWithout(twins.get(i).getId(), "request_body", "response_body",
                            "raw_response_body", "payload_key_id")).contains("\"state\": \"terminal\"");
            if (i % 3 == 2) {
                assertThat(storedRequest(id)).as("replaced " + i).isNotEqualTo(storedBefore.get(i));
            } else {
                assertThat(storedRequest(id)).as("kept " + i).isEqualTo(storedBefore.get(i));
            }
            EvidenceRecord read = writer.find(id);
            assertThat(read.getRequestBody()).as("request of " + i).isEqualTo(calls.get(i).getRequestBody());
            assertThat(read.getResponseBody()).as("response of " + i).isEqualTo(calls.get(i).getResponseBody());
        }
        assertChainsVerify(chain, reference);
    }

    @Test
    void should_commit_the_open_insert_and_terminal_update_of_one_record_in_one_batch_as_one_by_one() throws Exception {
        // a fast call: its open record and its terminal update wait in the same batch, among other calls' updates
        String chain = "tb-fast";
        String reference = "tb-fast-ref";
        writer = batching(chain, Duration.ofSeconds(60));
        alone = oneByOne(reference);
        int n = 68;
        List<EvidenceRecord> terminals = new ArrayList<>();
        List<EvidenceRecord> twins = new ArrayList<>();
        List<CompletableFuture<Void>> done = new ArrayList<>();
        long entriesBefore = entries(chain);
        for (int i = 0; i < n; i++) {
            EvidenceRecord t = terminal(i + 40, "tb");
            terminals.add(t);
            twins.add(twin(t));
            done.add(writer.commit(open(t), true, null));
            done.add(writer.commit(t, false, event(t)));
        }
        joinAll(done);
        for (EvidenceRecord t : twins) {
            alone.insert(open(t), null);
            alone.update(t, null);
        }
        for (int i = 0; i < n; i++) {
            assertThat(row(terminals.get(i).getId())).as("record " + i).isEqualTo(row(twins.get(i).getId()));
        }
        assertThat(entries(chain) - entriesBefore).isEqualTo(2L * n);
        assertChainsVerify(chain, reference);
    }
}
