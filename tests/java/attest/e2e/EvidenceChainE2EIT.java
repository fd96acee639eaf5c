package attest.e2e;

import attest.VerifyCommand;
import attest.evidence.Database;
import attest.evidence.EvidenceEvents;
import attest.evidence.EvidenceRecord;
import attest.evidence.EvidenceWriter;
import attest.evidence.chain.Checkpoints;
import attest.evidence.chain.EvidenceChain;
import attest.evidence.chain.KeyFileSigner;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The evidence chain on a real PostgreSQL: concurrent appends from two writers of one instance leave one
 * gap-free chain with no fork, signed checkpoints anchor it, the offline verifier accepts it and names
 * tampering, and neither the application role nor a superuser can update or delete chain entries.
 */
class EvidenceChainE2EIT {
    record Run(int code, String output) {
    }

    static Run verify(String url, Path... keys) {
        List<String> args = new ArrayList<>(List.of("--jdbc", url, "--user", "postgres"));
        for (Path k : keys) {
            args.add("--public-key");
            args.add(k.toString());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8));
    }

    static Run node(Path dir, Path key) throws Exception {
        Process p = new ProcessBuilder("node", "tests/independent-verifier/verify.mjs", dir.toString(), key.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out);
    }

    static Run verifyExport(Path dir, Path key) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[]{"--export", dir.toString(), "--public-key", key.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8));
    }

    static EvidenceRecord record(boolean terminal) {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.randomUUID());
        r.setRequestId("chain-" + UUID.randomUUID());
        r.setInstanceId("chain-e2e");
        r.setState(terminal ? EvidenceRecord.TERMINAL : EvidenceRecord.OPEN);
        r.setOutcome(terminal ? "completed" : null);
        r.setReceivedAt(Instant.now());
        byte[] body = ("{\"n\":\"" + r.getRequestId() + "\"}").getBytes(StandardCharsets.UTF_8);
        r.setRequestBody(body);
        r.setRequestSize((long) body.length);
        r.setRequestSha256(attest.evidence.EvidenceAssembler.sha256(body));
        return r;
    }

    @Test
    void should_build_one_gap_free_verifiable_chain_under_concurrency_and_name_tampering() throws Exception {
        try (Connection c = stack().db()) {
            c.createStatement().execute("DROP DATABASE IF EXISTS chaintest");
            c.createStatement().execute("CREATE DATABASE chaintest");
        }
        String url = stack().postgres.jdbcUrl().replace("/postgres", "/chaintest");
        Path keyFile = stack().work.resolve("chain-e2e/checkpoint.key");
        KeyFileSigner signer = KeyFileSigner.load(keyFile, true);
        Path publicKey = keyFile.resolveSibling("checkpoint.key.pub");
        int threads = 8;
        int perThread = 300;
        try (Database db = Database.open(url, "postgres", "", null, 0, 8, Duration.ofSeconds(2));
             EvidenceWriter a = new EvidenceWriter(db.sessionFactory(), new EvidenceChain("chain-e2e"), 10_000, 64,
                     Duration.ZERO, Duration.ofSeconds(20));
             EvidenceWriter b = new EvidenceWriter(db.sessionFactory(), new EvidenceChain("chain-e2e"), 10_000, 64,
                     Duration.ZERO, Duration.ofSeconds(20))) {
            List<CompletableFuture<Void>> done = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                EvidenceWriter w = t % 2 == 0 ? a : b;
                Thread th = new Thread(() -> {
                    for (int i = 0; i < perThread; i++) {
                        EvidenceRecord r = record(true);
                        done.add(w.submit(r, true, EvidenceEvents.terminal(r, "t", Instant.now())));
                    }
                });
                workers.add(th);
                th.start();
            }
            for (Thread th : workers) {
                th.join();
            }
            CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get();
            long total = (long) threads * perThread;
            try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
                var rs = s.executeQuery("SELECT count(*), min(position), max(position), count(DISTINCT position) "
                        + "FROM evidence_chain WHERE chain_id = 'chain-e2e'");
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(total);
                assertThat(rs.getLong(2)).isEqualTo(1);
                assertThat(rs.getLong(3)).isEqualTo(total);
                assertThat(rs.getLong(4)).isEqualTo(total);
                rs = s.executeQuery("SELECT size FROM evidence_chain_head WHERE chain_id = 'chain-e2e'");
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(total);
            }
            Checkpoints checkpoints = new Checkpoints(db.dataSource(), "chain-e2e", signer, 1000, Duration.ofHours(1),
                    "t", Clock.systemUTC());
            assertThat(checkpoints.signIfDue()).isPresent();
            assertThat(checkpoints.signIfDue()).isEmpty(); // nothing new: nothing to sign

            Run ok = verify(url, publicKey);
            assertThat(ok.code()).as(ok.output()).isEqualTo(0);
            assertThat(ok.output()).contains("VALID").contains("positions 1 to " + total + " verified");
            assertThat(verify(url).code()).as("no public key").isEqualTo(2);

            // export a time range, then verify the export on its own
            Path export = stack().work.resolve("chain-e2e/export");
            ByteArrayOutputStream exportOut = new ByteArrayOutputStream();
            assertThat(attest.ExportCommand.run(new String[]{"--jdbc", url, "--user", "postgres", "--from",
                    Instant.now().minusSeconds(3600).toString(), "--to", Instant.now().plusSeconds(60).toString(),
                    "--public-key", publicKey.toString(), "--out", export.toString()},
                    new PrintStream(exportOut, true, StandardCharsets.UTF_8))).as(exportOut.toString()).isZero();
            Path exportedKey = export.resolve("keys/" + signer.keyId() + ".pub");
            Run fromExport = verifyExport(export, exportedKey);
            assertThat(fromExport.code()).as(fromExport.output()).isZero();
            assertThat(fromExport.output()).contains("positions 1 to " + total + " verified");
            // an independent verifier, written from docs/evidence-format.md alone (Node.js), agrees
            Run independent = node(export, exportedKey);
            assertThat(independent.code()).as(independent.output()).isZero();
            assertThat(independent.output()).contains("VALID");
            assertThat(java.nio.file.Files.readString(export.resolve("README.md"))).contains("VerifyCommand");
            // a changed line is caught by the manifest; with the manifest "fixed" too, by the signed checkpoint
            Path lines = export.resolve("chains/chain-e2e.jsonl");
            String original = java.nio.file.Files.readString(lines);
            java.nio.file.Files.writeString(lines, original.replaceFirst("\"completed\"", "\"denied\""));
            Run changed = verifyExport(export, exportedKey);
            assertThat(changed.code()).isEqualTo(1);
            assertThat(changed.output()).contains("manifest_mismatch");
            assertThat(node(export, exportedKey).output()).contains("manifest_mismatch");
            Path manifest = export.resolve("manifest.json");
            java.nio.file.Files.writeString(manifest, java.nio.file.Files.readString(manifest).replace(
                    attest.evidence.EvidenceAssembler.sha256(original.getBytes(StandardCharsets.UTF_8)),
                    attest.evidence.EvidenceAssembler.sha256(java.nio.file.Files.readAllBytes(lines))));
            Run rehashed = verifyExport(export, exportedKey);
            assertThat(rehashed.code()).as(rehashed.output()).isEqualTo(1);
            assertThat(rehashed.output()).contains("checkpoint_mismatch");
            Run independentRehashed = node(export, exportedKey);
            assertThat(independentRehashed.code()).isEqualTo(1);
            assertThat(independentRehashed.output()).contains("checkpoint_mismatch");

            // the application role may not change the chain (grants), nor may a superuser (trigger)
            try (Connection app = db.dataSource().getConnection()) {
                assertThatThrownBy(() -> app.createStatement().executeUpdate(
                        "UPDATE evidence_chain SET kind = 'x' WHERE position = 1")).isInstanceOf(SQLException.class)
                        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("42501"));
                assertThatThrownBy(() -> app.createStatement().executeUpdate(
                        "DELETE FROM evidence_chain WHERE position = 1")).isInstanceOf(SQLException.class);
                assertThatThrownBy(() -> app.createStatement().executeUpdate(
                        "DELETE FROM approval_event")).isInstanceOf(SQLException.class);
            }
            try (Connection su = DriverManager.getConnection(url, "postgres", "")) {
                for (String sql : List.of("UPDATE evidence_chain SET kind = 'x' WHERE position = 1",
                        "DELETE FROM evidence_chain WHERE position = 1", "TRUNCATE evidence_chain",
                        "UPDATE evidence_checkpoint SET key_id = 'x'")) {
                    assertThatThrownBy(() -> su.createStatement().executeUpdate(sql)).as(sql)
                            .isInstanceOf(SQLException.class).hasMessageContaining("append-only");
                }
            }

            // a terminal record cannot be changed or deleted (only its payloads purged, by retention)
            String record42 = "(SELECT subject_id FROM evidence_chain WHERE chain_id = 'chain-e2e' AND position = 42)";
            try (Connection app = db.dataSource().getConnection()) {
                assertThatThrownBy(() -> app.createStatement().executeUpdate("UPDATE evidence_record SET request_body = "
                        + "'\\x7b7d'::bytea WHERE id = " + record42)).hasMessageContaining("append-only");
                assertThatThrownBy(() -> app.createStatement().executeUpdate("UPDATE evidence_record SET outcome = "
                        + "'denied' WHERE id = " + record42)).hasMessageContaining("append-only");
                assertThatThrownBy(() -> app.createStatement().executeUpdate("DELETE FROM evidence_record WHERE id = "
                        + record42)).isInstanceOf(SQLException.class);
                // purging payloads is the retention role's alone
                assertThatThrownBy(() -> app.createStatement().executeUpdate("UPDATE evidence_record SET request_body "
                        + "= NULL, response_body = NULL, payload_purged = true WHERE id = " + record42))
                        .hasMessageContaining("append-only");
                assertThatThrownBy(() -> app.createStatement().executeUpdate("DELETE FROM evidence_outbox"))
                        .isInstanceOf(SQLException.class);
            }
            // a payload changed behind the chain's back (a DBA who disabled the triggers) is named by its digest
            try (Connection dba = DriverManager.getConnection(url, "postgres", "")) {
                dba.createStatement().execute("SET session_replication_role = replica");
                assertThat(dba.createStatement().executeUpdate("UPDATE evidence_record SET request_body = "
                        + "'\\x7b7d'::bytea WHERE id = " + record42)).isEqualTo(1);
            }
            Run payload = verify(url, publicKey);
            assertThat(payload.code()).isEqualTo(1);
            assertThat(payload.output()).contains("position 42:").contains("payload_digest_mismatch");
        }
        // a database administrator who disables the triggers and deletes the signed tail is still caught
        try (Connection dba = DriverManager.getConnection(url, "postgres", "")) {
            dba.createStatement().execute("SET session_replication_role = replica");
            dba.createStatement().execute("UPDATE evidence_record SET request_body = NULL");
            dba.createStatement().execute("DELETE FROM evidence_chain WHERE chain_id = 'chain-e2e' AND position > 1100");
        }
        Run truncated = verify(url, publicKey);
        assertThat(truncated.code()).as(truncated.output()).isEqualTo(1);
        assertThat(truncated.output()).contains("position 1101:").contains("truncated");

        // the signer never goes backwards: not a smaller chain, not another head for a size it signed
        try (Database db = Database.open(url, "postgres", "", null, 0, 2, Duration.ofSeconds(2));
             Connection dba = DriverManager.getConnection(url, "postgres", "")) {
            Checkpoints signerOnly = new Checkpoints(db.dataSource(), "chain-e2e", signer, 1, Duration.ZERO, "t",
                    Clock.systemUTC());
            dba.createStatement().execute("UPDATE evidence_chain_head SET size = 1000 WHERE chain_id = 'chain-e2e'");
            assertThatThrownBy(signerOnly::signIfDue).hasMessageContaining("smaller");
            dba.createStatement().execute("UPDATE evidence_chain_head SET size = " + (threads * perThread)
                    + ", head = '\\x" + "00".repeat(32) + "'::bytea WHERE chain_id = 'chain-e2e'");
            assertThatThrownBy(signerOnly::signIfDue).hasMessageContaining("another head");
        }
    }

    @Test
    void should_leave_the_suite_gateways_chain_verifiable() throws Exception {
        // the suite's own gateway has served calls and held approvals by now (or will have appended nothing)
        E2E.post("/llm/v1/chat/completions", stack().userToken("alice"), E2E.newRequestId(), E2E.CHAT);
        // with the master key, every stored payload (request, delivered, raw) is checked against its digest too
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[]{"--jdbc", stack().postgres.jdbcUrl(), "--user", "postgres",
                "--public-key", stack().work.resolve("evidence-signing.key.pub").toString(),
                "--master-key-file", stack().work.resolve("evidence-master.key").toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8));
        Run run = new Run(code, out.toString(StandardCharsets.UTF_8));
        assertThat(run.code()).as(run.output()).isEqualTo(0);
        assertThat(run.output()).contains("e2e:").doesNotContain("were not checked");
    }
}
