package attest.e2e;

import attest.ExportCommand;
import attest.VerifyCommand;
import attest.evidence.Database;
import attest.evidence.EvidenceEvents;
import attest.evidence.EvidenceRecord;
import attest.evidence.EvidenceWriter;
import attest.evidence.chain.Checkpoints;
import attest.evidence.chain.EvidenceChain;
import attest.evidence.chain.KeyFileSigner;
import attest.evidence.chain.Merkle;
import attest.evidence.chain.MerkleStore;
import attest.evidence.chain.Receipts;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue #11's acceptance: two instance chains with heartbeat checkpoints every 10 s (a clock the test moves), a
 * range-proof export of [T0 + 25 s, T0 + 85 s) that verifies, and each way of hiding evidence named by
 * attest.VerifyCommand and, identically, by the Node.js verifier written from docs/evidence-format.md: a trimmed
 * head, a trimmed tail, a deleted chain, a fork against a witness (the checkpoint events Kafka carried), a missing
 * heartbeat, a forged receipt. Then receipts from the running gateway.
 */
class EvidenceCompletenessE2EIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HexFormat HEX = HexFormat.of();
    static final Instant T0 = Instant.parse("2026-11-20T00:00:00Z");
    static final Instant FROM = T0.plusSeconds(25);
    static final Instant TO = T0.plusSeconds(85);
    static String url;
    static Path dir;
    static Path key;
    static Path export;
    static Path witness;
    static KeyFileSigner signer;

    record Run(int code, String output) {
    }

    static final class MovingClock extends Clock {
        volatile Instant now = T0;

        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        public Instant instant() {
            return now;
        }
    }

    static String db(String name) {
        return stack().postgres.jdbcUrl().replace("/postgres", "/" + name);
    }

    static void createDatabase(String name, String template) throws Exception {
        try (Connection c = stack().db()) {
            c.createStatement().execute("DROP DATABASE IF EXISTS " + name);
            c.createStatement().execute("CREATE DATABASE " + name + (template == null ? "" : " TEMPLATE " + template));
        }
    }

    static EvidenceRecord record(String instance) {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.randomUUID());
        r.setRequestId("completeness-" + UUID.randomUUID());
        r.setInstanceId(instance);
        r.setState(EvidenceRecord.TERMINAL);
        r.setOutcome("completed");
        r.setReceivedAt(Instant.now());
        r.setSubject("subject-" + instance);
        byte[] body = ("{\"n\":\"" + r.getRequestId() + "\"}").getBytes(StandardCharsets.UTF_8);
        r.setRequestBody(body);
        r.setRequestSize((long) body.length);
        r.setRequestSha256(attest.evidence.EvidenceAssembler.sha256(body));
        return r;
    }

    /** Appends n records to a chain through the gateway's own writer. */
    static void append(EvidenceWriter w, String instance, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            EvidenceRecord r = record(instance);
            w.submit(r, true, EvidenceEvents.terminal(r, "t", Instant.now())).get();
        }
    }

    /**
     * gw-a and gw-b start at T0; every 10 s each appends 3 records and signs its heartbeat, until T0 + 150 s;
     * gw-b is silent (no checkpoint) at 110, 120 and 130 s.
     */
    @BeforeAll
    static void build() throws Exception {
        createDatabase("completeness", null);
        url = db("completeness");
        dir = stack().work.resolve("completeness-e2e");
        key = dir.resolve("checkpoint.key");
        signer = KeyFileSigner.load(key, true);
        MovingClock clock = new MovingClock();
        try (Database db = Database.open(url, "postgres", "", null, 0, 4, Duration.ofSeconds(2));
             EvidenceWriter a = new EvidenceWriter(db.sessionFactory(), new EvidenceChain("gw-a"), 1000, 64,
                     Duration.ZERO, Duration.ofSeconds(20));
             EvidenceWriter b = new EvidenceWriter(db.sessionFactory(), new EvidenceChain("gw-b"), 1000, 64,
                     Duration.ZERO, Duration.ofSeconds(20))) {
            Checkpoints ca = new Checkpoints(db.dataSource(), "gw-a", signer, 1000, Duration.ofSeconds(10), "t", clock);
            Checkpoints cb = new Checkpoints(db.dataSource(), "gw-b", signer, 1000, Duration.ofSeconds(10), "t", clock);
            ca.start();
            cb.start();
            for (int step = 1; step <= 15; step++) {
                clock.now = T0.plusSeconds(10L * step);
                append(a, "gw-a", 3);
                append(b, "gw-b", 3);
                assertThat(ca.signIfDue()).as("heartbeat of gw-a at step " + step).isPresent();
                if (step < 11 || step > 13) {
                    assertThat(cb.signIfDue()).isPresent();
                }
                assertThat(ca.signIfDue()).as("not due twice").isEmpty();
            }
        }
        // what a Kafka consumer of the evidence topic saved: the checkpoint events, one JSON value per line
        witness = dir.resolve("witness.jsonl");
        StringBuilder w = new StringBuilder();
        try (Connection c = DriverManager.getConnection(url, "postgres", "");
             ResultSet rs = c.createStatement().executeQuery("SELECT payload FROM evidence_outbox ORDER BY id")) {
            while (rs.next()) {
                w.append(rs.getString(1)).append('\n');
            }
        }
        Files.writeString(witness, w.toString());
        export = dir.resolve("export");
        exportTo(url, FROM, TO, export);
    }

    static void exportTo(String jdbc, Instant from, Instant to, Path out) throws Exception {
        deleteTree(out);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        int code = ExportCommand.run(new String[]{"--jdbc", jdbc, "--user", "postgres", "--from", from.toString(),
                "--to", to.toString(), "--public-key", key + ".pub", "--out", out.toString(), "--wait-ms", "0"},
                new PrintStream(o, true, StandardCharsets.UTF_8));
        assertThat(code).as(o.toString()).isZero();
    }

    static void deleteTree(Path p) throws Exception {
        if (Files.exists(p)) {
            try (Stream<Path> walk = Files.walk(p)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    static Path copy(Path from, String name) throws Exception {
        Path to = dir.resolve(name);
        deleteTree(to);
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path f : walk.toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(f, t);
                }
            }
        }
        return to;
    }

    static Run java(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--public-key");
        all.add(key + ".pub");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(all.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8));
    }

    static Run node(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("node", "tests/independent-verifier/verify.mjs"));
        all.addAll(List.of(args));
        all.add(key + ".pub");
        Process p = new ProcessBuilder(all).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out);
    }

    /** Both verifiers give the same verdict, exit code and fault name. */
    static void both(String verdict, String fault, String... args) throws Exception {
        Run j = java(args);
        Run n = node(args);
        assertThat(j.output()).as("java").contains(verdict);
        assertThat(n.output()).as("node").contains(verdict);
        int code = verdict.equals("VALID") ? 0 : 1;
        assertThat(j.code()).as(j.output()).isEqualTo(code);
        assertThat(n.code()).as(n.output()).isEqualTo(code);
        if (fault != null) {
            assertThat(j.output()).as("java").contains(fault);
            assertThat(n.output()).as("node").contains(fault);
        }
    }

    static String range(Path d) {
        return d.toString();
    }

    static ObjectNode manifest(Path d) throws Exception {
        return (ObjectNode) JSON.readTree(d.resolve("manifest.json").toFile());
    }

    static ObjectNode chain(ObjectNode manifest, String id) {
        for (JsonNode c : manifest.path("chains")) {
            if (id.equals(c.path("chain_id").asText())) {
                return (ObjectNode) c;
            }
        }
        throw new AssertionError("no chain " + id);
    }

    /** Rewrites the manifest's digests as the one who trims an export would. */
    static void reseal(Path d, ObjectNode manifest) throws Exception {
        ObjectNode files = manifest.putObject("files");
        try (Stream<Path> walk = Files.walk(d)) {
            for (Path f : walk.filter(Files::isRegularFile).sorted().toList()) {
                String rel = d.relativize(f).toString().replace('\\', '/');
                if (!rel.equals("manifest.json")) {
                    files.put(rel, HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
                }
            }
        }
        Files.writeString(d.resolve("manifest.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(manifest));
    }

    static List<String> lines(Path f) throws Exception {
        return new ArrayList<>(Files.readAllLines(f).stream().filter(l -> !l.isEmpty()).toList());
    }

    static JsonNode signed(String checkpointLine) throws Exception {
        return JSON.readTree(Base64.getDecoder().decode(JSON.readTree(checkpointLine).path("canonical").asText()));
    }

    @Test
    void should_verify_a_range_proof_export_and_the_database_with_both_verifiers() throws Exception {
        both("VALID", null, "--export", export.toString(), "--from", FROM.toString(), "--to", TO.toString());
        ObjectNode m = manifest(export);
        assertThat(chain(m, "gw-a").path("first_position").asLong()).isEqualTo(7); // opening at 20 s: size 6
        assertThat(chain(m, "gw-a").path("last_position").asLong()).isEqualTo(27); // closing at 90 s: size 27
        Run db = java("--jdbc", url, "--user", "postgres", "--from", FROM.toString(), "--to", TO.toString());
        assertThat(db.code()).as(db.output()).isZero();
        assertThat(db.output()).contains("VALID").contains("gw-a: positions 1 to 45 verified");
    }

    @Test
    void should_report_a_trimmed_tail_as_incomplete() throws Exception {
        Path d = copy(export, "trimmed-tail");
        ObjectNode m = manifest(d);
        Path cps = d.resolve("checkpoints/gw-a.jsonl");
        List<String> kept = new ArrayList<>();
        for (String l : lines(cps)) {
            if (!Instant.parse(signed(l).path("signed_at").asText()).isAfter(T0.plusSeconds(60))) {
                kept.add(l);
            }
        }
        long size = JSON.readTree(kept.get(kept.size() - 1)).path("size").asLong(); // 18
        Files.writeString(cps, String.join("\n", kept) + "\n");
        Path entries = d.resolve("chains/gw-a.jsonl");
        List<String> e = lines(entries);
        long first = chain(m, "gw-a").path("first_position").asLong();
        Files.writeString(entries, String.join("\n", e.subList(0, (int) (size - first + 1))) + "\n");
        chain(m, "gw-a").put("last_position", size);
        chain(m, "gw-a").put("last_in_range", size);
        reseal(d, m);
        both("INCOMPLETE", "uncovered_span", "--export", d.toString(), "--from", FROM.toString(), "--to", TO.toString());
        Run j = java("--export", d.toString(), "--from", FROM.toString(), "--to", TO.toString());
        assertThat(j.output()).contains("gw-a: uncovered_span " + T0.plusSeconds(60) + " to " + TO);
        // without the range asked for, the same trimmed export still verifies: the range is the auditor's
        assertThat(java("--export", d.toString()).code()).isZero();
    }

    @Test
    void should_report_a_trimmed_head_as_incomplete() throws Exception {
        Path d = copy(export, "trimmed-head");
        ObjectNode m = manifest(d);
        Path cps = d.resolve("checkpoints/gw-a.jsonl");
        List<String> kept = new ArrayList<>();
        for (String l : lines(cps)) {
            if (!Instant.parse(signed(l).path("signed_at").asText()).isBefore(T0.plusSeconds(50))) {
                kept.add(l);
            }
        }
        JsonNode opening = signed(kept.get(0));
        long size = opening.path("size").asLong(); // 15
        Files.writeString(cps, String.join("\n", kept) + "\n");
        Path entries = d.resolve("chains/gw-a.jsonl");
        List<String> e = lines(entries);
        long first = chain(m, "gw-a").path("first_position").asLong();
        Files.writeString(entries, String.join("\n", e.subList((int) (size + 1 - first), e.size())) + "\n");
        chain(m, "gw-a").put("first_position", size + 1);
        chain(m, "gw-a").put("anchor_hash", opening.path("head").asText());
        ArrayNode frontier = chain(m, "gw-a").putArray("frontier"); // recomputed from the dropped entries, as one can
        try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
            Merkle.Frontier.of(size, new MerkleStore(c, "gw-a", false)).nodes().forEach(n -> frontier.add(HEX.formatHex(n)));
        }
        reseal(d, m);
        both("INCOMPLETE", "uncovered_span", "--export", d.toString(), "--from", FROM.toString(), "--to", TO.toString());
        assertThat(java("--export", d.toString(), "--from", FROM.toString(), "--to", TO.toString()).output())
                .contains("gw-a: uncovered_span " + FROM + " to " + T0.plusSeconds(50));
    }

    @Test
    void should_report_a_deleted_chain_in_the_database_and_in_an_export() throws Exception {
        createDatabase("completeness_deleted", "completeness");
        String deleted = db("completeness_deleted");
        try (Connection dba = DriverManager.getConnection(deleted, "postgres", "")) {
            dba.createStatement().execute("SET session_replication_role = replica");
            for (String t : List.of("evidence_chain", "evidence_checkpoint", "evidence_chain_head", "evidence_instance",
                    "evidence_merkle_node")) {
                dba.createStatement().execute("DELETE FROM " + t + " WHERE chain_id = 'gw-b'");
            }
        }
        Run db = java("--jdbc", deleted, "--user", "postgres");
        assertThat(db.code()).as(db.output()).isEqualTo(1);
        assertThat(db.output()).contains("TAMPERED").contains("gw-b position 1: missing_chain");

        Path d = copy(export, "missing-chain");
        ObjectNode m = manifest(d);
        ArrayNode chains = m.putArray("chains");
        manifest(export).path("chains").forEach(c -> {
            if (!"gw-b".equals(c.path("chain_id").asText())) {
                chains.add(c);
            }
        });
        Files.delete(d.resolve("chains/gw-b.jsonl"));
        Files.delete(d.resolve("checkpoints/gw-b.jsonl"));
        reseal(d, m);
        both("INCOMPLETE", "gw-b: missing_chain", "--export", d.toString(), "--from", FROM.toString(), "--to",
                TO.toString());
    }

    @Test
    void should_report_a_fork_and_a_rollback_against_a_witness() throws Exception {
        // a database rolled back to gw-a's 21st entry, and the gateway going on from there: it signs new heads
        // for sizes it had signed before, which only the witness still knows
        createDatabase("completeness_fork", "completeness");
        String forked = db("completeness_fork");
        try (Connection dba = DriverManager.getConnection(forked, "postgres", "")) {
            dba.createStatement().execute("SET session_replication_role = replica");
            // a rollback takes the records of those entries with it (each entry here is one record's, terminal):
            // records left behind would be found without the witness (record_unchained)
            dba.createStatement().execute("DELETE FROM evidence_record WHERE id IN (SELECT subject_id FROM "
                    + "evidence_chain WHERE chain_id = 'gw-a' AND position > 21)");
            dba.createStatement().execute("DELETE FROM evidence_chain WHERE chain_id = 'gw-a' AND position > 21");
            dba.createStatement().execute("DELETE FROM evidence_checkpoint WHERE chain_id = 'gw-a' AND size > 21");
            dba.createStatement().execute("DELETE FROM evidence_merkle_node WHERE chain_id = 'gw-a'");
            dba.createStatement().execute("UPDATE evidence_chain_head SET size = 21, frontier = NULL, head = (SELECT hash "
                    + "FROM evidence_chain WHERE chain_id = 'gw-a' AND position = 21) WHERE chain_id = 'gw-a'");
        }
        Run rolledBack = java("--jdbc", forked, "--user", "postgres", "--witness", witness.toString());
        assertThat(rolledBack.code()).as(rolledBack.output()).isEqualTo(1);
        assertThat(rolledBack.output()).contains("gw-a position 22: rollback");
        assertThat(java("--jdbc", forked, "--user", "postgres").code()).as("without the witness").isZero();

        MovingClock clock = new MovingClock();
        clock.now = T0.plusSeconds(200);
        try (Database db = Database.open(forked, "postgres", "", null, 0, 2, Duration.ofSeconds(2));
             EvidenceWriter a = new EvidenceWriter(db.sessionFactory(), new EvidenceChain("gw-a"), 1000, 64,
                     Duration.ZERO, Duration.ofSeconds(20))) {
            append(a, "gw-a", 9);
            assertThat(new Checkpoints(db.dataSource(), "gw-a", signer, 1000, Duration.ofSeconds(10), "t", clock)
                    .signIfDue()).isPresent();
        }
        Run fork = java("--jdbc", forked, "--user", "postgres", "--witness", witness.toString());
        assertThat(fork.code()).as(fork.output()).isEqualTo(1);
        assertThat(fork.output()).contains("TAMPERED").contains("gw-a position 24: fork");
        Path d = dir.resolve("forked-export");
        exportTo(forked, FROM, TO, d);
        both("VALID", null, "--export", d.toString());
        both("TAMPERED", "position 24: fork", "--export", d.toString(), "--witness", witness.toString());
    }

    @Test
    void should_report_a_missing_heartbeat_inside_the_range() throws Exception {
        Instant from = T0.plusSeconds(95);
        Instant to = T0.plusSeconds(145);
        Run db = java("--jdbc", url, "--user", "postgres", "--from", from.toString(), "--to", to.toString());
        assertThat(db.code()).as(db.output()).isEqualTo(1);
        assertThat(db.output()).contains("INCOMPLETE")
                .contains("gw-b: missing_heartbeat " + T0.plusSeconds(100) + " to " + T0.plusSeconds(140));
        Path d = dir.resolve("silent-export");
        exportTo(url, from, to, d);
        both("INCOMPLETE", "gw-b: missing_heartbeat", "--export", d.toString(), "--from", from.toString(), "--to",
                to.toString());
        // and the export verifies for a range the heartbeats do cover
        both("VALID", null, "--export", export.toString(), "--from", FROM.toString(), "--to", TO.toString(), "--witness",
                witness.toString());
    }

    @Test
    void should_verify_a_receipt_offline_and_refuse_a_forged_one() throws Exception {
        Path receipt = dir.resolve("receipt.json");
        UUID id;
        try (Connection c = DriverManager.getConnection(url, "postgres", "");
             ResultSet rs = c.createStatement().executeQuery("SELECT subject_id FROM evidence_chain WHERE chain_id = "
                     + "'gw-a' AND position = 300 / 10")) {
            rs.next();
            id = (UUID) rs.getObject(1);
            Files.writeString(receipt, Receipts.build(c, id).orElseThrow().toString());
        }
        both("VALID", null, "--receipt", receipt.toString());
        ObjectNode r = (ObjectNode) JSON.readTree(receipt.toFile());
        assertThat(r.path("inclusion").size()).isLessThanOrEqualTo(6); // log2 of the 30-something-entry tree
        String entry = new String(Base64.getDecoder().decode(r.path("entry").asText()), StandardCharsets.UTF_8);
        r.put("entry", Base64.getEncoder().encodeToString(entry.replace("\"completed\"", "\"denied\"")
                .getBytes(StandardCharsets.UTF_8)));
        Path forged = dir.resolve("forged-receipt.json");
        Files.writeString(forged, r.toString());
        both("TAMPERED", "position 30: bad_inclusion_proof", "--receipt", forged.toString());
    }

    static HttpResponse<String> get(String path, String token) throws Exception {
        return E2E.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack().controlPort + path))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + token).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void should_give_the_caller_a_receipt_for_a_real_call_that_verifies_offline() throws Exception {
        String rid = E2E.newRequestId();
        HttpResponse<String> call = E2E.post("/llm/v1/chat/completions", stack().userToken("alice"), rid, E2E.CHAT);
        assertThat(call.statusCode()).isEqualTo(200);
        String id = call.headers().firstValue("Attest-Evidence-Id").orElseThrow();
        assertThat(id).isEqualTo(String.valueOf(E2E.evidence(rid).get("id")));
        // a call refused by a route carries its evidence id too (dave: 403 by policy)
        HttpResponse<String> denied = E2E.post("/llm/v1/chat/completions", stack().userToken("dave"),
                E2E.newRequestId(), E2E.CHAT);
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(denied.headers().firstValue("Attest-Evidence-Id")).isPresent();
        // a 401 refused on its headers is answered before its evidence is written (and past the per-source
        // threshold only counted in a refusal.summary): it names the gateway's request id, never an evidence id
        HttpResponse<String> refused = E2E.post("/llm/v1/chat/completions", "not-a-token", E2E.newRequestId(), E2E.CHAT);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(refused.headers().firstValue("X-Request-Id")).isPresent();
        assertThat(refused.headers().firstValue("Attest-Evidence-Id")).isEmpty();

        String path = "/evidence/" + id + "/proof";
        HttpResponse<String> proof = await().atMost(Duration.ofSeconds(15)).until(
                () -> get(path, stack().userToken("alice")), r -> r.statusCode() == 200);
        assertThat(get(path, stack().userToken("bob")).statusCode()).as("another caller").isEqualTo(404);
        assertThat(get(path, stack().userToken("carol")).statusCode()).as("an auditor").isEqualTo(200);
        assertThat(get("/evidence/" + UUID.randomUUID() + "/proof", stack().userToken("carol")).statusCode())
                .isEqualTo(404);
        assertThat(get("/evidence/" + id + "/proof/../../audit/access", stack().userToken("carol")).statusCode())
                .isIn(400, 404);
        Path receipt = dir.resolve("gateway-receipt.json");
        Files.writeString(receipt, proof.body());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[]{"--receipt", receipt.toString(), "--public-key",
                stack().work.resolve("evidence-signing.key.pub").toString()}, new PrintStream(out, true,
                StandardCharsets.UTF_8));
        assertThat(code).as(out.toString()).isZero();
        assertThat(out.toString()).contains("record " + id);
    }
}
