package attest.e2e;

import attest.evidence.Database;
import attest.evidence.EvidenceEvents;
import attest.evidence.EvidenceRecord;
import attest.evidence.EvidenceWriter;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;

/** Group commit on a real PostgreSQL: many concurrent calls share transactions, and nothing is lost. */
class EvidenceWriterE2EIT {
    @Test
    void should_commit_concurrent_writes_in_groups_with_their_outbox_events() throws Exception {
        try (Connection c = stack().db()) {
            c.createStatement().execute("DROP DATABASE IF EXISTS groupcommit");
            c.createStatement().execute("CREATE DATABASE groupcommit");
        }
        String url = stack().postgres.jdbcUrl().replace("/postgres", "/groupcommit");
        try (Database db = Database.open(url, "postgres", "", null, 0, 4, Duration.ofSeconds(1));
             EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(),
                     new attest.evidence.chain.EvidenceChain("writer-e2e-" + java.util.UUID.randomUUID()), 10_000, 256, Duration.ofMillis(2),
                     Duration.ofSeconds(10))) {
            int n = 500;
            List<CompletableFuture<Void>> done = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                Thread th = new Thread(() -> {
                    for (int i = 0; i < n / 8; i++) {
                        EvidenceRecord r = record();
                        synchronized (done) {
                            done.add(writer.submit(r, true, EvidenceEvents.terminal(r, "t", Instant.now())));
                        }
                    }
                });
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get();
            int written = (n / 8) * 8;
            assertThat(writer.written()).isEqualTo(written);
            assertThat(writer.commits()).as("transactions for %d writes", written).isLessThan(written / 4);
            try (Connection c = db.dataSource().getConnection()) {
                var rs = c.createStatement().executeQuery("SELECT (SELECT count(*) FROM evidence_record),"
                        + " (SELECT count(*) FROM evidence_outbox)");
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(written);
                assertThat(rs.getLong(2)).isEqualTo(written);
            }
        }
    }

    static EvidenceRecord record() {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.randomUUID());
        r.setRequestId("gc-" + UUID.randomUUID());
        r.setInstanceId("gc");
        r.setState(EvidenceRecord.TERMINAL);
        r.setOutcome("completed");
        r.setReceivedAt(Instant.now());
        r.setCompletedAt(Instant.now());
        r.setStatus(200);
        return r;
    }
}
