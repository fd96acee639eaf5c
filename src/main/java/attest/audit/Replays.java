package attest.audit;

import attest.evidence.EvidenceAssembler;
import attest.evidence.EvidenceRecord;
import attest.evidence.EvidenceUnavailableException;
import attest.evidence.chain.Canonical;
import attest.evidence.chain.ChainHash;
import attest.evidence.chain.DatabaseSource;
import attest.evidence.chain.EvidenceChain;
import attest.evidence.chain.Verifier;
import attest.evidence.crypto.PayloadCipher;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import attest.ingress.PathNormalizer;
import attest.ingress.UpstreamRegistry;
import attest.ingress.UpstreamTarget;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import javax.sql.DataSource;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Replay of a recorded call, for auditors. Viewing shows the call's timeline from its evidence (the request
 * as received, what was forwarded and to where, the answer as delivered, the decision, the approval, the
 * masking report, the timings and the chain entries). Re-executing sends the recorded request again through
 * the data plane under the auditor's own token, so the auditor's identity and policy apply, as a new call
 * with its own evidence, and reports whether the answer's digest matches the original's. Both are evidence
 * ({@code audit.replay_view}, {@code audit.replay}), written before the view is shown or the call is made.
 * A re-executed call goes only to the gateway's own data plane, on a fixed origin, at a path that is re-checked
 * and must resolve to a configured upstream; a record that does not, or that has not ended (open, or held for
 * approval), is refused ({@code audit.replay_refused}) and nothing is sent. The recorded path is never concatenated into a URL.
 */
public final class Replays {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final java.util.Set<String> REPLAYABLE_METHODS = java.util.Set.of("GET", "POST");

