package attest.e2e;

import attest.evidence.DeadInstanceCloser;
import attest.evidence.Database;
import attest.evidence.InstanceLease;
import attest.evidence.chain.EvidenceChain;
import attest.stack.Gateway;
import attest.stack.GatewayProcess;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Dead replicas are closed by survivors (docs/evidence-format.md section 4.5): a replica killed with kill -9 that
 * never comes back has its open calls closed as aborted by a survivor, in the survivor's own chain, after a signed
 * statement of the dead chain's size and head; the dead chain is fenced, both chains verify, and the dead id may
 * start again. The lease rules (a paused or cut-off survivor never closes anyone) are shown on a database of their
 * own, so that no gateway of the suite takes part.
 */
class DeadReplicaE2EIT {
    private static final String LEASE_MS = "3000";

    @Test
    void should_close_a_killed_replicas_open_calls_in_a_survivors_chain_and_keep_both_chains_verifiable()
            throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String dead = "dead-replica-" + suffix;
        Map<String, String> deadSettings = replica(dead);
        Map<String, String> survivorSettings = replica("survivor-" + suffix);
        String base = "http://127.0.0.1:" + deadSettings.get("attest.data.port");
        List<String> hanging = new ArrayList<>();
        try (Gateway survivor = new Gateway(survivorSettings).start();
             GatewayProcess gw = new GatewayProcess(stack().repo, stack().work.resolve(dead + ".log"), deadSettings)) {
            assertThat(E2E.chatVia(base, newRequestId()).statusCode()).isEqualTo(200);
            for (int i = 0; i < 3; i++) {
                String rid = newRequestId();
                hanging.add(rid);
                HTTP.sendAsync(HttpRequest.newBuilder(URI.create(base + "/llm/v1/chat/completions"))
                        .header("Authorization", "Bearer " + stack().userToken("alice")).header("X-Request-Id", rid)
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"demo-hang-stream\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                                        + "\"content\":\"hello\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> E2E.count("SELECT count(*) FROM evidence_record WHERE "
                    + "instance_id = '" + dead + "' AND state = 'open' AND forwarded_at IS NOT NULL") == 3);
            // alive, it is never closed, however long its calls hang (three leases)
            await().during(Duration.ofMillis(3 * Long.parseLong(LEASE_MS))).atMost(Duration.ofSeconds(30))
                    .until(() -> E2E.count("SELECT count(*) FROM evidence_chain_head WHERE chain_id = '" + dead
                            + "' AND closed_by IS NULL") == 1 && openCalls(dead) == 3);
            Instant killedAt = Instant.now();
            gw.kill();

            await().atMost(Duration.ofSeconds(40)).until(() -> openCalls(dead) == 0);
            String closer = text("SELECT closed_by FROM evidence_chain_head WHERE chain_id = '" + dead + "'");
            assertThat(closer).as("a live instance fenced the dead chain").isNotNull().isNotEqualTo(dead);
            for (String rid : hanging) {
                Map<String, Object> row = E2E.evidence(rid);
                assertThat(row.get("state")).isEqualTo("terminal");
                assertThat(row.get("outcome")).isEqualTo("aborted");
                assertThat(row.get("error_code")).isEqualTo(DeadInstanceCloser.ERROR_CODE);
                assertThat(row.get("instance_id")).as("the record stays the dead instance's").isEqualTo(dead);
                // its terminal entry is in the closer's chain, never in the dead one
                assertThat(E2E.count("SELECT count(*) FROM evidence_chain WHERE kind = 'call.terminal' AND "
                        + "subject_id = '" + row.get("id") + "' AND chain_id = '" + closer + "'")).isEqualTo(1);
                assertThat(E2E.count("SELECT count(*) FROM evidence_chain WHERE kind = 'call.terminal' AND "
                        + "subject_id = '" + row.get("id") + "'")).isEqualTo(1);
            }
            // the closer signed the dead chain's final size and head into its own chain, once
            var statement = E2E.JSON.readTree(text("SELECT convert_from(canonical, 'UTF8') FROM evidence_chain WHERE "
                    + "chain_id = '" + closer + "' AND kind = 'chain.closed' AND convert_from(canonical, 'UTF8') LIKE "
                    + "'%\"closed_chain_id\":\"" + dead + "\"%'")).path("record");
            assertThat(E2E.count("SELECT count(*) FROM evidence_chain WHERE kind = 'chain.closed' AND chain_id = '"
                    + closer + "' AND "
                    + "convert_from(canonical, 'UTF8') LIKE '%\"closed_chain_id\":\"" + dead + "\"%'")).isEqualTo(1);
            assertThat(statement.path("size").asLong()).isEqualTo(E2E.count("SELECT size FROM evidence_chain_head "
                    + "WHERE chain_id = '" + dead + "'")).isEqualTo(E2E.count("SELECT max(position) FROM evidence_chain "
                    + "WHERE chain_id = '" + dead + "'"));
            assertThat(statement.path("head").asText()).isEqualTo(text("SELECT encode(head, 'hex') FROM "
                    + "evidence_chain_head WHERE chain_id = '" + dead + "'"));
            // fenced: nothing is appended to the dead chain any more (a paused process that wakes up fails closed)
            try (Connection c = stack().db()) {
                c.setAutoCommit(false);
                assertThatThrownBy(() -> new EvidenceChain(dead).append(c, List.of(new EvidenceChain.Entry(
                        "call.terminal", UUID.randomUUID(), Instant.now(), Map.of("x", 1)))))
                        .isInstanceOf(SQLException.class).hasMessageContaining("closed by instance " + closer);
                c.rollback();
            }
            verifies(dead, closer);
            // the closure covers the dead chain's silence: over a range through the death and the closing, neither
            // verifier finds a gap in either chain, in the database or in an export
            Instant to = Instant.now();
            await().atMost(Duration.ofSeconds(15)).until(() -> E2E.count("SELECT count(*) FROM evidence_checkpoint WHERE "
                    + "chain_id = '" + closer + "' AND signed_at > '" + to + "'") > 0);
            String[] range = {"--from", killedAt.minusSeconds(1).toString(), "--to", to.toString()};
            Path key = stack().work.resolve("evidence-signing.key.pub");
            List<String> args = new ArrayList<>(List.of("--jdbc", stack().postgres.jdbcUrl(), "--user", "postgres",
                    "--public-key", key.toString()));
            args.addAll(List.of(range));
            var out = new java.io.ByteArrayOutputStream();
            attest.VerifyCommand.run(args.toArray(String[]::new), new java.io.PrintStream(out, true,
                    java.nio.charset.StandardCharsets.UTF_8));
            assertNoGapOrFault(out.toString(java.nio.charset.StandardCharsets.UTF_8), dead, closer);
            Path export = stack().work.resolve("export-" + dead);
            List<String> exportArgs = new ArrayList<>(List.of("--jdbc", stack().postgres.jdbcUrl(), "--user", "postgres",
                    "--public-key", key.toString(), "--out", export.toString(), "--wait-ms", "0"));
            exportArgs.addAll(List.of(range));
            var exported = new java.io.ByteArrayOutputStream();
            assertThat(attest.ExportCommand.run(exportArgs.toArray(String[]::new), new java.io.PrintStream(exported, true,
                    java.nio.charset.StandardCharsets.UTF_8))).as(exported.toString()).isZero();
            List<String> nodeArgs = new ArrayList<>(List.of("node", "tests/independent-verifier/verify.mjs", "--export",
                    export.toString()));
            nodeArgs.addAll(List.of(range));
            nodeArgs.add(key.toString());
            Process node = new ProcessBuilder(nodeArgs).redirectErrorStream(true).start();
            String nodeOut = new String(node.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            node.waitFor();
            assertNoGapOrFault(nodeOut, dead, closer);
            assertThat(nodeOut).contains(dead + ": positions");
        }

        // the same id starts again: its chain is open again and serves calls; every chain still verifies
        try (Gateway again = new Gateway(deadSettings).start()) {
            assertThat(E2E.chatVia(base, newRequestId()).statusCode()).isEqualTo(200);
            assertThat(E2E.count("SELECT count(*) FROM evidence_chain_head WHERE chain_id = '" + dead
                    + "' AND closed_by IS NULL")).isEqualTo(1);
            verifies(dead);
        }
    }

