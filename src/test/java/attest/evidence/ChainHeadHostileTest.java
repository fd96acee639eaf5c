package attest.evidence;

import attest.evidence.chain.ChainHash;
import attest.evidence.chain.EvidenceChain;
import attest.evidence.chain.Merkle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The evidence writer holds its chain head in memory; the head row moved under it by another connection must never
 * fork, skip or overwrite the chain. Another appender of the same chain (an approval, an auditor's action) moves it
 * legitimately: the writer's next commit appends after it. A survivor's fence ({@code closed_by}) fails the batch
 * closed, and nothing of it is stored; once the chain is open again the next batch commits. Each time the chain
 * still verifies: gap-free positions, every hash linked to the one before, the head row and its Merkle frontier
 * those of the entries.
 */
class ChainHeadHostileTest {
    static Database db;
    static final String CHAIN = "hostile";

    @BeforeAll
    static void up() throws Exception {
        db = Database.open("", "", "", Files.createTempDirectory("attest-head-pg"), 0, 4, Duration.ofSeconds(2));
    }

    @AfterAll
    static void down() {
        db.close();
    }

    static EvidenceRecord record() {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.randomUUID());
        r.setRequestId(UUID.randomUUID().toString());
        r.setInstanceId(CHAIN);
        r.setState(EvidenceRecord.TERMINAL);
        r.setOutcome("denied");
        r.setStatus(403);
        r.setReceivedAt(Instant.now());
        r.setCompletedAt(Instant.now());
        return r;
    }

    static EvidenceRecord record(String chain) {
        EvidenceRecord r = record();
        r.setInstanceId(chain);
        return r;
    }

    static void write(EvidenceWriter writer) {
        EvidenceRecord r = record();
        writer.insert(r, EvidenceEvents.terminal(r, "t", Instant.now()));
    }

    @Test
    void should_append_after_another_appender_and_fail_closed_on_a_fence() throws Exception {
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain(CHAIN), 10, 4,
                Duration.ZERO, Duration.ofSeconds(5));
        try {
            write(writer);
            write(writer);
            assertThat(verified()).isEqualTo(2);
            // the first commit reads the head (the long way); the second, with the head held, is one round trip
            assertThat(writer.commitsInOneTrip()).isEqualTo(1);

            // another appender of the chain, on its own connection (as approvals and auditors' actions do)
            try (Connection c = db.dataSource().getConnection()) {
                c.setAutoCommit(false);
                new EvidenceChain(CHAIN).append(c, List.of(
                        new EvidenceChain.Entry("audit.payload_read", UUID.randomUUID(), Instant.now(), Map.of("a", 1)),
                        new EvidenceChain.Entry("audit.payload_read", UUID.randomUUID(), Instant.now(), Map.of("a", 2))));
                c.commit();
            }
            write(writer);
            assertThat(verified()).isEqualTo(5);
            // the pipeline found the head moved, kept nothing, and the batch went the long way after it
            assertThat(writer.commitsInOneTrip()).isEqualTo(1);
            write(writer);
            assertThat(writer.commitsInOneTrip()).isEqualTo(2);
            assertThat(verified()).isEqualTo(6);

            // a survivor fences the chain: the batch fails closed, nothing of it is stored
            exec("UPDATE evidence_chain_head SET closed_by = 'survivor', closed_at = now() WHERE chain_id = ?");
            long records = count("SELECT count(*) FROM evidence_record WHERE instance_id = ?");
            long events = count("SELECT count(*) FROM evidence_outbox o JOIN evidence_record e "
                    + "ON o.event_key = e.id::text WHERE e.instance_id = ?");
            EvidenceRecord refused = record();
            assertThatThrownBy(() -> writer.insert(refused, EvidenceEvents.terminal(refused, "t", Instant.now())))
                    .isInstanceOf(EvidenceUnavailableException.class);
            assertThat(writer.healthy()).isFalse();
            assertThatThrownBy(() -> write(writer)).isInstanceOf(EvidenceUnavailableException.class);
            assertThat(count("SELECT count(*) FROM evidence_record WHERE instance_id = ?")).isEqualTo(records);
            assertThat(count("SELECT count(*) FROM evidence_outbox o JOIN evidence_record e "
                    + "ON o.event_key = e.id::text WHERE e.instance_id = ?")).isEqualTo(events);
            assertThat(count("SELECT count(*) FROM evidence_outbox WHERE event_key = '" + refused.getId() + "' "
                    + "AND ? IS NOT NULL")).isZero();
            assertThat(verified()).isEqualTo(6);

            // the instance opens its chain again (as at its start): the next batch commits after the fenced head
            exec("UPDATE evidence_chain_head SET closed_by = NULL, closed_at = NULL WHERE chain_id = ?");
            write(writer);
            assertThat(writer.healthy()).isTrue();
            assertThat(verified()).isEqualTo(7);
        } finally {
            writer.close();
        }
    }

    /**
     * A record's terminal update sent in one round trip keeps nothing when its row is missing or may not change:
     * no chain entry, no outbox event, no moved head; the pipeline is one transaction.
     */
    @Test
    void should_keep_nothing_of_a_one_trip_commit_whose_update_fails() throws Exception {
        String chain = CHAIN + "-update";
        try (EvidenceWriter writer = writer(chain)) {
            EvidenceRecord open = record(chain);
            open.setState(EvidenceRecord.OPEN);
            open.setOutcome(null);
            writer.insert(open, null);
            EvidenceRecord other = record(chain);
            writer.insert(other, EvidenceEvents.terminal(other, "t", Instant.now()));
            long oneTrip = writer.commitsInOneTrip();
            assertThat(oneTrip).isPositive();

            // an update of a record that was never inserted
            EvidenceRecord ghost = record(chain);
            assertThatThrownBy(() -> writer.update(ghost, EvidenceEvents.terminal(ghost, "t", Instant.now())))
                    .isInstanceOf(EvidenceUnavailableException.class);
            // a terminal record changed again (the record guard refuses it)
            other.setOutcome("completed");
            assertThatThrownBy(() -> writer.update(other, EvidenceEvents.terminal(other, "t", Instant.now())))
                    .isInstanceOf(EvidenceUnavailableException.class);
            assertThat(countIn(chain, "SELECT count(*) FROM evidence_outbox WHERE event_key IN ('" + ghost.getId()
                    + "', '" + other.getId() + "') AND ? IS NOT NULL")).isEqualTo(1);
            assertThat(verified(chain)).isEqualTo(2);

            // the head held was forgotten and read again: the next terminal update commits after it, and the one
            // after that is one round trip again
            open.setState(EvidenceRecord.TERMINAL);
            open.setOutcome("completed");
            writer.update(open, EvidenceEvents.terminal(open, "t", Instant.now()));
            EvidenceRecord next = record(chain);
            writer.insert(next, EvidenceEvents.terminal(next, "t", Instant.now()));
            assertThat(verified(chain)).isEqualTo(4);
            assertThat(writer.commitsInOneTrip()).isEqualTo(oneTrip + 1);
            assertThat(countIn(chain, "SELECT count(*) FROM evidence_record WHERE instance_id = ? AND state = 'terminal'"))
                    .isEqualTo(3);
        }
    }

    /** Past 256 entries the chain caches completed Merkle subtrees: written in the pipeline too, and they verify. */
    @Test
    void should_store_completed_merkle_subtrees_in_one_trip_commits() throws Exception {
        String chain = CHAIN + "-merkle";
        try (EvidenceWriter writer = writer(chain)) {
            for (int i = 0; i < 300; i++) {
                EvidenceRecord r = record(chain);
                writer.insert(r, null);
            }
            assertThat(writer.commitsInOneTrip()).isEqualTo(299);
            assertThat(verified(chain)).isEqualTo(300);
            assertThat(countIn(chain, "SELECT count(*) FROM evidence_merkle_node WHERE chain_id = ? AND level = 8"))
                    .isEqualTo(1);
            // the cached node is the hash of the first 256 entries
            Merkle.Frontier first = new Merkle.Frontier();
            try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                    "SELECT canonical FROM evidence_chain WHERE chain_id = ? AND position <= 256 ORDER BY position")) {
                ps.setString(1, chain);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        first.appendLeaf(Merkle.leaf(rs.getBytes(1)), null);
                    }
                }
            }
            try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                    "SELECT hash FROM evidence_merkle_node WHERE chain_id = ? AND level = 8 AND index = 0")) {
                ps.setString(1, chain);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getBytes(1)).isEqualTo(first.root());
                }
            }
        }
    }

    static EvidenceWriter writer(String chain) {
        return new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 10, 4, Duration.ZERO,
                Duration.ofSeconds(5));
    }

    /**
     * A call's write commits on the caller's thread when the writer is idle; on a Netty event loop only while the
     * last commit succeeded (after a failure, a commit there could block the loop for the store's timeouts); never
     * with a linger and never for a refusal; callers committing in place and the writer thread together, from
     * many threads at once, never fork or skip the chain.
     */
    @Test
    void should_commit_in_place_only_where_blocking_is_allowed_and_keep_the_chain_whole() throws Exception {
        String chain = CHAIN + "-inplace";
        try (EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 1000, 64,
                Duration.ZERO, Duration.ofSeconds(10))) {
            EvidenceRecord first = record(chain);
            assertThat(writer.submit(first, true, null)).isCompleted();
            assertThat(writer.commitsInPlace()).isEqualTo(1);

            io.netty.channel.nio.NioEventLoopGroup loop = new io.netty.channel.nio.NioEventLoopGroup(1);
            try {
                EvidenceRecord fromLoop = record(chain);
                loop.submit(() -> writer.submit(fromLoop, true, null)).get(10, java.util.concurrent.TimeUnit.SECONDS)
                        .get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(writer.commitsInPlace()).as("an event loop, the store healthy: in place").isEqualTo(2);

                // the store fails a commit (a fenced chain): the next write from an event loop goes to the writer
                setClosed(chain, true);
                EvidenceRecord failing = record(chain);
                assertThatThrownBy(() -> writer.insert(failing, null)).isInstanceOf(EvidenceUnavailableException.class);
                assertThat(writer.healthy()).isFalse();
                assertThat(writer.commitsInPlace()).isEqualTo(3);
                setClosed(chain, false);
                EvidenceRecord afterFailure = record(chain);
                loop.submit(() -> writer.submit(afterFailure, true, null)).get(10, java.util.concurrent.TimeUnit.SECONDS)
                        .get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(writer.commitsInPlace()).as("an event loop after a failed commit: the writer thread's")
                        .isEqualTo(3);
                assertThat(writer.healthy()).as("the writer's commit succeeded").isTrue();
                // the writer thread may still be finishing the batch it told the caller about: wait until it is idle
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(writer::idle);
                EvidenceRecord healthyAgain = record(chain);
                loop.submit(() -> writer.submit(healthyAgain, true, null)).get(10, java.util.concurrent.TimeUnit.SECONDS)
                        .get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(writer.commitsInPlace()).as("healthy again: in place on the loop").isEqualTo(4);
            } finally {
                loop.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS);
            }
            EvidenceRecord refused = record(chain);
            writer.submitRefusal(refused, null).get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(writer.commitsInPlace()).as("refusal lane: the writer thread's").isEqualTo(4);

            List<java.util.concurrent.CompletableFuture<Void>> all = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                Thread th = new Thread(() -> {
                    for (int i = 0; i < 40; i++) {
                        EvidenceRecord r = record(chain);
                        all.add(writer.submit(r, true, EvidenceEvents.terminal(r, "t", Instant.now())));
                    }
                });
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            java.util.concurrent.CompletableFuture.allOf(all.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(verified(chain)).isEqualTo(325);
            assertThat(countIn(chain, "SELECT count(*) FROM evidence_record WHERE instance_id = ?")).isEqualTo(325);
        }
        try (EvidenceWriter lingering = new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain + "-linger"),
                10, 4, Duration.ofMillis(1), Duration.ofSeconds(5))) {
            EvidenceRecord r = record(chain + "-linger");
            lingering.insert(r, null);
            assertThat(lingering.commitsInPlace()).isZero();
        }
    }

    /**
     * A store that stalls (here: the chain head locked by another transaction) fails a commit made in place within
     * the commit timeout, as a queued call's wait would. Whether the stalled transaction commits once the stall
     * ends is the store's (it had the whole pipeline); either way every stored record has its chain entry, and
     * the next commit appends after it.
     */
    @Test
    void should_fail_an_in_place_commit_on_a_stalled_store_within_the_commit_timeout() throws Exception {
        String chain = CHAIN + "-stall";
        try (EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 10, 4,
                Duration.ZERO, Duration.ofSeconds(1))) {
            EvidenceRecord first = record(chain);
            writer.insert(first, null);
            try (Connection holder = db.dataSource().getConnection()) {
                holder.setAutoCommit(false);
                try (PreparedStatement ps = holder.prepareStatement(
                        "SELECT size FROM evidence_chain_head WHERE chain_id = ? FOR UPDATE")) {
                    ps.setString(1, chain);
                    ps.executeQuery().close();
                }
                EvidenceRecord stalled = record(chain);
                long start = System.nanoTime();
                assertThatThrownBy(() -> writer.insert(stalled, null)).isInstanceOf(EvidenceUnavailableException.class);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
                assertThat(writer.commitsInPlace()).isEqualTo(2);
                holder.rollback();
            }
            EvidenceRecord after = record(chain);
            writer.insert(after, null); // reads the head again, locked: after the stalled transaction, if it ran
            long records = countIn(chain, "SELECT count(*) FROM evidence_record WHERE instance_id = ?");
            assertThat(records).isBetween(2L, 3L);
            assertThat(verified(chain)).isEqualTo(records);
        }
    }

    static long countIn(String chain, String sql) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, chain);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Test
    void should_never_reuse_a_position_when_appenders_race() throws Exception {
        String chain = CHAIN + "-race";
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 100, 8,
                Duration.ZERO, Duration.ofSeconds(10));
        try {
            List<java.util.concurrent.CompletableFuture<Void>> calls = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                EvidenceRecord r = record(chain);
                calls.add(writer.commit(r, true, EvidenceEvents.terminal(r, "t", Instant.now())));
                if (i % 4 == 0) {
                    try (Connection c = db.dataSource().getConnection()) {
                        c.setAutoCommit(false);
                        new EvidenceChain(chain).append(c, List.of(new EvidenceChain.Entry("audit.payload_read",
                                UUID.randomUUID(), Instant.now(), Map.of("i", i))));
                        c.commit();
                    }
                }
            }
            java.util.concurrent.CompletableFuture.allOf(calls.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(verified(chain)).isEqualTo(50);
        } finally {
            writer.close();
        }
    }

    /**
     * A call's chain entry is rendered on the call's thread before it joins a batch: a record with no canonical form
     * (a lone surrogate in a field the chain holds) fails alone with {@link EvidenceUnavailableException}, its row
     * never written, while the writes batched around it (a linger holds them together) commit and the chain
     * verifies.
     */
    @Test
    void should_fail_a_record_with_no_canonical_form_alone_and_commit_its_batch() throws Exception {
        String chain = CHAIN + "-unrepresentable";
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 100, 16,
                Duration.ofMillis(200), Duration.ofSeconds(10));
        try {
            List<java.util.concurrent.CompletableFuture<Void>> good = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                EvidenceRecord r = record(chain);
                good.add(writer.commit(r, true, EvidenceEvents.terminal(r, "t", Instant.now())));
            }
            EvidenceRecord bad = record(chain);
            bad.setRequestId("half a pair \ud800 here");
            java.util.concurrent.CompletableFuture<Void> refused = writer.commit(bad, true, null);
            for (int i = 0; i < 3; i++) {
                EvidenceRecord r = record(chain);
                good.add(writer.commit(r, true, EvidenceEvents.terminal(r, "t", Instant.now())));
            }
            assertThatThrownBy(() -> refused.get(10, java.util.concurrent.TimeUnit.SECONDS))
                    .hasCauseInstanceOf(EvidenceUnavailableException.class)
                    .cause().hasMessage("evidence not representable in the chain");
            java.util.concurrent.CompletableFuture.allOf(good.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(verified(chain)).isEqualTo(6);
            assertThat(countIn(chain, "SELECT count(*) FROM evidence_record WHERE instance_id = ?"))
                    .as("the six records, not the one with no canonical form").isEqualTo(6);
        } finally {
            writer.close();
        }
    }

    static long verified() throws SQLException {
        return verified(CHAIN);
    }

    /** Checks the chain's links, positions, head row and frontier; returns its size. */
    static long verified(String chain) throws SQLException {
        try (Connection c = db.dataSource().getConnection()) {
            byte[] prev = ChainHash.GENESIS;
            long expected = 1;
            Merkle.Frontier tree = new Merkle.Frontier();
            try (PreparedStatement ps = c.prepareStatement("SELECT position, canonical, hash FROM evidence_chain "
                    + "WHERE chain_id = ? ORDER BY position")) {
                ps.setString(1, chain);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        assertThat(rs.getLong(1)).as("position").isEqualTo(expected++);
                        byte[] canonical = rs.getBytes(2);
                        assertThat(new String(canonical, java.nio.charset.StandardCharsets.UTF_8))
                                .contains("\"position\":" + rs.getLong(1) + ",");
                        prev = ChainHash.link(prev, canonical);
                        assertThat(rs.getBytes(3)).as("hash at %d", rs.getLong(1)).isEqualTo(prev);
                        tree.appendLeaf(Merkle.leaf(canonical), null);
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT size, head, frontier FROM evidence_chain_head "
                    + "WHERE chain_id = ?")) {
                ps.setString(1, chain);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getLong(1)).isEqualTo(expected - 1);
                    assertThat(rs.getBytes(2)).isEqualTo(prev);
                    assertThat(Arrays.equals(rs.getBytes(3), tree.encode())).as("frontier").isTrue();
                }
            }
            // and the project's verifier finds no fault in it (no checkpoint is signed here)
            attest.evidence.chain.Verifier.Report report = new attest.evidence.chain.Verifier(Map.of())
                    .verify(new attest.evidence.chain.DatabaseSource(c));
            assertThat(report.faults()).as(report.summary()).isEmpty();
            assertThat(report.code()).isNotEqualTo(attest.evidence.chain.Verifier.TAMPERED);
            return expected - 1;
        }
    }

    /** Fences (or opens again) a chain, as a survivor taking over a dead instance's chain does. */
    static void setClosed(String chain, boolean closed) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(closed
                ? "UPDATE evidence_chain_head SET closed_by = 'survivor', closed_at = now() WHERE chain_id = ?"
                : "UPDATE evidence_chain_head SET closed_by = NULL, closed_at = NULL WHERE chain_id = ?")) {
            ps.setString(1, chain);
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
    }

    static void exec(String sql) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, CHAIN);
            ps.executeUpdate();
        }
    }

    static long count(String sql) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, CHAIN);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