    private final DataSource dataSource;
    /** The transaction that records an auditor's view or run of a replay. */
    private final attest.evidence.EvidenceTransactions evidence;
    private final PayloadCipher cipher;
    private final URI origin;
    private final UpstreamRegistry upstreams;
    private final Clock clock;
    /** The public keys whose signed checkpoints a replay trusts (key id to key): this gateway's own, and any listed. */
    private final Map<String, java.security.PublicKey> sealKeys;
    /** How long a replay waits for a signed checkpoint to cover a record sealed after its call (a fresh record). */
    private final Duration sealWait;
    // never follows a redirect and never uses a proxy: the auditor's token goes to the data plane's origin only
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER).proxy(HttpClient.Builder.NO_PROXY).build();

    /**
     * @param origin    the gateway's own data plane (scheme, host and port only; see {@link #origin(String, int)}):
     *                  the only place a re-executed call, and so the auditor's token, is ever sent
     * @param upstreams the configured upstreams: a record is re-executed only if its path resolves to one
     */
    public Replays(DataSource dataSource, EvidenceChain chain, PayloadCipher cipher, String topic, URI origin,
                   UpstreamRegistry upstreams, Clock clock) {
        this(dataSource, chain, cipher, topic, origin, upstreams, clock, Map.of(), Duration.ZERO);
    }

    /**
     * @param sealKeys the public keys of the checkpoints a replay trusts (key id to key): a record is re-executed
     *                 only once a checkpoint signed by one of them holds its {@code call.terminal} entry in its tree
     * @param sealWait how long a replay of a record no checkpoint covers yet waits for the next one
     */
    public Replays(DataSource dataSource, EvidenceChain chain, PayloadCipher cipher, String topic, URI origin,
                   UpstreamRegistry upstreams, Clock clock, Map<String, java.security.PublicKey> sealKeys,
                   Duration sealWait) {
        if (origin.getScheme() == null || !(origin.getScheme().equals("http") || origin.getScheme().equals("https"))
                || origin.getHost() == null || origin.getPort() < 0 || origin.getRawUserInfo() != null
                || !(origin.getRawPath() == null || origin.getRawPath().isEmpty()) || origin.getRawQuery() != null
                || origin.getRawFragment() != null) {
            throw new IllegalArgumentException("the replay origin must be scheme://host:port only: " + origin);
        }
        this.dataSource = dataSource;
        this.evidence = new attest.evidence.EvidenceTransactions(dataSource, chain, topic,
                "the replay could not be recorded");
        this.cipher = cipher;
        this.origin = origin;
        this.upstreams = upstreams;
        this.clock = clock;
        this.sealKeys = Map.copyOf(sealKeys);
        this.sealWait = sealWait;
    }

    /**
     * The keys a replay trusts checkpoints of: this gateway's own and those in the comma-separated public-key files
     * ({@code <file>.pub} as the signer writes it: a retired key, or another replica's).
     */
    public static Map<String, java.security.PublicKey> trustedKeys(java.security.PublicKey own, String files) {
        Map<String, java.security.PublicKey> keys = new LinkedHashMap<>();
        keys.put(attest.evidence.chain.KeyFileSigner.keyId(own), own);
        for (String f : files.split(",")) {
            if (f.isBlank()) {
                continue;
            }
            try {
                java.security.PublicKey k = attest.evidence.chain.KeyFileSigner.publicKey(
                        java.nio.file.Files.readString(java.nio.file.Path.of(f.strip())).strip());
                keys.put(attest.evidence.chain.KeyFileSigner.keyId(k), k);
            } catch (java.io.IOException | java.security.GeneralSecurityException | IllegalArgumentException e) {
                throw new IllegalStateException("attest.evidence.trusted-public-key-files: " + f.strip()
                        + " is not a readable Ed25519 public key");
            }
        }
        return keys;
    }

    /** The data plane's own origin, from its bind address and port (a wildcard bind is reached on loopback). */
    public static URI origin(String host, int port) {
        String h = host == null || host.isBlank() || host.equals("0.0.0.0") || host.equals("::")
                || host.equals("[::]") ? "127.0.0.1" : host;
        try {
            return new URI("http", null, h, port, null, null, null);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("invalid data plane address: " + host + ":" + port);
        }
    }

    private record Recorded(UUID id, String requestId, byte[] request, byte[] response, String responseSha256,
                            ObjectNode timeline, boolean ended) {
    }

    public Optional<ObjectNode> view(UUID recordId, Identity auditor) {
        Optional<Recorded> r = load(recordId);
        if (r.isEmpty()) {
            return Optional.empty();
        }
        record("audit.replay_view", recordId, auditor, Map.of());
        return Optional.of(r.get().timeline());
    }

    /**
     * Where a recorded call is re-executed: the data plane's fixed origin, with the recorded path re-checked
     * (normalised as the data plane does, and resolving to a configured upstream, the recorded one if any)
     * and the URI built from its components, never by concatenating a recorded string. Evidence records the path
     * without its query, so a replay carries no query string: a recorded path that holds one was not written by the
     * gateway, and is refused.
     *
     * @throws GatewayException 422 for a method, path or query that cannot be replayed as it is, 409 for a path
     *                          that resolves to no configured upstream or not to the recorded one
     */
    static URI target(URI origin, String method, String path, String upstreamName, UpstreamRegistry upstreams) {
        if (method == null || !REPLAYABLE_METHODS.contains(method)) {
            throw notReplayable(422, "the recorded method cannot be replayed");
        }
        PathNormalizer.Split split;
        try {
            split = PathNormalizer.normalize(path);
        } catch (GatewayException e) {
            throw notReplayable(422, "the recorded path is not a plain path on the data plane");
        }
        if (split.rawQuery() != null || path.indexOf('?') >= 0) {
            throw notReplayable(422, "the recorded path holds a query string; evidence records none, and a replay "
                    + "carries none");
        }
        UpstreamTarget resolved;
        try {
            resolved = upstreams.resolve(path);
        } catch (IllegalArgumentException e) {
            throw notReplayable(422, "the recorded path cannot be replayed");
        } catch (GatewayException e) {
            throw notReplayable(409, "the recorded path resolves to no configured upstream");
        }
        if (upstreamName != null && !upstreamName.equals(resolved.upstream().name())) {
            throw notReplayable(409, "the recorded upstream is unknown, or not the one its path resolves to");
        }
        URI uri;
        try {
            uri = new URI(origin.getScheme(), null, origin.getHost(), origin.getPort(), split.path(), null, null);
        } catch (java.net.URISyntaxException e) {
            throw notReplayable(422, "the recorded path cannot be replayed");
        }
        // the built URI must say exactly what was recorded, on exactly the fixed origin
        if (!origin.getScheme().equals(uri.getScheme()) || !origin.getHost().equals(uri.getHost())
                || origin.getPort() != uri.getPort() || uri.getRawUserInfo() != null || uri.getRawQuery() != null
                || uri.getRawFragment() != null || !split.path().equals(uri.getPath())) {
            throw notReplayable(422, "the recorded path cannot be replayed");
        }
        return uri;
    }

    private static GatewayException notReplayable(int status, String message) {
        return new GatewayException(status, "not_replayable", message, Outcome.DENIED);
    }

    /** What a call's {@code call.terminal} entry holds of its request. */
    private record Vouched(String method, String path, String upstream, String requestSha256) {
    }

    private static String string(Object value) {
        return value instanceof String v ? v : null;
    }

    private static GatewayException mismatch(String what) {
        return new GatewayException(409, "record_mismatch", what + " (changed behind the chain); it cannot be "
                + "re-executed", Outcome.DENIED);
    }

    /**
     * Refuses (409 {@code record_mismatch}) a record whose stored row is not what its {@code call.terminal} chain
     * entries hold, column by column as {@code attest verify} compares them ({@link Verifier#mismatchedColumn}): the
     * method, path, upstream and request digest a replay uses among them. An entry must also still follow from the
     * one before it in its chain (an entry edited without rehashing); that the chain's hashes reach a signed
     * checkpoint is {@code attest verify}'s to say.
     *
     * @return what the entry holds of the request: the replay is built from it, never from the row alone
     */
    private Vouched vouch(UUID id) {
        List<Entry> entries = new java.util.ArrayList<>();
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("SELECT e.canonical, e.hash, e.position, p.hash, e.chain_id FROM "
                    + "public.evidence_chain e LEFT JOIN public.evidence_chain p ON p.chain_id = e.chain_id AND "
                    + "p.position = e.position - 1 WHERE e.subject_id = ? AND e.kind = 'call.terminal'")) {
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    Map<String, String> row = null;
                    while (rs.next()) {
                        byte[] canonical = rs.getBytes(1);
                        byte[] previous = rs.getLong(3) == 1 ? ChainHash.GENESIS : rs.getBytes(4);
                        if (previous == null || !java.util.Arrays.equals(rs.getBytes(2),
                                ChainHash.link(previous, canonical)) || !Canonical.isCanonical(canonical)
                                || !(Canonical.parse(canonical) instanceof Map<?, ?> entry)
                                || !(entry.get("record") instanceof Map<?, ?> record)
                                || !id.toString().equals(record.get("id"))) {
                            throw mismatch("the record's call.terminal chain entry does not follow from its chain");
                        }
                        row = row == null ? DatabaseSource.recordColumns(c, id) : row;
                        String column = Verifier.mismatchedColumn(record, row);
                        if (column != null) {
                            throw mismatch("the stored record's " + column + " is not the one its chain entry holds");
                        }
                        entries.add(new Entry(rs.getString(5), rs.getLong(3), canonical, record));
                    }
                }
            }
        } catch (SQLException e) {
            throw new EvidenceUnavailableException("evidence unavailable");
        }
        if (entries.isEmpty()) {
            throw mismatch("no call.terminal chain entry vouches for the stored record");
        }
        Vouched vouched = null;
        for (Entry e : entries) {
            sealed(e.chainId(), e.position(), e.canonical());
            Map<?, ?> request = e.record().get("request") instanceof Map<?, ?> m ? m : Map.of();
            vouched = new Vouched(string(request.get("method")), string(request.get("path")),
                    string(request.get("upstream")), string(request.get("sha256")));
        }
        return vouched;
    }

    /** A record's {@code call.terminal} chain entry, read and checked against its row, to be checked for its seal. */
    private record Entry(String chainId, long position, byte[] canonical, Map<?, ?> record) {
    }

    /** How a record's chain entry stands against the signed checkpoints of its chain. */
    private enum Seal { SEALED, NOT_YET, BROKEN, UNTRUSTED }

    /**
     * Refuses a record whose {@code call.terminal} entry is not in the Merkle tree a trusted signed checkpoint of its
     * chain holds (409 {@code record_mismatch}): a row and its entry rewritten together and rehashed, or an entry in
     * a chain no trusted key ever signed, are not what the gateway sealed. A record no checkpoint covers yet (its call
     * ended less than a checkpoint period ago) waits up to {@code sealWait} for the next one, then 409
     * {@code not_sealed} with Retry-After. What was changed before its first checkpoint no one can tell (the
     * checkpoint period bounds that window: docs/evidence-format.md).
     */
    private void sealed(String chainId, long position, byte[] canonical) {
        long until = System.nanoTime() + sealWait.toNanos();
        while (true) {
            // a connection a look, none held while it waits: a replay waiting for its seal takes no connection from the
            // pool the data path's evidence needs (it held one for up to a checkpoint period before 2026-12-02)
            Seal seal;
            try (Connection c = dataSource.getConnection()) {
                seal = seal(c, chainId, position, canonical);
            } catch (SQLException e) {
                throw new EvidenceUnavailableException("evidence unavailable");
            }
            if (seal == Seal.SEALED) {
                return;
            }
            if (seal == Seal.BROKEN) {
                throw mismatch("the record's call.terminal chain entry is not in the tree a trusted signed checkpoint "
                        + "holds");
            }
            if (seal == Seal.UNTRUSTED) {
                throw mismatch("the record's call.terminal chain entry is covered by no checkpoint a trusted key signed "
                        + "(attest.evidence.trusted-public-key-files lists retired keys)");
            }
            if (System.nanoTime() - until >= 0) {
                long seconds = Math.max(1, sealWait.toSeconds());
                throw new GatewayException(409, "not_sealed", "no signed checkpoint covers this record yet; retry "
                        + "once the next one is signed", Outcome.DENIED, Map.of("Retry-After", String.valueOf(seconds)));
            }
            java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
    }

    private Seal seal(Connection c, String chainId, long position, byte[] canonical) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT size, canonical, signature, key_id FROM "
                + "public.evidence_checkpoint WHERE chain_id = ? AND size >= ? ORDER BY size LIMIT 16")) {
            ps.setString(1, chainId);
            ps.setLong(2, position);
            try (ResultSet rs = ps.executeQuery()) {
                boolean any = false;
                while (rs.next()) {
                    any = true;
                    long size = rs.getLong(1);
                    byte[] cp = rs.getBytes(2);
                    java.security.PublicKey key = sealKeys.get(rs.getString(4));
                    if (key == null || !attest.evidence.chain.KeyFileSigner.verify(key, cp, rs.getBytes(3))
                            || !Canonical.isCanonical(cp) || !(Canonical.parse(cp) instanceof Map<?, ?> body)
                            || !chainId.equals(body.get("chain_id")) || !Long.valueOf(size).equals(body.get("size"))
                            || !rs.getString(4).equals(body.get("key_id"))
                            || !(body.get("root") instanceof String root)) {
                        continue; // not one a trusted key signed for this chain and size, or one with no tree head
                    }
                    try {
                        byte[] signedRoot = java.util.HexFormat.of().parseHex(root);
                        java.util.List<byte[]> proof = attest.evidence.chain.Merkle.inclusion(position - 1, size,
                                new attest.evidence.chain.MerkleStore(c, chainId, false));
                        return attest.evidence.chain.Merkle.verifyInclusion(position - 1, size,
                                attest.evidence.chain.Merkle.leaf(canonical), proof, signedRoot) ? Seal.SEALED : Seal.BROKEN;
                    } catch (RuntimeException e) {
                        return Seal.BROKEN; // the tree's stored nodes do not give a proof: changed behind the chain
                    }
                }
                // checkpoints cover the position, and a trusted key signed none of them with a tree head
                return any ? Seal.UNTRUSTED : Seal.NOT_YET;
            }
        }
    }

    public Optional<ObjectNode> reexecute(UUID recordId, Identity auditor, String bearerToken) {
        Optional<Recorded> found = load(recordId);
        if (found.isEmpty()) {
            return Optional.empty();
        }
        Recorded r = found.get();
        URI target;
        Vouched v;
        try {
            if (!r.ended()) {
                // in flight, left open by a crash, or held for approval and not decided: its approvers have not seen
                // it executed, and it has no answer to compare with
                throw notReplayable(409, "the recorded call has not ended (it is open, or held for approval); it "
                        + "cannot be re-executed");
            }
            // the row is the store's word, which a DBA can change; its call.terminal entry is chained and signed
            v = vouch(recordId);
            target = target(origin, v.method(), v.path(), v.upstream(), upstreams);
            if (r.request() == null) {
                throw notReplayable(409, "the recorded request body is not stored (purged, or never kept for a "
                        + "refusal, or kept only in part); it cannot be re-executed");
            }
            if (!EvidenceAssembler.sha256(r.request()).equals(v.requestSha256())) {
                throw mismatch("the stored request body does not match the digest its chain entry holds");
            }
        } catch (GatewayException refused) {
            // the refusal is evidence too; nothing is sent
            Map<String, Object> why = new LinkedHashMap<>();
            why.put("original_request_id", r.requestId());
            why.put("status", (long) refused.status());
            why.put("reason", refused.getMessage());
            record("audit.replay_refused", recordId, auditor, why);
            throw refused;
        }
        String replayId = "replay-" + UUID.randomUUID();
        Map<String, Object> intent = new LinkedHashMap<>();
        intent.put("original_request_id", r.requestId());
        intent.put("replay_correlation_id", replayId);
        record("audit.replay", recordId, auditor, intent); // before the call: no unrecorded replay
        HttpResponse<byte[]> response;
        try {
            response = http.send(HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + bearerToken).header("X-Request-Id", replayId)
                    .header("Content-Type", "application/json")
                    .method(v.method(), HttpRequest.BodyPublishers.ofByteArray(r.request())).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("the data plane could not be reached");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
        String digest = EvidenceAssembler.sha256(response.body());
        Map<String, Object> result = new LinkedHashMap<>(intent);
        // the gateway mints its own request id; the X-Request-Id sent is only the record's correlation id
        result.put("replay_request_id", response.headers().firstValue("X-Request-Id").orElse(null));
        result.put("status", (long) response.statusCode());
        result.put("response_sha256", digest);
        result.put("original_response_sha256", r.responseSha256());
        result.put("digest_match", digest.equals(r.responseSha256()));
        record("audit.replay_result", recordId, auditor, result);
        ObjectNode out = JSON.valueToTree(result);
        out.put("record_id", recordId.toString());
        // the replay is a new call on the data plane: its answer was masked there like any other (only its
        // digest is shown here)
        out.put("masking", "data plane: masked like any call");
        return Optional.of(out);
    }

    private void record(String kind, UUID recordId, Identity auditor, Map<String, Object> extra) {
        Instant now = clock.instant();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("record_id", recordId.toString());
        body.put("auditor", auditor.username());
        body.put("auditor_subject", auditor.subject());
        body.put("auth_time", auditor.authTime() == null ? null : auditor.authTime().toString());
        body.put("at", now.toString());
        body.putAll(extra);
        evidence.run(c -> {
            AuditTrail.record(evidence, c, kind, recordId, body, now);
            return null;
        });
    }

    private Optional<Recorded> load(UUID id) {
        try (Connection c = dataSource.getConnection()) {
            ObjectNode t = JSON.createObjectNode();
            Recorded rec;
            try (PreparedStatement ps = c.prepareStatement("SELECT request_id, method, path, upstream, model, "
                    + "received_at, forwarded_at, first_byte_at, completed_at, username, client_id, decision, rule_id, "
                    + "reason, outcome, status, upstream_status, streamed, request_body, response_body, payload_key_id, "
                    + "payload_purged, request_sha256, response_sha256, raw_response_sha256, masking_report, "
                    + "approval_id, response_truncated, raw_response_body, stream_timings, forwarded_sha256, "
                    + "request_truncated, request_stored_size, state "
                    + "FROM evidence_record WHERE id = ?")) {
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    String keyId = rs.getString(21);
                    byte[] request = open(c, rs.getBytes(19), keyId, id + ":request");
                    byte[] response = open(c, rs.getBytes(20), keyId, id + ":response");
                    t.put("record_id", id.toString());
                    t.put("request_id", rs.getString(1));
                    // raw by design: received.body and upstream_response.raw_body are unmasked; delivered.body
                    // is the answer as the caller got it
                    t.put("view_masking", "none: auditor raw view");
                    ObjectNode received = t.putObject("received");
                    received.put("at", str(rs.getTimestamp(6)));
                    received.put("identity", rs.getString(10));
                    received.put("client_id", rs.getString(11));
                    received.put("method", rs.getString(2));
                    received.put("path", rs.getString(3));
                    received.put("body", text(request));
                    received.put("sha256", rs.getString(23));
                    boolean requestTruncated = Boolean.TRUE.equals(rs.getObject(32));
                    if (requestTruncated) {
                        // a refused call keeps only a prefix of its body: body is that prefix, sha256 the whole body's
                        received.put("body_truncated", true);
                        received.put("body_stored_size", (Long) rs.getObject(33));
                    }
                    ObjectNode decision = t.putObject("decision");
                    decision.put("verdict", rs.getString(12));
                    decision.put("rule_id", rs.getString(13));
                    decision.put("reason", rs.getString(14));
                    ObjectNode forwarded = t.putObject("forwarded");
                    forwarded.put("at", str(rs.getTimestamp(7)));
                    forwarded.put("upstream", rs.getString(4));
                    forwarded.put("model", rs.getString(5));
                    forwarded.put("credential", rs.getTimestamp(7) == null ? null
                            : "[redacted: the caller's credential was stripped; the upstream's own was presented]");
                    String forwardedDigest = rs.getString(31);
                    if (forwardedDigest == null) {
                        forwarded.put("body", text(request)); // forwarded as received
                        forwarded.put("sha256", rs.getString(23));
                    } else {
                        // request masking changed it: its digest is evidence, the masked body is not kept
                        forwarded.putNull("body");
                        forwarded.put("masked_before_forwarding", true);
                        forwarded.put("sha256", forwardedDigest);
                    }
                    ObjectNode upstream = t.putObject("upstream_response");
                    upstream.put("status", (Integer) rs.getObject(17));
                    upstream.put("first_byte_at", str(rs.getTimestamp(8)));
                    upstream.put("raw_sha256", rs.getString(25));
                    // the answer before masking, where masking changed or refused it (else it equals the delivered one)
                    upstream.put("raw_body", text(open(c, rs.getBytes(29), keyId, id + ":raw")));
                    ObjectNode delivered = t.putObject("delivered");
                    delivered.put("status", (Integer) rs.getObject(16));
                    delivered.put("outcome", rs.getString(15));
                    delivered.put("streamed", (Boolean) rs.getObject(18));
                    delivered.put("completed_at", str(rs.getTimestamp(9)));
                    delivered.put("body", text(response));
                    delivered.put("truncated", (Boolean) rs.getObject(28));
                    delivered.put("sha256", rs.getString(24));
                    if (rs.getString(30) != null) {
                        // for a stream: when each piece arrived, [[ms after the first byte, bytes], ...]
                        delivered.set("stream_timings", JSON.readTree(rs.getString(30)));
                    }
                    t.put("payload_purged", rs.getBoolean(22));
                    String report = rs.getString(26);
                    if (report != null) {
                        t.set("masking", JSON.readTree(report));
                    }
                    Object approvalId = rs.getObject(27);
                    if (approvalId != null) {
                        t.put("approval_id", approvalId.toString());
                    }
                    // a prefix is not the call: it is never re-executed (409, as for a body not kept)
                    rec = new Recorded(id, rs.getString(1), requestTruncated ? null : request, response,
                            rs.getString(24), t,
                            EvidenceRecord.TERMINAL.equals(rs.getString(34)));
                }
            }
            ArrayNode entries = t.putArray("chain");
            try (PreparedStatement ps = c.prepareStatement("SELECT chain_id, position, kind, recorded_at FROM "
                    + "evidence_chain WHERE subject_id = ? OR subject_id = (SELECT approval_id FROM evidence_record "
                    + "WHERE id = ?) ORDER BY recorded_at, position")) {
                ps.setObject(1, id);
                ps.setObject(2, id);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ObjectNode e = entries.addObject();
                        e.put("chain_id", rs.getString(1));
                        e.put("position", rs.getLong(2));
                        e.put("kind", rs.getString(3));
                        e.put("recorded_at", str(rs.getTimestamp(4)));
                    }
                }
            }
            return Optional.of(rec);
        } catch (SQLException | java.io.IOException e) {
            throw new EvidenceUnavailableException("evidence unavailable");
        }
    }

    private byte[] open(Connection c, byte[] sealed, String keyId, String aad) {
        if (sealed == null || keyId == null) {
            return sealed;
        }
        try {
            return cipher.decrypt(c, sealed, keyId, aad); // on the connection the caller holds: never a second
        } catch (PayloadCipher.PurgedException e) {
            return null;
        }
    }

    private static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static String str(Timestamp t) {
        return t == null ? null : t.toInstant().toString();
    }
}
