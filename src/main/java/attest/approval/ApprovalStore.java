package attest.approval;

import attest.evidence.EvidenceTransactions;
import attest.evidence.EvidenceUnavailableException;
import attest.identity.Identity;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The approvals' system of record in PostgreSQL: held calls, decisions and each step as evidence
 * ({@code approval_event}, with its Kafka event in the same transaction). Every state change is a
 * conditional update, so a decision is applied once, whichever replica receives it.
 * A store that cannot be reached throws {@link EvidenceUnavailableException}: callers fail closed.
 */
public final class ApprovalStore {
    /** What became of a decision. */
    public enum DecideResult {
        /** recorded; the call waits for more approvals */
        RECORDED,
        /** recorded; the threshold is reached */
        APPROVED,
        /** recorded; one deny decides */
        DENIED,
        NOT_FOUND,
        /** the requester tried to decide their own call (by any key, or through an actor: {@link ApprovalAccess}) */
        SELF,
        /** a service account's token (client credentials): approvals are decided by people */
        SERVICE_ACCOUNT,
        /** a token that names an actor (impersonation, token exchange): decisions are made in person */
        IMPERSONATED,
        /** not in the rule's approver role or group */
        NOT_APPROVER,
        /** this approver already decided */
        REPEATED,
        /** the call is no longer pending */
        ALREADY_DECIDED,
        EXPIRED
    }

    /** What became of a decision, and for {@link DecideResult#SELF} why ({@link ApprovalAccess#selfReason}). */
    public record Decided(DecideResult result, String reason) {
    }

    /** The stored answer of an executed (or failed) call. */
    public record Result(int status, String headersJson, byte[] body) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * The {@code refused} of a refused decision's event: the requester's own call; a service account's token; a token
     * that names an actor.
     */
    static final String REFUSED_SELF = "self_approval";
    static final String REFUSED_SERVICE_ACCOUNT = "service_account";
    static final String REFUSED_IMPERSONATED = ApprovalAccess.IMPERSONATED_APPROVER;
    private static final String COLUMNS = """
            id, evidence_id, request_id, state, requester_subject, requester_username, identity_json, upstream,
            target_path, method, request_uri, request_headers, request_body, request_sha256, facts_json, rule_id,
            reason, approver_role, approver_group, approvals_required, preview, created_at, expires_at, decided_at,
            executed_at, flagged, result_status""";

    private final String instanceId;
    /** The schema of an approval step's event on the evidence topic. */
    private static final String EVENT_SCHEMA = "attest.approval";
    private final EvidenceTransactions evidence;
    private final Clock clock;
    private attest.evidence.crypto.PayloadCipher cipher;

    /** Encrypts held requests and stored answers at rest (AttestConfiguration always sets one). */
    /** Refused self-approvals recorded one by one per approver and window; past it they are counted (V27). */
    private int selfRefusalsPerWindow = Integer.MAX_VALUE;
    private long selfRefusalWindowMs = 60_000;

    /**
     * Caps the refused self-approvals recorded one by one: at most {@code perWindow} per approver and window of
     * {@code windowMs}; past it they are counted, and the window ends in one summary ({@link #flushSelfRefusals}).
     */
    public ApprovalStore limitSelfRefusals(int perWindow, long windowMs) {
        if (perWindow < 1 || windowMs < 1) {
            throw new IllegalArgumentException("attest.approval.self-refusals-per-window and self-refusal-window-ms "
                    + "must be positive");
        }
        this.selfRefusalsPerWindow = perWindow;
        this.selfRefusalWindowMs = windowMs;
        return this;
    }

    public ApprovalStore encryptWith(attest.evidence.crypto.PayloadCipher cipher) {
        this.cipher = cipher;
        return this;
    }

    private byte[] seal(byte[] plain, String keyId, UUID id, String field) {
        return plain == null || keyId == null ? plain : cipher.encrypt(plain, keyId, id + ":" + field);
    }

    /** Opens a stored payload; a ciphertext that no longer opens (changed, or its key destroyed) reads as empty. */
    private byte[] open(Connection c, byte[] sealed, String keyId, UUID id, String field) {
        if (sealed == null || keyId == null) {
            return sealed;
        }
        try {
            return cipher.decrypt(c, sealed, keyId, id + ":" + field); // on the caller's connection: never a second
        } catch (IllegalArgumentException | attest.evidence.crypto.PayloadCipher.PurgedException e) {
            return new byte[0];
        }
    }

    public ApprovalStore(DataSource dataSource, String topic, String instanceId, Clock clock) {
        this.instanceId = instanceId;
        this.evidence = new EvidenceTransactions(dataSource, new attest.evidence.chain.EvidenceChain(instanceId), topic,
                "approval store unavailable");
        this.clock = clock;
    }

    /** The requester already has as many pending held calls as they may; the earliest one expires at {@code retryAt}. */
    public static final class TooManyPendingException extends RuntimeException {
        private final Instant retryAt;