    @Test
    void should_never_close_a_replica_before_the_survivor_itself_held_its_lease_for_a_whole_lease() throws Exception {
        String name = "lease_" + UUID.randomUUID().toString().substring(0, 8);
        try (Connection admin = stack().db()) {
            admin.createStatement().execute("CREATE DATABASE " + name);
        }
        String url = stack().postgres.jdbcUrl().replace("/postgres", "/" + name);
        try (Database db = Database.open(url, "postgres", "", Path.of("target/unused"), 0, 4, Duration.ofSeconds(2))) {
            InstanceLease a = new InstanceLease(db.dataSource(), "a", Duration.ofSeconds(5));
            InstanceLease b = new InstanceLease(db.dataSource(), "b", Duration.ofSeconds(5));
            InstanceLease c = new InstanceLease(db.dataSource(), "c", Duration.ofSeconds(5));
            a.renew();
            b.renew();
            c.renew();
            // b went silent an hour ago; a and c came back ten seconds ago from an outage (a database down):
            // neither saw b silent for a whole lease, so neither closes it
            sql(db, "UPDATE evidence_instance_lease SET renewed_at = now() - interval '1 hour', since = now() - "
                    + "interval '2 hours' WHERE chain_id = 'b'");
            sql(db, "UPDATE evidence_instance_lease SET since = now() - interval '2 seconds' WHERE chain_id IN ('a','c')");
            assertThat(closer(db, a).claim()).isEmpty();
            // a survivor whose own lease expired (a paused process) never closes anyone either
            sql(db, "UPDATE evidence_instance_lease SET since = now() - interval '1 hour', renewed_at = now() - "
                    + "interval '6 seconds' WHERE chain_id = 'a'");
            assertThat(closer(db, a).claim()).isEmpty();
            a.renew();
            assertThat(closer(db, a).claim()).as("a renewal after its lease starts a new run").isEmpty();
            sql(db, "INSERT INTO evidence_chain_head (chain_id, size, head) VALUES ('b', 0, decode(repeat('00', 32), "
                    + "'hex'))");
            // an unbroken run of a whole lease: b is closed, by exactly one of two survivors racing for it
            sql(db, "UPDATE evidence_instance_lease SET since = now() - interval '1 hour' WHERE chain_id IN ('a','c')");
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                Future<List<String>> byA = pool.submit(() -> closer(db, a).claim());
                Future<List<String>> byC = pool.submit(() -> closer(db, c).claim());
                List<String> all = new ArrayList<>(byA.get());
                all.addAll(byC.get());
                assertThat(all).containsExactly("b");
            } finally {
                pool.shutdownNow();
            }
            String winner = text(db, "SELECT closed_by FROM evidence_instance_lease WHERE chain_id = 'b'");
            assertThat(winner).isIn("a", "c");
            assertThat(count(db, "SELECT count(*) FROM evidence_chain WHERE kind = 'chain.closed'")).isEqualTo(1);
            // b comes back under its id: the renewal clears the claim and reports the fence until its chain starts
            assertThat(b.renew()).as("fenced").isTrue();
            assertThat(closer(db, a).claim()).isEmpty();
            // an orderly stop gives the lease up: nothing is left for a survivor
            c.release();
            assertThat(count(db, "SELECT count(*) FROM evidence_instance_lease WHERE chain_id = 'c'")).isZero();
        } finally {
            try (Connection admin = stack().db()) {
                admin.createStatement().execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
            }
        }
    }

    private static DeadInstanceCloser closer(Database db, InstanceLease lease) {
        return new DeadInstanceCloser(db.dataSource(), lease, new EvidenceChain(lease.instanceId()), null, "t",
                java.time.Clock.systemUTC());
    }

    private static void sql(Database db, String sql) throws SQLException {
        try (Connection c = db.dataSource().getConnection()) {
            c.setAutoCommit(true);
            c.createStatement().execute(sql);
        }
    }

    private static long count(Database db, String sql) throws SQLException {
        return Long.parseLong(text(db, sql));
    }

    private static String text(Database db, String sql) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    static Map<String, String> replica(String id) {
        Map<String, String> s = stack().extraGatewaySettings();
        s.put("attest.instance-id", id);
        s.put("attest.upstream.llm.idle-timeout-ms", "120000");
        s.put("attest.upstream.llm.timeout-ms", "120000");
        s.put("attest.evidence.checkpoint-every-ms", "500");
        s.put("attest.evidence.checkpoint-check-ms", "200");
        s.put("attest.evidence.instance-lease-ms", LEASE_MS);
        s.put("attest.evidence.lease-renew-ms", "500");
        return s;
    }

    static long openCalls(String instance) throws Exception {
        return E2E.count("SELECT count(*) FROM evidence_record WHERE instance_id = '" + instance + "' AND state = 'open'");
    }

    static String text(String sql) throws SQLException {
        try (Connection c = stack().db(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    static void assertNoGapOrFault(String output, String... chains) {
        assertThat(output).doesNotContain("TAMPERED");
        for (String chain : chains) {
            assertThat(output).as(output).doesNotContain(chain + ": uncovered_span")
                    .doesNotContain(chain + ": missing_heartbeat").doesNotContain(chain + " position");
        }
    }

    static void verifies(String... chains) {
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            var run = EvidenceChainE2EIT.verify(stack().postgres.jdbcUrl(),
                    stack().work.resolve("evidence-signing.key.pub"));
            assertThat(run.code()).as(run.output()).isZero();
            for (String chain : chains) {
                assertThat(run.output()).contains(chain + ":");
            }
        });
    }
}
