package attest.audit;

import attest.evidence.Database;
import attest.evidence.EvidenceAssembler;
import attest.evidence.EvidenceRecord;
import attest.evidence.EvidenceWriter;
import attest.evidence.chain.EvidenceChain;
import attest.http.GatewayException;
import attest.identity.Identity;
import attest.ingress.UpstreamRegistry;
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
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Re-execution of stored records against a real (embedded) PostgreSQL: which records are sent, where, and that a
 * refusal sends nothing and is itself recorded. A loopback listener stands for the data plane's origin and counts
 * what reaches it. (The routes' auditor check, stored headers and hostile ids are covered end to end by
 * {@code ReplayHostileE2EIT}; where a path may go by {@link ReplayTargetTest}.)
 */
class ReplayRecordsTest {
    static final byte[] REQUEST = "{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    static final Identity CAROL = new Identity("s-carol", "carol", Identity.USER, "attest-cli", List.of("auditor"),
            List.of(), "t", "https://idp.example/realms/attest", Instant.now());

    static Path dir;
    static Database db;
    static EvidenceWriter writer;
    static HttpServer plane;
    static final List<String> received = new CopyOnWriteArrayList<>();
    static Replays replays;
    static attest.evidence.chain.Checkpoints checkpoints;
    static volatile boolean sealing = true;

    /**
     * A signer of the chain "replay-calls" with a key of its own, started (its first checkpoint signed); a replay
     * re-executes only a record that a checkpoint it trusts holds, so each stored record is sealed at once.
     */
    static attest.evidence.chain.Checkpoints sealer(Database db, Path dir) {
        var signer = attest.evidence.chain.KeyFileSigner.load(dir.resolve("signing.key"), true);
        var made = new attest.evidence.chain.Checkpoints(db.dataSource(), "replay-calls", signer, 1, Duration.ZERO,
                "attest.evidence.v1", Clock.systemUTC());
        made.start();
        return made;
    }

    /** Replays that trust the checkpoints of {@link #sealer}'s key, and wait a second for one that is not made. */
    static Replays replays(Database db, Path dir, HttpServer plane) {
        var signer = attest.evidence.chain.KeyFileSigner.load(dir.resolve("signing.key"), true);
        return new Replays(db.dataSource(), new EvidenceChain("replay-audit"), null, "attest.evidence.v1",
                Replays.origin("127.0.0.1", plane.getAddress().getPort()), ReplayTargetTest.UPSTREAMS, Clock.systemUTC(),
                Replays.trustedKeys(signer.publicKey(), ""), Duration.ofSeconds(1));
    }

    @BeforeAll
    static void up() throws Exception {
        dir = Files.createTempDirectory("attest-replay-pg");
        db = Database.open("", "", "", dir.resolve("data"), 0, 4, Duration.ofSeconds(5));
        writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain("replay-calls"), 100, 32, Duration.ZERO,
                Duration.ofSeconds(5));
        plane = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        plane.createContext("/", x -> {
            received.add(x.getRequestMethod() + " " + x.getRequestURI() + " host=" + x.getRequestHeaders()
                    .getFirst("Host"));
            x.getRequestBody().readAllBytes();
            byte[] answer = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().add("X-Request-Id", "new-id");
            x.sendResponseHeaders(200, answer.length);
            x.getResponseBody().write(answer);
            x.close();
        });
        plane.start();
        checkpoints = sealer(db, dir);
        replays = replays(db, dir, plane);
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

    static EvidenceRecord record(String instance, String path, String upstream, byte[] request) {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.randomUUID());
        r.setRequestId(UUID.randomUUID().toString());
        r.setInstanceId(instance);
        r.setState(EvidenceRecord.OPEN);
        r.setReceivedAt(Instant.now());
        r.setForwardedAt(Instant.now());
        r.setMethod("POST");
        r.setPath(path);
        r.setUpstream(upstream);
        r.setRequestBody(request);
        r.setRequestSize(request == null ? 0L : (long) request.length);
        r.setRequestSha256(EvidenceAssembler.sha256(request == null ? new byte[0] : request));
        return r;
    }

    static EvidenceRecord stored(EvidenceRecord r, boolean terminal) {
        return stored(writer, sealing ? checkpoints : null, r, terminal);
    }

    /** Writes a record (and, when {@code terminal}, its answer and end) with a writer, then seals it when asked. */
    static EvidenceRecord stored(EvidenceWriter writer, attest.evidence.chain.Checkpoints seal, EvidenceRecord r,
                                 boolean terminal) {
        writer.insert(r, null);
        if (terminal) {
            byte[] answer = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
            r.setStatus(200);
            r.setStreamed(false);
            r.setResponseBody(answer);
            r.setResponseSize((long) answer.length);
            r.setResponseSha256(EvidenceAssembler.sha256(answer));
            r.terminate(attest.evidence.Outcome.COMPLETED, Instant.now());
            writer.commit(r, false, null).join();
        }
        if (seal != null) {
            seal.signIfDue(); // sealed: a checkpoint holds the record's entries
        }
        return r;
    }

    static long chained(UUID record, String kind) throws Exception {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM evidence_chain WHERE subject_id = ? AND kind = ?")) {
            ps.setObject(1, record);
            ps.setString(2, kind);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Test
    void should_replay_a_terminal_record_on_the_fixed_origin_only() throws Exception {
        EvidenceRecord r = stored(record("replay-calls", "/llm/v1/chat/completions", "llm", REQUEST), true);
        var out = replays.reexecute(r.getId(), CAROL, "token").orElseThrow();
        assertThat(out.path("status").asInt()).isEqualTo(200);
        assertThat(received).containsExactly("POST /llm/v1/chat/completions host=127.0.0.1:"
                + plane.getAddress().getPort());
        assertThat(chained(r.getId(), "audit.replay")).isEqualTo(1);
    }

    /**
     * A record of another gateway instance (replica) is the same data plane's call: it is replayed here, to the
     * upstream its path resolves to on this gateway and whose name it recorded, never to a host of its own.
     */
    @Test
    void should_replay_a_record_of_another_instance_through_this_data_plane_only() throws Exception {
        EvidenceRecord r = stored(record("another-replica", "/llm/v1/chat/completions", "llm", REQUEST), true);
        replays.reexecute(r.getId(), CAROL, "token").orElseThrow();
        assertThat(received).containsExactly("POST /llm/v1/chat/completions host=127.0.0.1:"
                + plane.getAddress().getPort());
    }

    /**
     * HOLE before: an open record (a call still in flight, one a crash left open, or a call held for approval whose
     * approvers have not decided) was re-executed: the request under review reached the data plane before any
     * approver had seen it. Now 409, nothing sent, the refusal recorded.
     */
    @Test
    void should_not_replay_a_record_that_has_not_ended() throws Exception {
        EvidenceRecord r = stored(record("replay-calls", "/llm/v1/chat/completions", "llm", REQUEST), false);
        assertThatThrownBy(() -> replays.reexecute(r.getId(), CAROL, "token"))
                .isInstanceOfSatisfying(GatewayException.class, e -> {
                    assertThat(e.status()).isEqualTo(409);
                    assertThat(e.code()).isEqualTo("not_replayable");
                    assertThat(e.getMessage()).doesNotContain("token").doesNotContain("hi");
                });
        assertThat(received).isEmpty();
        assertThat(chained(r.getId(), "audit.replay_refused")).isEqualTo(1);
        assertThat(chained(r.getId(), "audit.replay")).isZero();
    }

    /** Stored records that cannot be replayed as they are: nothing is sent, and the refusal is recorded. */
    @ParameterizedTest(name = "{0} {1} ({2}) -> {3}")
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            body purged             | /llm/v1/chat/completions          | llm  | 409
            another upstream        | /llm/v1/chat/completions          | tf   | 409
            unknown upstream        | /llm/v1/chat/completions          | evil | 409
            traversal               | /llm/../../admin                  | llm  | 422
            encoded traversal       | /llm/%2e%2e/%2E%2E/admin          | llm  | 422
            double encoded          | /llm/%252e%252e/admin             | llm  | 422
            host as a path          | //evil.example/llm/v1/x           | llm  | 422
            host after the prefix   | /llm//evil.example/v1/x           | llm  | 422
            absolute form           | http://evil.example/llm/v1/x      | llm  | 422
            absolute, upper case    | HTTP://evil.example/llm/v1/x      | llm  | 422
            authority               | evil.example:443                  | llm  | 422
            CRLF and a Host line    | /llm/v1/x\\r\\nHost: evil.example | llm  | 422
            encoded CRLF            | /llm/v1/x%0d%0aHost:evil.example  | llm  | 422
            backslash host          | /\\evil.example/llm               | llm  | 422
            the control plane       | /audit/records                    | NULL | 409
            """)
    void should_send_nothing_for_a_record_that_cannot_be_replayed(String what, String path, String upstream,
                                                                   int status) throws Exception {
        String p = path.replace("\\r\\n", "\r\n");
        EvidenceRecord r = stored(record("replay-calls", p, upstream, what.equals("body purged") ? null : REQUEST),
                true);
        assertThatThrownBy(() -> replays.reexecute(r.getId(), CAROL, "token"))
                .isInstanceOfSatisfying(GatewayException.class, e -> {
                    assertThat(e.status()).as(what).isEqualTo(status);
                    assertThat(e.code()).isEqualTo("not_replayable");
                });
        assertThat(received).as(what).isEmpty();
        assertThat(chained(r.getId(), "audit.replay_refused")).isEqualTo(1);
    }

    /** What a DBA does to a stored row: as the owner, with the append-only guards off (as the owner can). */
    static void dba(UUID record, String set, Object... values) throws Exception {
        try (Connection c = java.sql.DriverManager.getConnection(db.embedded().jdbcUrl(), "postgres",
                Files.readString(attest.evidence.Database.ownerPasswordFile(dir.resolve("data"))).strip())) {
            c.setAutoCommit(false);
            try (var st = c.createStatement()) {
                st.execute("SET LOCAL session_replication_role = replica");
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE evidence_record SET " + set + " WHERE id = ?")) {
                int i = 1;
                for (Object v : values) {
                    ps.setObject(i++, v);
                }
                ps.setObject(i, record);
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            c.commit();
        }
    }

    static final byte[] PLANTED = "{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\",\"content\":\"planted\"}]}"
            .getBytes(StandardCharsets.UTF_8);

    /**
     * HOLE before: the row is the store's word and a DBA can change it (the guards off); replay read the body, method,
     * path and upstream from the row alone and sent them with the auditor's token: a planted plaintext body (no data
     * key: stored bytes were sent as they were), a query added to the path, another configured upstream. Now the row
     * must say what its signed, chained {@code call.terminal} entry says and the body must match the entry's digest:
     * else 409 {@code record_mismatch}, nothing sent, the refusal itself recorded.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a plaintext body planted
            a plaintext body planted with its digest
            a query added to the path
            another configured path and upstream
            another method
            another request id
            an open record marked ended
            """)
    void should_refuse_a_record_changed_behind_its_chain_entry_and_send_nothing(String what) throws Exception {
        boolean open = what.equals("an open record marked ended");
        EvidenceRecord r = stored(record("replay-calls", "/llm/v1/chat/completions", "llm", REQUEST), !open);
        switch (what) {
            case "a plaintext body planted" -> dba(r.getId(), "request_body = ?, payload_key_id = NULL", PLANTED);
            case "a plaintext body planted with its digest" -> dba(r.getId(), "request_body = ?, request_sha256 = ?, "
                    + "request_size = ?", PLANTED, EvidenceAssembler.sha256(PLANTED), (long) PLANTED.length);
            case "a query added to the path" -> dba(r.getId(), "path = ?", "/llm/v1/chat/completions?x=1");
            case "another configured path and upstream" -> dba(r.getId(), "path = ?, upstream = ?",
                    "/tf/v1/models/m:predict", "tf");
            case "another method" -> dba(r.getId(), "method = ?", "GET");
            case "another request id" -> dba(r.getId(), "request_id = ?", "forged-request-id");
            case "an open record marked ended" -> dba(r.getId(), "state = ?, status = 200, outcome = 'completed'",
                    EvidenceRecord.TERMINAL);
            default -> throw new IllegalArgumentException(what);
        }
        assertThatThrownBy(() -> replays.reexecute(r.getId(), CAROL, "token"))
                .isInstanceOfSatisfying(GatewayException.class, e -> {
                    assertThat(e.status()).as(what).isEqualTo(409);
                    assertThat(e.code()).as(what).isEqualTo("record_mismatch");
                    assertThat(e.getMessage()).as(what).contains("chain").doesNotContain("planted");
                });
        assertThat(received).as(what).isEmpty();
        assertThat(chained(r.getId(), "audit.replay_refused")).as(what).isEqualTo(1);
        assertThat(chained(r.getId(), "audit.replay")).as(what).isZero();
    }

    @Test
    void should_answer_an_unknown_record_with_nothing_and_send_nothing() {
        assertThat(replays.reexecute(UUID.randomUUID(), CAROL, "token")).isEmpty();
        assertThat(received).isEmpty();
    }

    /** An ended call's record stored with no checkpoint made after it (no replay trusts it yet). */
    static EvidenceRecord unsealed() throws Exception {
        EvidenceRecord r = record("replay-calls", "/llm/v1/chat/completions", "llm", REQUEST);
        sealing = false;
        try {
            stored(r, true);
        } finally {
            sealing = true;
        }
        return r;
    }

    /** A record no checkpoint covers yet waits for one, then is replayed: sealing is a wait, not a refusal. */
    @Test
    void a_record_sealed_while_its_replay_waits_is_replayed() throws Exception {
        EvidenceRecord r = unsealed();
        var out = new java.util.concurrent.atomic.AtomicReference<com.fasterxml.jackson.databind.node.ObjectNode>();
        var failed = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        Thread replay = new Thread(() -> {
            try {
                out.set(replays.reexecute(r.getId(), CAROL, "token").orElseThrow());
            } catch (RuntimeException e) {
                failed.set(e);
            }
        });
        replay.start();
        // the replay waits for a checkpoint (parked between looks), and nothing is sent meanwhile
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                .until(() -> replay.getState() == Thread.State.TIMED_WAITING);
        assertThat(received).isEmpty();
        checkpoints.signIfDue();
        replay.join(10_000);
        assertThat(failed.get()).isNull();
        assertThat(out.get()).isNotNull();
        assertThat(out.get().path("status").asInt()).isEqualTo(200);
        assertThat(chained(r.getId(), "audit.replay")).isEqualTo(1);
        assertThat(received).hasSize(1);
    }

    /** A DataSource that counts the connections taken from it and not yet closed. */
    static javax.sql.DataSource counting(javax.sql.DataSource real, java.util.concurrent.atomic.AtomicInteger open) {
        return (javax.sql.DataSource) java.lang.reflect.Proxy.newProxyInstance(ReplayRecordsTest.class.getClassLoader(),
                new Class<?>[] {javax.sql.DataSource.class}, (proxy, m, args) -> {
                    Object result;
                    try {
                        result = m.invoke(real, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (!m.getName().equals("getConnection")) {
                        return result;
                    }
                    java.sql.Connection c = (java.sql.Connection) result;
                    open.incrementAndGet();
                    boolean[] closed = {false};
                    return java.lang.reflect.Proxy.newProxyInstance(ReplayRecordsTest.class.getClassLoader(),
                            new Class<?>[] {java.sql.Connection.class}, (p2, m2, a2) -> {
                                if (m2.getName().equals("close") && !closed[0]) {
                                    closed[0] = true;
                                    open.decrementAndGet();
                                }
                                try {
                                    return m2.invoke(c, a2);
                                } catch (java.lang.reflect.InvocationTargetException e) {
                                    throw e.getCause();
                                }
                            });
                });
    }

    /**
     * A replay waiting for its record's seal holds no connection while it waits (it held one for up to a checkpoint
     * period, taken from the pool the data path's evidence needs), and is refused not_sealed when none comes.
     */
    @Test
    void a_replay_waiting_for_its_seal_holds_no_connection() throws Exception {
        EvidenceRecord r = unsealed();
        var open = new java.util.concurrent.atomic.AtomicInteger();
        var signer = attest.evidence.chain.KeyFileSigner.load(dir.resolve("signing.key"), true);
        Replays waiting = new Replays(counting(db.dataSource(), open), new EvidenceChain("replay-audit"), null,
                "attest.evidence.v1", Replays.origin("127.0.0.1", plane.getAddress().getPort()),
                ReplayTargetTest.UPSTREAMS, Clock.systemUTC(), Replays.trustedKeys(signer.publicKey(), ""),
                Duration.ofSeconds(3));
        var failed = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        Thread replay = new Thread(() -> {
            try {
                waiting.reexecute(r.getId(), CAROL, "token");
            } catch (RuntimeException e) {
                failed.set(e);
            }
        });
        replay.start();
        try {
            // while it waits it takes a connection only for each look: seen parked with none open (never, before)
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
                    .until(() -> replay.getState() == Thread.State.TIMED_WAITING && open.get() == 0);
        } finally {
            replay.join(10_000); // never left running into the next test
        }
        assertThat(failed.get()).isInstanceOf(attest.http.GatewayException.class);
        assertThat(((attest.http.GatewayException) failed.get()).status()).isEqualTo(409);
        assertThat(((attest.http.GatewayException) failed.get()).code()).isEqualTo("not_sealed");
        assertThat(open.get()).isZero();
        assertThat(received).isEmpty();
        checkpoints.signIfDue(); // sealed for the tests after this one
    }
}
