package attest.audit;

import attest.evidence.Database;
import attest.evidence.EvidenceAssembler;
import attest.evidence.EvidenceRecord;
import attest.evidence.EvidenceWriter;
import attest.evidence.chain.Canonical;
import attest.evidence.chain.ChainHash;
import attest.evidence.chain.EvidenceChain;
import attest.http.GatewayException;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Outside review (2026-12-02): a DBA (the store's owner, guards off) who changes the chain entry as well as the row,
 * which ReplayRecordsTest does not do. A replay must send only what a signed chain entry vouches for. Cases marked HOLE
 * are sent today.
 */
class ReplayOutsiderTest {
    static final byte[] REQUEST = ReplayRecordsTest.REQUEST;
    static final byte[] PLANTED = ReplayRecordsTest.PLANTED;

    static Path dir;
    static Database db;
    static EvidenceWriter writer;
    static HttpServer plane;
    static final List<String> received = new CopyOnWriteArrayList<>();
    static Replays replays;
    static attest.evidence.chain.Checkpoints checkpoints;

    @BeforeAll
    static void up() throws Exception {
        dir = Files.createTempDirectory("attest-replay-outsider-pg");
        db = Database.open("", "", "", dir.resolve("data"), 0, 4, Duration.ofSeconds(5));
        writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain("replay-calls"), 100, 32, Duration.ZERO,
                Duration.ofSeconds(5));
        plane = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        plane.createContext("/", x -> {
            byte[] body = x.getRequestBody().readAllBytes();
            received.add(x.getRequestMethod() + " " + x.getRequestURI() + " body=" + new String(body,
                    StandardCharsets.UTF_8));
            byte[] answer = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, answer.length);
            x.getResponseBody().write(answer);
            x.close();
        });
        plane.start();
        checkpoints = ReplayRecordsTest.sealer(db, dir);
        replays = ReplayRecordsTest.replays(db, dir, plane);
    }

    @AfterAll
    static void down() {
        plane.stop(0);
        writer.close();
        db.close();
    }

    @BeforeEach
    void clear() {
        received.clear();
    }

    static EvidenceRecord stored() {
        // sealed before the DBA comes
        return ReplayRecordsTest.stored(writer, checkpoints, ReplayRecordsTest.record("replay-calls",
                "/llm/v1/chat/completions", "llm", REQUEST), true);
    }

    static Connection owner() throws Exception {
        Connection c = java.sql.DriverManager.getConnection(db.embedded().jdbcUrl(), "postgres",
                Files.readString(Database.ownerPasswordFile(dir.resolve("data"))).strip());
        c.setAutoCommit(false);
        try (var st = c.createStatement()) {
            st.execute("SET LOCAL session_replication_role = replica");
        }
        return c;
    }

    static void sql(Connection c, String sql, Object... values) throws Exception {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < values.length; i++) {
                ps.setObject(i + 1, values[i]);
            }
            ps.executeUpdate();
        }
    }

    /** The record's call.terminal entry: chain id, position, canonical, and the hash before it. */
    record Terminal(String chain, long position, byte[] canonical, byte[] previous) {
    }

    static Terminal terminal(Connection c, UUID id) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT e.chain_id, e.position, e.canonical, p.hash FROM "
                + "evidence_chain e LEFT JOIN evidence_chain p ON p.chain_id = e.chain_id AND p.position = e.position - 1 "
                + "WHERE e.subject_id = ? AND e.kind = 'call.terminal'")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                return new Terminal(rs.getString(1), rs.getLong(2), rs.getBytes(3),
                        rs.getLong(2) == 1 ? ChainHash.GENESIS : rs.getBytes(4));
            }
        }
    }

    @SuppressWarnings("unchecked")
    static byte[] edited(byte[] canonical, java.util.function.Consumer<Map<String, Object>> request) {
        Map<String, Object> entry = (Map<String, Object>) Canonical.parse(canonical);
        request.accept((Map<String, Object>) ((Map<String, Object>) entry.get("record")).get("request"));
        return Canonical.of(entry);
    }

    static void refusedAndNothingSent(UUID id) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(
                () -> replays.reexecute(id, ReplayRecordsTest.CAROL, "token"));
        assertThat(received).as("sent to the data plane").isEmpty();
        assertThat(t).isInstanceOfSatisfying(GatewayException.class, e -> assertThat(e.status()).isEqualTo(409));
    }

    /** Row and entry changed together: the body planted with its digest in both; the entry's hash column recomputed. */
    static void plantInEntryAndRow(UUID id, boolean rehash) throws Exception {
        try (Connection c = owner()) {
            Terminal t = terminal(c, id);
            byte[] forged = edited(t.canonical(), req -> {
                req.put("sha256", EvidenceAssembler.sha256(PLANTED));
                req.put("size", (long) PLANTED.length);
            });
            sql(c, "UPDATE evidence_chain SET canonical = ?" + (rehash ? ", hash = ?" : "") + " WHERE chain_id = ? AND "
                    + "position = ?", rehash ? new Object[]{forged, ChainHash.link(t.previous(), forged), t.chain(),
                    t.position()} : new Object[]{forged, t.chain(), t.position()});
            sql(c, "UPDATE evidence_record SET request_body = ?, request_sha256 = ?, request_size = ? WHERE id = ?",
                    PLANTED, EvidenceAssembler.sha256(PLANTED), (long) PLANTED.length, id);
            c.commit();
        }
    }

    // ---- passes today

    @Test
    void the_entry_edited_without_rehashing_is_refused() throws Exception {
        EvidenceRecord r = stored();
        plantInEntryAndRow(r.getId(), false);
        refusedAndNothingSent(r.getId());
    }

    @Test
    void another_records_entry_pointed_at_is_refused() throws Exception {
        EvidenceRecord a = stored();
        EvidenceRecord b = stored();
        try (Connection c = owner()) {
            sql(c, "UPDATE evidence_chain SET subject_id = ? WHERE subject_id = ? AND kind = 'call.terminal'",
                    UUID.randomUUID(), a.getId());
            sql(c, "UPDATE evidence_chain SET subject_id = ? WHERE subject_id = ? AND kind = 'call.terminal'",
                    a.getId(), b.getId());
            c.commit();
        }
        refusedAndNothingSent(a.getId());
    }

    @Test
    void the_terminal_entry_hidden_by_its_kind_column_is_refused() throws Exception {
        EvidenceRecord r = stored();
        try (Connection c = owner()) {
            sql(c, "UPDATE evidence_chain SET kind = 'call.open' WHERE subject_id = ? AND kind = 'call.terminal'",
                    r.getId());
            c.commit();
        }
        refusedAndNothingSent(r.getId());
    }

    @Test
    void payload_key_id_set_on_a_plaintext_body_is_not_sent_as_is() throws Exception {
        EvidenceRecord r = stored();
        try (Connection c = owner()) {
            sql(c, "UPDATE evidence_record SET payload_key_id = 'k-forged' WHERE id = ?", r.getId());
            c.commit();
        }
        assertThatThrownBy(() -> replays.reexecute(r.getId(), ReplayRecordsTest.CAROL, "token"));
        assertThat(received).isEmpty();
    }

    // ---- holes until 2026-12-02: a replay now asks for the entry in the Merkle tree of a trusted signed checkpoint

    /**
     * HOLE before: Replays.vouch checks only that the entry's stored hash column follows from the previous row's hash
     * column (`ChainHash.link(previous, canonical)` against `e.hash`), never that the NEXT entry still follows from it
     * nor that any signed checkpoint covers it. A DBA who edits the call.terminal entry (request.sha256 and size of a
     * planted body), recomputes that one row's hash column and changes the row to match gets the planted body sent
     * with the auditor's token. Expected: 409 record_mismatch, nothing sent.
     */
    @Test
    void the_entry_edited_and_rehashed_with_the_row() throws Exception {
        EvidenceRecord r = stored();
        plantInEntryAndRow(r.getId(), true);
        refusedAndNothingSent(r.getId());
        assertThatThrownBy(() -> replays.reexecute(r.getId(), ReplayRecordsTest.CAROL, "token"))
                .isInstanceOfSatisfying(GatewayException.class, e -> {
                    assertThat(e.code()).isEqualTo("record_mismatch");
                    assertThat(e.getMessage()).contains("signed checkpoint");
                });
        assertThat(received).isEmpty();
    }

    /**
     * HOLE before: the entry a replay trusts is selected by the store's index columns (subject_id, kind), which a DBA can
     * change. The genuine entry's subject_id is moved away and a forged call.terminal entry inserted as position 1 of a
     * chain no instance ever had (previous = genesis, so the link check holds); it names another upstream and path and
     * the planted body's digest, and the row is changed to match. Expected: refused (the entry is in no signed
     * chain), nothing sent.
     */
    @Test
    void a_forged_entry_in_an_invented_chain_with_the_genuine_one_moved_away() throws Exception {
        EvidenceRecord r = stored();
        try (Connection c = owner()) {
            Terminal t = terminal(c, r.getId());
            @SuppressWarnings("unchecked")
            Map<String, Object> entry = (Map<String, Object>) Canonical.parse(t.canonical());
            entry.put("chain_id", "dba-chain");
            entry.put("position", 1L);
            @SuppressWarnings("unchecked")
            Map<String, Object> req = (Map<String, Object>) ((Map<String, Object>) entry.get("record")).get("request");
            req.put("sha256", EvidenceAssembler.sha256(PLANTED));
            req.put("size", (long) PLANTED.length);
            req.put("path", "/tf/v1/models/m:predict");
            req.put("upstream", "tf");
            byte[] forged = Canonical.of(entry);
            sql(c, "UPDATE evidence_chain SET subject_id = ? WHERE subject_id = ? AND kind = 'call.terminal'",
                    UUID.randomUUID(), r.getId());
            sql(c, "INSERT INTO evidence_chain (chain_id, position, kind, subject_id, recorded_at, canonical, hash) "
                    + "VALUES ('dba-chain', 1, 'call.terminal', ?, now(), ?, ?)", r.getId(), forged,
                    ChainHash.link(ChainHash.GENESIS, forged));
            sql(c, "UPDATE evidence_record SET request_body = ?, request_sha256 = ?, request_size = ?, path = ?, "
                    + "upstream = ? WHERE id = ?", PLANTED, EvidenceAssembler.sha256(PLANTED), (long) PLANTED.length,
                    "/tf/v1/models/m:predict", "tf", r.getId());
            c.commit();
        }
        refusedAndNothingSent(r.getId());
        // no trusted key ever signed that chain: it is never sealed (409 not_sealed, with when to ask again)
        assertThatThrownBy(() -> replays.reexecute(r.getId(), ReplayRecordsTest.CAROL, "token"))
                .isInstanceOfSatisfying(GatewayException.class, e -> {
                    assertThat(e.code()).isEqualTo("not_sealed");
                    assertThat(e.headers()).containsKey("Retry-After");
                });
        assertThat(received).isEmpty();
    }

    /** A checkpoint row of the genuine chain copied into the invented one: signed, but for another chain. */
    @Test
    void a_genuine_checkpoint_copied_to_an_invented_chain_does_not_seal_it() throws Exception {
        EvidenceRecord r = stored();
        try (Connection c = owner()) {
            Terminal t = terminal(c, r.getId());
            @SuppressWarnings("unchecked")
            Map<String, Object> entry = (Map<String, Object>) Canonical.parse(t.canonical());
            entry.put("chain_id", "dba-chain-2");
            entry.put("position", 1L);
            byte[] forged = Canonical.of(entry);
            sql(c, "UPDATE evidence_chain SET subject_id = ? WHERE subject_id = ? AND kind = 'call.terminal'",
                    UUID.randomUUID(), r.getId());
            sql(c, "INSERT INTO evidence_chain (chain_id, position, kind, subject_id, recorded_at, canonical, hash) "
                    + "VALUES ('dba-chain-2', 1, 'call.terminal', ?, now(), ?, ?)", r.getId(), forged,
                    ChainHash.link(ChainHash.GENESIS, forged));
            sql(c, "INSERT INTO evidence_checkpoint (chain_id, size, head, signed_at, canonical, signature, key_id, hash) "
                    + "SELECT 'dba-chain-2', size, head, signed_at, canonical, signature, key_id, hash FROM "
                    + "evidence_checkpoint WHERE chain_id = 'replay-calls' ORDER BY size DESC LIMIT 1");
            c.commit();
        }
        assertThatThrownBy(() -> replays.reexecute(r.getId(), ReplayRecordsTest.CAROL, "token"))
                .isInstanceOfSatisfying(GatewayException.class, e -> {
                    assertThat(e.status()).isEqualTo(409);
                    assertThat(e.code()).isEqualTo("record_mismatch");
                });
        assertThat(received).isEmpty();
    }

    // ---- where a path may go (Replays.target), shapes ReplayTargetTest lacks

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            /llm/v1/chat/completions#frag
            /llm/v1/chat/completions%23frag
            /llm/v1%2f..%2f..%2fadmin
            /llm/v1%2F..%2F..%2Fadmin
            /llm/..;/admin
            /llm/%2e%2e;x=1/admin
            /llm/.%2e/admin
            /llm/%2E./admin
            /llm/v1/%00/x
            /llm/v1/x%5c..%5c..%5cadmin
            /llm/v1/\u00e9
            /llm/v1/x?
            /llm/v1/x/?#
            /llm
            /llm/v1/x%3fq=1
            """)
    void a_path_that_is_not_a_plain_path_is_not_replayed_as_another(String path) {
        java.net.URI uri;
        try {
            uri = Replays.target(ReplayTargetTest.ORIGIN, "POST", path, "llm", ReplayTargetTest.UPSTREAMS);
        } catch (GatewayException refused) {
            return; // refused: nothing is sent
        }
        // if it is sent, it is the same path, on the origin, without query or fragment, and under the upstream prefix
        assertThat(uri.getRawQuery()).as(path).isNull();
        assertThat(uri.getRawFragment()).as(path).isNull();
        assertThat(uri.getPath()).as(path).startsWith("/llm").doesNotContain("..").doesNotContain("admin");
        assertThat(uri.getHost()).isEqualTo("127.0.0.1");
        System.out.println("REPLAYABLE " + path + " -> " + uri);
    }
}