        public TooManyPendingException(Instant retryAt) {
            super("too many pending held calls", null, false, false);
            this.retryAt = retryAt;
        }

        public Instant retryAt() {
            return retryAt;
        }
    }

    /** Stores a held call and its {@code held} event (no cap on the requester's pending calls). */
    public void hold(Approval a) {
        hold(a, 0);
    }

    /**
     * Stores a held call and its {@code held} event, unless its requester already has {@code maxPending} pending
     * calls whose time to live has not run out (0: no cap): then throws {@link TooManyPendingException} and stores
     * nothing. The count is taken under a per-requester advisory lock, so concurrent holds cannot pass the cap.
     */
    public void hold(Approval a, int maxPending) {
        evidence.run(c -> {
            if (maxPending > 0) {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtextextended(?, 10))")) {
                    ps.setString(1, a.requesterSubject());
                    ps.execute();
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*), min(expires_at) FROM approval_request "
                        + "WHERE requester_subject = ? AND state = 'pending' AND expires_at > ?")) {
                    ps.setString(1, a.requesterSubject());
                    ps.setTimestamp(2, Timestamp.from(clock.instant()));
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getLong(1) >= maxPending) {
                            throw new TooManyPendingException(rs.getTimestamp(2).toInstant());
                        }
                    }
                }
            }
            String keyId = cipher == null ? null : cipher.currentKeyId();
            // text a caller controls (the prompt's preview, the URI) may hold a NUL, which PostgreSQL refuses in text
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO approval_request (" + COLUMNS
                    + ", instance_id, payload_key_id, requester_email, requester_actors) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,"
                    + "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,CAST(? AS jsonb))")) {
                int i = 1;
                ps.setObject(i++, a.id());
                ps.setObject(i++, a.evidenceId());
                ps.setString(i++, attest.text.NulFree.of(a.requestId()));
                ps.setString(i++, attest.text.NulFree.of(a.state()));
                ps.setString(i++, attest.text.NulFree.of(a.requesterSubject()));
                ps.setString(i++, attest.text.NulFree.of(a.requesterUsername()));
                ps.setString(i++, attest.text.NulFree.of(a.identityJson()));
                ps.setString(i++, attest.text.NulFree.of(a.upstream()));
                ps.setString(i++, attest.text.NulFree.of(a.targetPath()));
                ps.setString(i++, attest.text.NulFree.of(a.method()));
                ps.setString(i++, attest.text.NulFree.of(a.requestUri()));
                ps.setString(i++, attest.text.NulFree.of(a.requestHeaders()));
                ps.setBytes(i++, seal(a.requestBody(), keyId, a.id(), "held"));
                ps.setString(i++, attest.text.NulFree.of(a.requestSha256()));
                ps.setString(i++, attest.text.NulFree.of(a.factsJson()));
                ps.setString(i++, attest.text.NulFree.of(a.ruleId()));
                ps.setString(i++, attest.text.NulFree.of(a.reason()));
                ps.setString(i++, attest.text.NulFree.of(a.approverRole()));
                ps.setString(i++, attest.text.NulFree.of(a.approverGroup()));
                ps.setInt(i++, a.approvalsRequired());
                ps.setString(i++, attest.text.NulFree.of(a.preview()));
                ps.setTimestamp(i++, Timestamp.from(a.createdAt()));
                ps.setTimestamp(i++, Timestamp.from(a.expiresAt()));
                ps.setTimestamp(i++, null);
                ps.setTimestamp(i++, null);
                ps.setString(i++, null);
                ps.setObject(i++, null);
                ps.setString(i++, instanceId);
                ps.setString(i++, keyId);
                ps.setString(i++, attest.text.NulFree.of(a.requesterEmail()));
                ps.setString(i, actorsJson(a.requesterActors()));
                ps.executeUpdate();
            }
            ObjectNode d = JSON.createObjectNode();
            d.put("rule_id", a.ruleId());
            d.put("reason", a.reason());
            d.put("request_sha256", a.requestSha256());
            d.put("approvals_required", a.approvalsRequired());
            d.put("expires_at", a.expiresAt().toString());
            // what audit_approvals reports of the request besides, so that `attest verify --jdbc` compares it
            d.put("request_id", a.requestId());
            d.put("requester", a.requesterUsername());
            d.put("created_at", a.createdAt().toString());
            event(c, a.id(), a.evidenceId(), "held", a.requesterSubject(), d);
            return null;
        });
    }

    /**
     * The request digest that the call's {@code approval.held} entry in the evidence chain carries: the digest the
     * approval was bound to, out of reach of anyone who can change the approval_request row. Empty when there is
     * not exactly one such entry, or when it no longer links into its chain (its hash does not follow from the
     * previous entry's hash and its own bytes).
     */
    public Optional<String> chainedDigest(UUID approvalId) {
        return evidence.run(c -> {
            List<Object[]> found = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT chain_id, position, canonical, hash FROM "
                    + "evidence_chain WHERE subject_id = ? AND kind = 'approval.held'")) {
                ps.setObject(1, approvalId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        found.add(new Object[]{rs.getString(1), rs.getLong(2), rs.getBytes(3), rs.getBytes(4)});
                    }
                }
            }
            if (found.size() != 1) {
                return Optional.<String>empty();
            }
            Object[] e = found.get(0);
            byte[] previous = attest.evidence.chain.ChainHash.GENESIS;
            if ((Long) e[1] > 1) {
                try (PreparedStatement ps = c.prepareStatement("SELECT hash FROM evidence_chain WHERE chain_id = ? "
                        + "AND position = ?")) {
                    ps.setString(1, (String) e[0]);
                    ps.setLong(2, (Long) e[1] - 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            return Optional.<String>empty();
                        }
                        previous = rs.getBytes(1);
                    }
                }
            }
            if (!java.security.MessageDigest.isEqual(attest.evidence.chain.ChainHash.link(previous, (byte[]) e[2]),
                    (byte[]) e[3])) {
                return Optional.<String>empty();
            }
            try {
                com.fasterxml.jackson.databind.JsonNode n = JSON.readTree((byte[]) e[2]);
                String digest = n.path("record").path("detail").path("request_sha256").asText(null);
                return Optional.ofNullable(digest);
            } catch (java.io.IOException bad) {
                return Optional.<String>empty();
            }
        });
    }

    public Optional<Approval> find(UUID id) {
        return evidence.run(c -> load(c, id, false));
    }

    /** Pending calls whose time to live has not run out, oldest first. */
    public List<Approval> pending(int limit) {
        return evidence.run(c -> {
            List<UUID> ids = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT id FROM approval_request WHERE state = 'pending' "
                    + "AND expires_at > ? ORDER BY created_at LIMIT ?")) {
                ps.setTimestamp(1, Timestamp.from(clock.instant()));
                ps.setInt(2, limit);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ids.add(rs.getObject(1, UUID.class));
                    }
                }
            }
            List<Approval> out = new ArrayList<>(ids.size());
            for (UUID id : ids) {
                load(c, id, false).ifPresent(out::add);
            }
            return out;
        });
    }

    /** One page of held calls, and the cursor of the next page (null on the last). */
    public record Page(List<Approval> items, String nextCursor) {
    }

    /**
     * One page of the held calls that {@code approver} may decide (their role or group is the call's, and the
     * call is not their own under any spelling or through any actor: {@link ApprovalAccess}; none for a service
     * account, nor for a token that names an actor: decisions are made in person), filtered and
     * ordered by {@code q}. Keyset paging on (created_at, id): a call held later never pushes an older one off the
     * list, and a page never repeats or skips a call.
     */
    public Page list(ApprovalQuery q, Identity approver) {
        if (approver.serviceAccount() || !ApprovalAccess.inPerson(approver)) {
            return new Page(List.of(), null); // a service account decides nothing, nor an impersonated approver
        }
        Instant now = clock.instant();
        StringBuilder sql = new StringBuilder("SELECT id, created_at FROM approval_request WHERE requester_subject <> ? "
                + "AND (requester_email IS NULL OR requester_email <> ?) "
                + "AND (approver_role = ANY (?) OR approver_group = ANY (?))");
        List<Object> args = new ArrayList<>();
        args.add(approver.subject());
        args.add(approver.verifiedEmail() == null ? "" : approver.verifiedEmail());
        args.add(approver.roles().toArray(String[]::new));
        args.add(approver.groups().toArray(String[]::new));
        switch (q.status()) {
            case "all" -> { }
            case Approval.PENDING -> {
                sql.append(" AND state = 'pending' AND expires_at > ?");
                args.add(Timestamp.from(now));
            }
            case Approval.EXPIRED -> {
                sql.append(" AND (state = 'expired' OR (state = 'pending' AND expires_at <= ?))");
                args.add(Timestamp.from(now));
            }
            default -> {
                sql.append(" AND state = ?");
                args.add(q.status());
            }
        }
        if (q.upstream() != null) {
            sql.append(" AND upstream = ?");
            args.add(q.upstream());
        }
        if (q.requester() != null) {
            sql.append(" AND (requester_username = ? OR requester_subject = ?)");
            args.add(q.requester());
            args.add(q.requester());
        }
        if (q.rule() != null) {
            sql.append(" AND rule_id = ?");
            args.add(q.rule());
        }
        if (q.since() != null) {
            sql.append(" AND created_at >= ?");
            args.add(Timestamp.from(q.since()));
        }
        String dir = q.newestFirst() ? " DESC" : " ASC";
        String order = " ORDER BY created_at" + dir + ", id" + dir + " LIMIT ?";
        String afterSql = q.newestFirst() ? " AND (created_at, id) < (?, ?)" : " AND (created_at, id) > (?, ?)";
        return evidence.run(c -> {
            // the SQL leaves out the requester's own calls by subject and stored email; the rest of who counts as the
            // requester (username, email spellings, actors: ApprovalAccess) is told here, and the scan goes on
            // until the page is full, so a page never repeats or skips a call
            List<Approval> out = new ArrayList<>();
            ApprovalQuery.Position after = q.after();
            boolean more = false;
            while (!more) {
                boolean advanced = false;
                List<Object> pageArgs = new ArrayList<>(args);
                String pageSql = sql.toString();
                if (after != null) {
                    pageSql += afterSql;
                    pageArgs.add(Timestamp.from(after.createdAt()));
                    pageArgs.add(after.id());
                }
                pageArgs.add(q.limit() + 1);
                List<UUID> ids = new ArrayList<>();
                try (PreparedStatement ps = c.prepareStatement(pageSql + order)) {
                    for (int i = 0; i < pageArgs.size(); i++) {
                        Object v = pageArgs.get(i);
                        if (v instanceof String[] arr) {
                            ps.setArray(i + 1, c.createArrayOf("text", arr));
                        } else {
                            ps.setObject(i + 1, v);
                        }
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            ids.add(rs.getObject(1, UUID.class));
                        }
                    }
                }
                for (UUID id : ids) {
                    Optional<Approval> found = load(c, id, false);
                    if (found.isEmpty()) {
                        continue;
                    }
                    Approval a = found.get();
                    after = new ApprovalQuery.Position(a.createdAt(), a.id());
                    advanced = true;
                    if (ApprovalAccess.isRequester(a, approver)) {
                        continue;
                    }
                    if (out.size() == q.limit()) {
                        more = true;
                        break;
                    }
                    out.add(a);
                }
                if (ids.size() <= q.limit() || !advanced) {
                    break; // the last rows there are
                }
            }
            String next = null;
            if (more && !out.isEmpty()) {
                Approval last = out.get(out.size() - 1);
                next = ApprovalQuery.cursor(last.createdAt(), last.id());
            }
            return new Page(out, next);
        });
    }

    /** The states of some calls, for waiters on this replica. */
    public Map<UUID, String> states(Collection<UUID> ids) {
        if (ids.isEmpty()) {
            return Map.of();
        }
        return evidence.run(c -> {
            Map<UUID, String> out = new HashMap<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT id, state FROM approval_request WHERE id = ANY (?)")) {
                ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getObject(1, UUID.class), rs.getString(2));
                    }
                }
            }
            return out;
        });
    }

    /**
     * Applies one approver's decision, under a row lock: the requester never decides, an approver decides
     * once, a call decides once. One deny decides; the threshold counts distinct approvers.
     */
    public DecideResult decide(UUID id, Identity approver, String decision, String comment, String channel) {
        return decideWithReason(id, approver, decision, comment, channel).result();
    }

    /** {@link #decide}, with the reason of a refused self-approval ({@link ApprovalAccess#selfReason}). */
    public Decided decideWithReason(UUID id, Identity approver, String decision, String comment, String channel) {
        String[] why = new String[1];
        DecideResult result = evidence.run(c -> {
            Optional<Approval> found = load(c, id, true);
            if (found.isEmpty()) {
                return DecideResult.NOT_FOUND;
            }
            Approval a = found.get();
            Instant now = clock.instant();
            if (approver.serviceAccount()) {
                if (selfRefusalRecorded(c, approver, a, now, REFUSED_SERVICE_ACCOUNT)) {
                    event(c, a.id(), a.evidenceId(), "decision", approver.subject(),
                            vote(approver, decision, comment, channel, now).put("refused", REFUSED_SERVICE_ACCOUNT));
                }
                return DecideResult.SERVICE_ACCOUNT;
            }
            String self = ApprovalAccess.selfReason(a, approver);
            if (self != null) {
                why[0] = self;
                if (selfRefusalRecorded(c, approver, a, now, REFUSED_SELF)) {
                    ObjectNode refused = vote(approver, decision, comment, channel, now).put("refused", REFUSED_SELF);
                    refused.put("matched", self); // subject, username, verified_email, or an actor's reason
                    event(c, a.id(), a.evidenceId(), "decision", approver.subject(), refused);
                }
                return DecideResult.SELF;
            }
            if (!ApprovalAccess.inPerson(approver)) { // impersonated, or acted for: in person only, recorded (V37)
                if (selfRefusalRecorded(c, approver, a, now, REFUSED_IMPERSONATED)) {
                    event(c, a.id(), a.evidenceId(), "decision", approver.subject(),
                            vote(approver, decision, comment, channel, now).put("refused", REFUSED_IMPERSONATED));
                }
                return DecideResult.IMPERSONATED;
            }
            if (!ApprovalAccess.mayDecide(a, approver)) {
                return DecideResult.NOT_APPROVER;
            }
            if (ApprovalAccess.hasDecided(a, approver)) { // as the same person as an earlier approver, or via an actor
                return DecideResult.REPEATED;
            }
            if (!Approval.PENDING.equals(a.state())) {
                return DecideResult.ALREADY_DECIDED;
            }
            if (!now.isBefore(a.expiresAt())) {
                return DecideResult.EXPIRED;
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO approval_decision (approval_id, "
                    + "approver_subject, approver_username, decision, comment, channel, auth_time, decided_at, "
                    + "approver_email, approver_actors) VALUES (?,?,?,?,?,?,?,?,?,CAST(? AS jsonb))")) {
                ps.setObject(1, id);
                ps.setString(2, approver.subject());
                ps.setString(3, approver.username());
                ps.setString(4, decision);
                ps.setString(5, comment);
                ps.setString(6, channel);
                ps.setTimestamp(7, approver.authTime() == null ? null : Timestamp.from(approver.authTime()));
                ps.setTimestamp(8, Timestamp.from(now));
                ps.setString(9, attest.text.NulFree.of(approver.verifiedEmail()));
                ps.setString(10, actorsJson(approver.actors()));
                ps.executeUpdate();
            }
            event(c, a.id(), a.evidenceId(), "decision", approver.subject(),
                    vote(approver, decision, comment, channel, now));
            String next = null;
            if ("deny".equals(decision)) {
                next = Approval.DENIED;
            } else if (a.approvals() + 1 >= a.approvalsRequired()) {
                next = Approval.APPROVED;
            }
            if (next == null) {
                return DecideResult.RECORDED;
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE approval_request SET state = ?, decided_at = ? "
                    + "WHERE id = ? AND state = 'pending'")) {
                ps.setString(1, next);
                ps.setTimestamp(2, Timestamp.from(now));
                ps.setObject(3, id);
                ps.executeUpdate();
            }
            if (Approval.APPROVED.equals(next)) { // a denial's event is written when the call is closed
                ObjectNode d = JSON.createObjectNode();
                d.put("approvals", a.approvals() + 1);
                d.put("approvals_required", a.approvalsRequired());
                d.put("latency_ms", java.time.Duration.between(a.createdAt(), now).toMillis());
                event(c, a.id(), a.evidenceId(), next, approver.subject(), d);
            }
            return Approval.DENIED.equals(next) ? DecideResult.DENIED : DecideResult.APPROVED;
        });
        return new Decided(result, why[0]);
    }

    /** The actors as stored (V35): a JSON array, or null for none. */
    static String actorsJson(List<Identity.Actor> actors) {
        if (actors == null || actors.isEmpty()) {
            return null;
        }
        try {
            return attest.text.NulFree.of(JSON.writeValueAsString(actors));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The actors as read back; a value that no longer reads as actors is one actor that names no one, so that the
     * call (or the vote) is compared as fail-closed as the token was ({@code unidentified_actor}).
     */
    static List<Identity.Actor> actors(String json) {
        if (json == null) {
            return List.of();
        }
        try {
            return List.of(JSON.readValue(json, Identity.Actor[].class));
        } catch (java.io.IOException e) {
            return List.of(new Identity.Actor(null, null, null, null, null, "unreadable"));
        }
    }

    /**
     * Whether this refused self-approval is recorded one by one (the first {@link #selfRefusalsPerWindow} of the
     * approver's window) or only counted, under the row lock of the approver's counter (table
     * {@code approval_self_refusal}, shared by every replica). A window that ended is summarised first.
     */
    private boolean selfRefusalRecorded(Connection c, Identity approver, Approval a, Instant now, String refused)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO approval_self_refusal (approver_subject, "
                + "approver_username, window_start, recorded, counted, last_approval_id, last_evidence_id, refused) "
                + "VALUES (?, ?, ?, 0, 0, ?, ?, ?) ON CONFLICT (approver_subject) DO NOTHING")) {
            ps.setString(1, approver.subject());
            ps.setString(2, approver.username());
            ps.setTimestamp(3, Timestamp.from(now));
            ps.setObject(4, a.id());
            ps.setObject(5, a.evidenceId());
            ps.setString(6, refused);
            ps.executeUpdate();
        }
        Instant start;
        int recorded;
        try (PreparedStatement ps = c.prepareStatement("SELECT window_start, recorded FROM approval_self_refusal "
                + "WHERE approver_subject = ? FOR UPDATE")) {
            ps.setString(1, approver.subject());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                start = rs.getTimestamp(1).toInstant();
                recorded = rs.getInt(2);
            }
        }
        if (!now.isBefore(start.plusMillis(selfRefusalWindowMs))) {
            // on the call this attempt holds locked (taking another call's lock here could deadlock with a
            // concurrent attempt on that call)
            summariseSelfRefusals(c, approver.subject(), a.id(), a.evidenceId());
            recorded = 0;
            try (PreparedStatement ps = c.prepareStatement("UPDATE approval_self_refusal SET window_start = ?, "
                    + "recorded = 0, counted = 0 WHERE approver_subject = ?")) {
                ps.setTimestamp(1, Timestamp.from(now));
                ps.setString(2, approver.subject());
                ps.executeUpdate();
            }
        }
        boolean one = recorded < selfRefusalsPerWindow;
        try (PreparedStatement ps = c.prepareStatement("UPDATE approval_self_refusal SET "
                + (one ? "recorded = recorded + 1" : "counted = counted + 1")
                + ", approver_username = ?, last_approval_id = ?, last_evidence_id = ?, refused = ? "
                + "WHERE approver_subject = ?")) {
            ps.setString(1, approver.username());
            ps.setObject(2, a.id());
            ps.setObject(3, a.evidenceId());
            ps.setString(4, refused);
            ps.setString(5, approver.subject());
            ps.executeUpdate();
        }
        return one;
    }

    /**
     * Writes the summary of an approver's window if it counted any refused self-approval: one {@code decision}
     * event (row, chain entry, Kafka event) on the given call, with {@code refused} {@code self_approval}, the
     * window, and how many were recorded one by one and how many only counted. The caller holds the counter's row
     * lock and may reference the call.
     */
    private void summariseSelfRefusals(Connection c, String subject, UUID approvalId, UUID evidenceId)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT approver_username, window_start, recorded, counted, "
                + "last_approval_id, last_evidence_id, refused FROM approval_self_refusal WHERE approver_subject = ? "
                + "AND counted > 0")) {
            ps.setString(1, subject);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return;
                }
                Instant start = rs.getTimestamp(2).toInstant();
                ObjectNode d = JSON.createObjectNode();
                d.put("refused", rs.getString(7));
                d.put("approver", rs.getString(1));
                d.put("approver_subject", subject);
                d.put("window_start", start.toString());
                d.put("window_end", start.plusMillis(selfRefusalWindowMs).toString());
                d.put("recorded", rs.getInt(3));
                d.put("counted", rs.getInt(4));
                event(c, approvalId, evidenceId, "decision", subject, d);
            }
        }
    }

    /**
     * Summarises and removes the approvers' self-approval windows that ended (each once, whichever replica runs
     * it: the rows are locked and skipped by the others); returns how many summaries were written.
     */
    public int flushSelfRefusals(int max) {
        return evidence.run(c -> {
            List<String> ended = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT approver_subject FROM approval_self_refusal "
                    + "WHERE window_start <= ? ORDER BY window_start LIMIT ? FOR UPDATE SKIP LOCKED")) {
                ps.setTimestamp(1, Timestamp.from(clock.instant().minusMillis(selfRefusalWindowMs)));
                ps.setInt(2, max);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ended.add(rs.getString(1));
                    }
                }
            }
            int written = 0;
            for (String subject : ended) {
                UUID approvalId;
                UUID evidenceId;
                int counted;
                try (PreparedStatement ps = c.prepareStatement("SELECT counted, last_approval_id, last_evidence_id "
                        + "FROM approval_self_refusal WHERE approver_subject = ?")) {
                    ps.setString(1, subject);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        counted = rs.getInt(1);
                        approvalId = rs.getObject(2, UUID.class);
                        evidenceId = rs.getObject(3, UUID.class);
                    }
                }
                if (counted > 0) {
                    // the summary's event references the last call they tried to approve; while a decision holds
                    // that call locked (it may be waiting for this counter) the summary waits for the next tick
                    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM approval_request WHERE id = ? "
                            + "FOR KEY SHARE SKIP LOCKED")) {
                        ps.setObject(1, approvalId);
                        try (ResultSet rs = ps.executeQuery()) {
                            if (!rs.next()) {
                                continue;
                            }
                        }
                    }
                    summariseSelfRefusals(c, subject, approvalId, evidenceId);
                    written++;
                }
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM approval_self_refusal WHERE "
                        + "approver_subject = ?")) {
                    ps.setString(1, subject);
                    ps.executeUpdate();
                }
            }
            return written;
        });
    }

    private static ObjectNode vote(Identity approver, String decision, String comment, String channel, Instant now) {
        ObjectNode d = JSON.createObjectNode();
        d.put("approver", approver.username());
        d.put("approver_subject", approver.subject());
        d.put("decision", decision);
        d.put("comment", comment);
        d.put("channel", channel);
        d.put("auth_time", approver.authTime() == null ? null : approver.authTime().toString());
        d.put("decided_at", now.toString());
        if (!approver.actors().isEmpty()) { // who stood behind the approver's token (no email: chain entries stay)
            com.fasterxml.jackson.databind.node.ArrayNode actors = d.putArray("approver_actors");
            for (Identity.Actor x : approver.actors()) {
                actors.addObject().put("via", x.via()).put("subject", x.subject()).put("username", x.username());
            }
        }
        return d;
    }

    /** The requester withdraws a pending call. */
    public boolean cancel(UUID id, String subject) {
        return evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE approval_request SET state = 'cancelled', "
                    + "decided_at = ? WHERE id = ? AND requester_subject = ? AND state = 'pending'")) {
                ps.setTimestamp(1, Timestamp.from(clock.instant()));
                ps.setObject(2, id);
                ps.setString(3, subject);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** A pending call whose time ran out becomes expired (expiry means deny). */
    public boolean expire(UUID id) {
        return evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE approval_request SET state = 'expired', "
                    + "decided_at = ? WHERE id = ? AND state = 'pending'")) {
                ps.setTimestamp(1, Timestamp.from(clock.instant()));
                ps.setObject(2, id);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /**
     * Claims an approved call for execution: exactly one claim succeeds. A claim left by a run that died
     * before forwarding (its evidence has no {@code forwarded_at}) may be taken again after the lease.
     */
    public boolean claim(UUID id, java.time.Duration lease) {
        return evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    UPDATE approval_request a SET state = 'executing', executed_at = ?
                    WHERE a.id = ? AND (a.state = 'approved' OR (a.state = 'executing' AND a.executed_at < ?
                          AND NOT EXISTS (SELECT 1 FROM evidence_record e
                                          WHERE e.id = a.evidence_id AND e.forwarded_at IS NOT NULL)))""")) {
                Instant now = clock.instant();
                ps.setTimestamp(1, Timestamp.from(now));
                ps.setObject(2, id);
                ps.setTimestamp(3, Timestamp.from(now.minus(lease)));
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** Stores the answer of a call that ended (executed, failed, denied, expired, cancelled) and its event. */
    public void finish(Approval a, String state, Result result, java.time.Duration keep, String flagged,
                       String kind, ObjectNode detail) {
        evidence.run(c -> {
            Instant now = clock.instant();
            String keyId = null;
            try (PreparedStatement ps = c.prepareStatement("SELECT payload_key_id FROM approval_request WHERE id = ?")) {
                ps.setObject(1, a.id());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        keyId = rs.getString(1);
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE approval_request SET state = ?, result_status = ?, "
                    + "result_headers = ?, result_body = ?, result_until = ?, flagged = coalesce(?, flagged), "
                    + "decided_at = coalesce(decided_at, ?) WHERE id = ?")) {
                ps.setString(1, state);
                ps.setInt(2, result.status());
                ps.setString(3, result.headersJson());
                ps.setBytes(4, seal(result.body(), keyId, a.id(), "result"));
                ps.setTimestamp(5, keep.isZero() ? null : Timestamp.from(now.plus(keep)));
                ps.setString(6, flagged);
                ps.setTimestamp(7, Timestamp.from(now));
                ps.setObject(8, a.id());
                ps.executeUpdate();
            }
            detail.put("status", result.status());
            event(c, a.id(), a.evidenceId(), kind, null, detail);
            return null;
        });
    }

    /**
     * Hands the stored answer to the requester: once (the body is then dropped), or while it is kept.
     * Empty when there is none (not yet, or already delivered).
     */
    public Optional<Result> deliver(UUID id, String subject) {
        return evidence.run(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT result_status, result_headers, result_body, result_until, result_read_at, evidence_id,
                           payload_key_id
                    FROM approval_request WHERE id = ? AND requester_subject = ? FOR UPDATE""")) {
                ps.setObject(1, id);
                ps.setString(2, subject);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next() || rs.getBytes(3) == null) {
                        return Optional.<Result>empty();
                    }
                    Timestamp until = rs.getTimestamp(4);
                    Instant now = clock.instant();
                    if (until != null && !now.isBefore(until.toInstant())) {
                        return Optional.<Result>empty();
                    }
                    Result r = new Result(rs.getInt(1), rs.getString(2), open(c, rs.getBytes(3), rs.getString(7), id,
                            "result"));
                    UUID evidenceId = rs.getObject(6, UUID.class);
                    try (PreparedStatement u = c.prepareStatement("UPDATE approval_request SET result_read_at = ?, "
                            + "result_body = CASE WHEN result_until IS NULL THEN NULL ELSE result_body END "
                            + "WHERE id = ?")) {
                        u.setTimestamp(1, Timestamp.from(now));
                        u.setObject(2, id);
                        u.executeUpdate();
                    }
                    ObjectNode d = JSON.createObjectNode();
                    d.put("status", r.status());
                    event(c, id, evidenceId, "result_read", subject, d);
                    return Optional.of(r);
                }
            }
        });
    }

    /** Records a step (such as {@code notified}) that changes no state. */
    public void record(Approval a, String kind, String actor, ObjectNode detail) {
        evidence.run(c -> {
            event(c, a.id(), a.evidenceId(), kind, actor, detail);
            return null;
        });
    }

    /** The evidence of one call's approval, in order. */
    public List<Map<String, Object>> events(UUID id) {
        return evidence.run(c -> {
            List<Map<String, Object>> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT kind, actor, detail, at FROM approval_event "
                    + "WHERE approval_id = ? ORDER BY id")) {
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Map<String, Object> e = new java.util.LinkedHashMap<>();
                        e.put("kind", rs.getString(1));
                        e.put("actor", rs.getString(2));
                        e.put("detail", rs.getString(3));
                        e.put("at", rs.getTimestamp(4).toInstant().toString());
                        out.add(e);
                    }
                }
            }
            return out;
        });
    }

    private void event(Connection c, UUID approvalId, UUID evidenceId, String kind, String actor, ObjectNode detail)
            throws SQLException {
        Instant now = clock.instant();
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO approval_event (approval_id, evidence_id, kind, "
                + "actor, detail, at) VALUES (?,?,?,?,?,?)")) {
            ps.setObject(1, approvalId);
            ps.setObject(2, evidenceId);
            ps.setString(3, kind);
            ps.setString(4, actor);
            ps.setString(5, detail.toString());
            ps.setTimestamp(6, Timestamp.from(now));
            ps.executeUpdate();
        }
        java.util.Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("approval_id", approvalId.toString());
        body.put("evidence_id", evidenceId.toString());
        body.put("kind", kind);
        body.put("actor", actor);
        body.put("detail", attest.evidence.chain.Canonical.parse(detail.toString().getBytes(
                java.nio.charset.StandardCharsets.UTF_8)));
        body.put("at", now.toString());
        evidence.append(c, EVENT_SCHEMA, new attest.evidence.chain.EvidenceChain.Entry("approval." + kind, approvalId,
                now, body), evidenceId.toString(), eventBody(approvalId, evidenceId, actor, detail));
    }

    /** An approval step's event on the evidence topic ({@code attest.approval} v1, type {@code approval.<kind>}). */
    public static String eventPayload(UUID eventId, String kind, Instant now, UUID approvalId, UUID evidenceId,
                                      String actor, ObjectNode detail) {
        return attest.evidence.EvidenceEvents.envelope(EVENT_SCHEMA, 1, eventId, "approval." + kind, now,
                eventBody(approvalId, evidenceId, actor, detail));
    }

    /** The members of an approval step's event after its envelope. */
    private static attest.evidence.EvidenceEvents.Body eventBody(UUID approvalId, UUID evidenceId, String actor,
                                                                 ObjectNode detail) {
        return g -> {
            g.writeStringField("approval_id", approvalId.toString());
            g.writeStringField("evidence_id", evidenceId.toString());
            g.writeStringField("actor", actor);
            g.writeFieldName("detail");
            g.writeTree(detail);
        };
    }

    private Optional<Approval> load(Connection c, UUID id, boolean lock) throws SQLException {
        Approval a;
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + ", payload_key_id, requester_email, "
                + "requester_actors FROM approval_request WHERE id = ?" + (lock ? " FOR UPDATE" : ""))) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                a = new Approval(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class), rs.getString(3),
                        rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8),
                        rs.getString(9), rs.getString(10), rs.getString(11), rs.getString(12),
                        open(c, rs.getBytes(13), rs.getString(28), rs.getObject(1, UUID.class), "held"),
                        rs.getString(14), rs.getString(15), rs.getString(16), rs.getString(17), rs.getString(18),
                        rs.getString(19), rs.getInt(20), rs.getString(21), instant(rs, 22), instant(rs, 23),
                        instant(rs, 24), instant(rs, 25), rs.getString(26), (Integer) rs.getObject(27), List.of(),
                        rs.getString(29), actors(rs.getString(30)));
            }
        }
        List<Approval.Vote> votes = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT approver_subject, approver_username, decision, comment, "
                + "channel, auth_time, decided_at, approver_email, approver_actors FROM approval_decision "
                + "WHERE approval_id = ? ORDER BY decided_at")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    votes.add(new Approval.Vote(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), instant(rs, 6), instant(rs, 7), rs.getString(8),
                            actors(rs.getString(9))));
                }
            }
        }
        return Optional.of(new Approval(a.id(), a.evidenceId(), a.requestId(), a.state(), a.requesterSubject(),
                a.requesterUsername(), a.identityJson(), a.upstream(), a.targetPath(), a.method(), a.requestUri(),
                a.requestHeaders(), a.requestBody(), a.requestSha256(), a.factsJson(), a.ruleId(), a.reason(),
                a.approverRole(), a.approverGroup(), a.approvalsRequired(), a.preview(), a.createdAt(), a.expiresAt(),
                a.decidedAt(), a.executedAt(), a.flagged(), a.resultStatus(), List.copyOf(votes), a.requesterEmail(),
                a.requesterActors()));
    }

    private static Instant instant(ResultSet rs, int i) throws SQLException {
        Timestamp t = rs.getTimestamp(i);
        return t == null ? null : t.toInstant();
    }
}
