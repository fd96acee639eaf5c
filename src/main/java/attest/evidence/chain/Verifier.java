package attest.evidence.chain;

import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Verifies evidence chains without trusting the gateway or the database: positions are contiguous from 1,
 * every entry is still canonical and names its own chain and position, every link and hash holds, the
 * checkpoints' signatures verify with the given public keys and form their own chain, every checkpoint
 * matches the chain at its size (a rewritten or truncated chain cannot match), and the payloads still
 * present match their digests. Entries after the last checkpoint are reported as unanchored (a warning).
 *
 * <p>Exit codes: 0 valid, 1 tampered (the first bad position and the kind of fault are named),
 * 2 unverifiable (for example a checkpoint signed by a key that was not given).
 */
public final class Verifier {
    public static final int VALID = 0;
    public static final int TAMPERED = 1;
    public static final int UNVERIFIABLE = 2;

    /**
     * One stored chain entry; {@code kind} and {@code subjectId} are the store's index columns (null: not stored, as
     * in an export), which must name what the entry names.
     */
    public record Row(long position, byte[] canonical, byte[] hash, String kind, String subjectId) {
        public Row(long position, byte[] canonical, byte[] hash) {
            this(position, canonical, hash, null, null);
        }
    }

    /**
     * Every column of a call's evidence record that its {@code call.terminal} entry also holds (all but the payloads,
     * which the entry covers by digest), and where the entry holds each (docs/evidence-format.md section 1): a row
     * changed behind its entry is {@code record_mismatch}. Read through the view {@code audit_record_columns}
     * (migrations V25, V28): times as microseconds since the epoch ({@link #INSTANT_COLUMNS}), arrays as JSON
     * ({@link #LIST_COLUMNS}), everything else as its text.
     */
    public static final Map<String, List<String>> RECORD_COLUMNS = columns();

    /** Columns of {@link #RECORD_COLUMNS} that are times: compared as instants, to the microsecond the store keeps. */
    public static final java.util.Set<String> INSTANT_COLUMNS = java.util.Set.of("received_at", "forwarded_at",
            "first_byte_at", "completed_at", "signed_at");

    private static final com.fasterxml.jackson.databind.ObjectMapper LISTS = new com.fasterxml.jackson.databind.ObjectMapper();

    /** Columns of {@link #RECORD_COLUMNS} that are arrays: compared as lists, an empty list the same as none. */
    public static final java.util.Set<String> LIST_COLUMNS = java.util.Set.of("realm_roles", "groups");

    /**
     * The columns of evidence_record that the entry does not hold, and why: the payloads (their digests are in the
     * entry, {@code payload_digest_mismatch}), the name of their data key (a wrong one does not open them), the purge
     * flag (set by retention after the entry was written; a purged payload is absent, not different) and the
     * correlation id (a log-correlation header, in no report and not in the entry). Every other column must be in
     * {@link #RECORD_COLUMNS} ({@code AuditorRecordCheckTest} reads the table's columns from the store).
     */
    public static final java.util.Set<String> UNCOMPARED_COLUMNS = java.util.Set.of("request_body", "response_body",
            "raw_response_body", "payload_key_id", "payload_purged", "correlation_id");

    /**
     * The columns of a virtual key (table {@code api_key}) that its {@code key.*} entries hold or imply, the last entry
     * winning (docs/evidence-format.md 5.1, step 6d): the key's name, owner, scope, budget, limits and times as each
     * entry holds them; {@code created_by} the actor of its {@code key.created} entry; {@code revoked_at} and
     * {@code revoked_by} the time and actor of its {@code key.revoked} entry (both null without one: a key un-revoked
     * behind the chain works again); {@code expiry_recorded} true exactly when a {@code key.expired} entry names it.
     * {@code client_id}, {@code hint} and {@code secret_digest} (the SHA-256 of the stored SHA-256 of the secret)
     * where the entries hold them (written since migration V31). Not compared: {@code last_used_at}.
     */
    public static final List<String> KEY_COLUMNS = List.of("name", "owner_subject", "owner_username", "principal_type",
            "upstreams", "models", "budget", "limits", "created_at", "created_by", "expires_at", "revoked_at",
            "revoked_by", "expiry_recorded", "client_id", "hint", "secret_digest");

    /**
     * The columns of a refusal summary (table {@code refusal_summary}) that its {@code refusal.summary} entry holds
     * (docs/evidence-format.md 5.1, step 6e); {@code counted} is compared as the object of counts by status. Not
     * compared: {@code recorded_at} (the entry holds the time it was chained, not this one).
     */
    public static final List<String> SUMMARY_COLUMNS = List.of("instance_id", "source_address", "window_start",
            "window_end", "recorded", "counted", "counted_total");

    /**
     * The columns of {@code audit_approvals} besides {@code decisions} that the approval's entries hold or bound
     * (docs/evidence-format.md 5.1, step 6c).
     */
    public static final List<String> APPROVAL_COLUMNS = List.of("record_id", "request_id", "requester", "rule_id",
            "reason", "state", "created_at", "decided_at", "approvals_required", "executed_at", "flagged");

    private static final java.util.Set<String> KEY_INSTANTS = java.util.Set.of("created_at", "expires_at", "revoked_at");
    private static final java.util.Set<String> KEY_LISTS = java.util.Set.of("upstreams", "models");

    private static Map<String, List<String>> columns() {
        Map<String, List<String>> m = new java.util.LinkedHashMap<>();
        for (String top : List.of("request_id", "instance_id", "state", "outcome", "approval_id", "received_at",
                "forwarded_at", "first_byte_at", "completed_at", "duration_ms", "source_address")) {
            m.put(top, List.of(top));
        }
        for (String id : List.of("subject", "username", "principal_type", "client_id", "realm_roles", "groups",
                "token_id", "issuer", "auth_error", "key_id")) {
            m.put(id, List.of("identity", id));
        }
        for (String req : List.of("method", "path", "upstream", "model")) {
            m.put(req, List.of("request", req));
        }
        m.put("request_size", List.of("request", "size"));
        m.put("request_sha256", List.of("request", "sha256"));
        m.put("forwarded_sha256", List.of("request", "forwarded_sha256"));
        m.put("request_truncated", List.of("request", "truncated"));
        m.put("request_stored_size", List.of("request", "stored_size"));
        m.put("request_stored_sha256", List.of("request", "stored_sha256"));
        m.put("decision", List.of("decision", "verdict"));
        for (String dec : List.of("rule_id", "reason", "rules_version")) {
            m.put(dec, List.of("decision", dec));
        }
        for (String res : List.of("status", "upstream_status", "error_code", "streamed")) {
            m.put(res, List.of("response", res));
        }
        m.put("response_size", List.of("response", "size"));
        m.put("response_sha256", List.of("response", "sha256"));
        m.put("response_truncated", List.of("response", "truncated"));
        m.put("raw_response_size", List.of("response", "raw_size"));
        m.put("raw_response_sha256", List.of("response", "raw_sha256"));
        m.put("stream_timings", List.of("response", "stream_timings"));
        m.put("masking_rule_set", List.of("masking", "rule_set"));
        m.put("masking_exempt", List.of("masking", "exempt"));
        m.put("masking_report", List.of("masking", "report"));
        m.put("usage_status", List.of("usage", "status"));
        for (String u : List.of("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens",
                "reasoning_tokens", "estimated_tokens")) {
            m.put(u, List.of("usage", u));
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** One stored checkpoint. */
    public record StoredCheckpoint(long size, byte[] canonical, byte[] signature, String keyId, byte[] hash,
                                   Long signedAtMicros) {
        /** @param signedAtMicros the store's {@code signed_at} column (microseconds since the epoch); null: none */
        public StoredCheckpoint(long size, byte[] canonical, byte[] signature, String keyId, byte[] hash) {
            this(size, canonical, signature, keyId, hash, null);
        }
    }

    /** Where evidence is read from: a read-only database connection or an export. */
    public interface Source {
        List<String> chains();

        Iterable<Row> rows(String chainId);

        List<StoredCheckpoint> checkpoints(String chainId);

        /** The SHA-256 (hex) of a record's stored request and response payloads, null where absent or purged. */
        Map<String, String> payloadDigests(String recordId);

        /**
         * A call's stored evidence record, the {@link #RECORD_COLUMNS} as text (null for SQL NULL); empty when the
         * source holds the store's records and this one is not among them; null when the source holds no records
         * (an export) or could not read them ({@link #recordsUnreadable}).
         */
        default Map<String, String> recordColumns(String recordId) {
            return null;
        }

        /**
         * True when this source holds the stored records but could not read them for the comparison (step 6a): the
         * view refused to this login, dropped or changed. The rows were then not checked, and the report cannot say
         * VALID: a store's records that cannot be compared are as unverified as a checkpoint of an unknown key.
         */
        default boolean recordsUnreadable() {
            return false;
        }

        /**
         * Faults of the stored records that no chain entry names (a row inserted behind the chain:
         * {@code record_unchained}), or that are stored twice under one id ({@code record_duplicated}); nothing for a
         * source that holds no records (an export). {@code named}: the ids every {@code call.*} entry names.
         */
        default List<String> unchainedRecords(java.util.Set<java.util.UUID> named) {
            return List.of();
        }

        /**
         * Each stored approval's decisions as {@code audit_approvals} reports them ({@code approver:decision} by the time
         * decided, comma-separated; null when none), by approval id; null where the source holds none (an export) or
         * could not read them.
         */
        default Map<String, String> approvalDecisions() {
            return null;
        }

        /**
         * Each stored approval as {@code audit_approvals} reports it: {@code id} (the approval id) and the
         * {@link #APPROVAL_COLUMNS}, as text (times in microseconds since the epoch); null where the source holds none
         * (an export) or could not read them.
         */
        default List<Map<String, String>> approvalColumns() {
            return null;
        }

        /**
         * Each stored virtual key as the view {@code audit_key_columns} gives it (migration V29): {@code id} and the
         * {@link #KEY_COLUMNS}, as text (null for SQL NULL); null where the source holds no keys (an export) or could
         * not read them ({@link #recordsUnreadable}).
         */
        default List<Map<String, String>> keyColumns() {
            return null;
        }

        /**
         * Each stored refusal summary as the view {@code audit_refusal_summary_columns} gives it (migration V30):
         * {@code id} and the {@link #SUMMARY_COLUMNS}, as text; null where the source holds none (an export) or could
         * not read them ({@link #recordsUnreadable}).
         */
        default List<Map<String, String>> refusalSummaryColumns() {
            return null;
        }

        /** Whether a chain now holds a {@code call.terminal} entry for this record (appended after it was read). */
        default boolean terminatedSince(String recordId) {
            return false;
        }

        /**
         * The size the store's chain head says (the reports' {@code audit_completeness} reads it), read after the
         * chain's rows; null where there is none (an export).
         */
        default Long headSize(String chainId) {
            return null;
        }

        /**
         * Whether the store now holds this position of the chain (read after its rows: an entry appended since), false
         * where unknown (an export).
         */
        default boolean holdsPosition(String chainId, long position) {
            return false;
        }

        /**
         * The time of the chain's newest row in the instance registry ({@code start} or {@code stop}), microseconds
         * since the epoch; null where there is none or it is unknown (an export).
         */
        default Long lastRegistryAtMicros(String chainId) {
            return null;
        }

        /** Where the rows of a chain start: position 1 from the genesis hash, or (an export) later. */
        default Start start(String chainId) {
            return new Start(1, ChainHash.GENESIS);
        }

        /** Faults found in the source itself (an export whose files do not match its manifest). */
        default List<String> sourceFaults() {
            return List.of();
        }

        /**
         * Faults in the source reported only where nothing else is (an export's {@code last_position} that is not its
         * last line's: a claim no signature covers, which would otherwise hide the fault that explains it, such as a
         * line deleted).
         */
        default List<String> lateFaults() {
            return List.of();
        }

        /**
         * The Merkle frontier of the entries before {@link #start}: empty at position 1; an export's manifest
         * carries it; null when unknown (an export of format 1), and then roots are not recomputed.
         */
        default Merkle.Frontier frontier(String chainId) {
            return start(chainId).position() == 1 ? new Merkle.Frontier() : null;
        }

        /** Whether this is the whole store (a database): a chain named but absent was deleted, not left out. */
        default boolean whole() {
            return true;
        }

        /** The last registry event of a chain ({@code start} or {@code stop}), null when unknown. */
        default String lastRegistryEvent(String chainId) {
            return null;
        }

        /**
         * Faults of how this source reads the store ({@code read_path_changed}): a view, a table, a function or an
         * operator that is not what the migrations made, row-level security or rules where they made none (a
         * database's {@link ReadPath}); nothing for an export.
         */
        default List<String> readPathFaults() {
            return List.of();
        }

        /** What of the read path could not be checked (then the report cannot say VALID); empty when all was. */
        default List<String> readPathUnchecked() {
            return List.of();
        }
    }

    /** A checkpoint as a Kafka consumer saved it (a witness), or as read from the source. */
    public record Witnessed(String origin, byte[] canonical, byte[] signature, String keyId) {
    }

    /** What the auditor asks: the range that must be covered, the heartbeat tolerance and the witnesses. */
    public record Options(java.time.Instant from, java.time.Instant to, long toleranceMs, long defaultHeartbeatMs,
                          List<Witnessed> witnesses) {
        public static Options none() {
            return new Options(null, null, 5_000, 10_000, List.of());
        }
    }

    /** A verified checkpoint, parsed. */
    record Signed(String chainId, long size, String head, String root, java.time.Instant signedAt, String state,
                  Long heartbeatMs, List<String> chains, String previous, byte[] hash, String origin) {
    }

    /**
     * A survivor's signed statement (an entry {@code chain.closed} of its own chain, section 4.5) that another chain
     * ended at {@code size} with {@code head}, at {@code at}.
     */
    record Closure(String closer, long position, java.time.Instant at, String chainId, long size, String head) {
    }

    /** The first position of a chain's rows and the hash of the entry before it. */
    public record Start(long position, byte[] previousHash) {
    }

    /** What verification found. */
    public record Report(int code, List<String> faults, List<String> warnings, List<String> notes,
                         List<String> gaps) {
        public Report(int code, List<String> faults, List<String> warnings, List<String> notes) {
            this(code, faults, warnings, notes, List.of());
        }

        /** TAMPERED (exit 1) wins over INCOMPLETE (exit 1), which wins over UNVERIFIABLE (exit 2), then VALID. */
        public String summary() {
            if (code == TAMPERED) {
                return faults.isEmpty() ? "INCOMPLETE" : "TAMPERED";
            }
            return code == VALID ? "VALID" : "UNVERIFIABLE";
        }
    }

    private final Map<String, PublicKey> keys;

    /** @param keys public keys by key id */
    public Verifier(Map<String, PublicKey> keys) {
        this.keys = keys;
    }

    public Report verify(Source source) {
        return verify(source, Options.none());
    }

    public Report verify(Source source, Options options) {
        try {
            return verifyRead(source, options);
        } catch (RuntimeException e) {
            // a read refused by what the owner changed (row-level security, with verify's row_security off): the
            // changes found are the report
            if (source.readPathFaults().isEmpty()) {
                throw e;
            }
            return new Report(TAMPERED, source.readPathFaults(), List.of(),
                    List.of("the store could not be read past its changed read path: " + e.getMessage()));
        }
    }

    private Report verifyRead(Source source, Options options) {
        List<String> faults = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<String> gaps = new ArrayList<>();
        boolean unverifiable = false;
        faults.addAll(source.sourceFaults());
        List<String> chainIds = faults.isEmpty() ? source.chains() : List.<String>of();
        java.util.Set<String> named = new java.util.TreeSet<>();
        Map<String, List<Signed>> signedByChain = new java.util.TreeMap<>();
        Map<String, Map<Long, byte[]>> hashesByChain = new java.util.HashMap<>();
        Map<String, Long> lengths = new java.util.HashMap<>();
        List<Closure> closures = new ArrayList<>();
        Map<String, Long> anchoredByChain = new java.util.HashMap<>();
        Map<String, Start> starts = new java.util.HashMap<>();
        // the records the chains name (call.open, call.terminal): a stored record that none names was not written by
        // the gateway ({@link Source#unchainedRecords})
        java.util.Set<java.util.UUID> namedRecords = new java.util.HashSet<>();
        // a record whose chains hold only call.open entries (in flight, or held for approval) is still open: its row
        // must say what one of them says (each update of an open record appends another call.open entry)
        java.util.Set<java.util.UUID> terminated = new java.util.HashSet<>();
        Map<java.util.UUID, List<Map<?, ?>>> openOnly = new java.util.HashMap<>();
        // each approval the chains name, and its approvers' decisions as entries hold them: (decided_at, "who:what")
        Map<String, List<String[]>> approvals = new java.util.HashMap<>();
        // each virtual key the chains name, and what its key.* entries hold, in the order read
        Map<String, List<Map<?, ?>>> keyEntries = new java.util.HashMap<>();
        // each approval's entries, in the order read (their record, with the entry's kind)
        Map<String, List<Map<?, ?>>> approvalEntries = new java.util.HashMap<>();
        // each refusal summary the chains name, and what its entry holds
        Map<String, List<Map<?, ?>>> summaryEntries = new java.util.HashMap<>();
        for (String chainId : chainIds) {
            Start start = source.start(chainId);
            List<StoredCheckpoint> stored = source.checkpoints(chainId);
            java.util.Set<Long> rootSizes = new java.util.HashSet<>();
            stored.forEach(cp -> rootSizes.add(cp.size()));
            Map<Long, byte[]> roots = new java.util.HashMap<>();
            Merkle.Frontier tree = source.frontier(chainId);
            if (tree == null && start.position() > 1 && signsRoots(stored)) {
                // the checkpoints, not the manifest, say which format this is: format-2 checkpoints sign tree roots,
                // and an export of them carries the frontier that lets every line after the anchor be checked
                // against them; without it a checkpoint below the anchor would count for coverage and sign nothing
                faults.add(chainId + " position " + start.position() + ": anchor_mismatch (the export starts after "
                        + "position 1 without a Merkle frontier, but its checkpoints are signed in format 2: the "
                        + "frontier was removed or the manifest downgraded)");
                continue;
            }
            if (tree != null && tree.size() != start.position() - 1) {
                faults.add(chainId + " position " + start.position() + ": anchor_mismatch (the Merkle frontier does "
                        + "not describe the entries before the first exported one)");
                continue;
            }
            if (tree != null) {
                roots.put(tree.size(), tree.root());
            }
            Map<Long, byte[]> hashes = new java.util.HashMap<>();
            hashes.put(start.position() - 1, start.previousHash());
            byte[] previous = start.previousHash();
            long expected = start.position();
            boolean broken = false;
            boolean any = false;
            for (Row row : source.rows(chainId)) {
                any = true;
                String at = chainId + " position " + row.position() + ": ";
                if (row.position() != expected) {
                    faults.add(row.position() > expected ? chainId + " position " + expected
                            + ": missing_record (the next stored position is " + row.position() + ")"
                            : at + "duplicate_position");
                    broken = true;
                    break;
                }
                if (!Canonical.isCanonical(row.canonical())) {
                    faults.add(at + "not_canonical");
                    broken = true;
                    break;
                }
                if (!(Canonical.parse(row.canonical()) instanceof Map<?, ?> parsed)) {
                    faults.add(at + "position_mismatch (the entry is not a JSON object)");
                    broken = true;
                    break;
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> entry = (Map<String, Object>) parsed;
                if (!chainId.equals(entry.get("chain_id")) || !Long.valueOf(row.position()).equals(entry.get("position"))) {
                    faults.add(at + "position_mismatch (the entry names another chain or position)");
                    broken = true;
                    break;
                }
                if (!Long.valueOf(EvidenceChain.FORMAT).equals(entry.get("format"))) {
                    faults.add(at + "unsupported_format (the entry's format is not " + EvidenceChain.FORMAT + ")");
                    broken = true;
                    break;
                }
                if (row.kind() != null && (!row.kind().equals(entry.get("kind"))
                        || !java.util.Objects.equals(row.subjectId(), entry.get("subject_id")))) {
                    faults.add(at + "record_mismatch (the store's kind or subject_id column is not the entry's)");
                    broken = true;
                    break;
                }
                byte[] link = ChainHash.link(previous, row.canonical());
                if (!Arrays.equals(link, row.hash())) {
                    faults.add(at + "hash_mismatch (the stored hash does not follow from the previous hash and this "
                            + "entry's bytes: this entry was edited, or the one before it was edited and rehashed)");
                    broken = true;
                    break;
                }
                String rowFault = recordFault(source, entry);
                if (rowFault != null) {
                    faults.add(at + rowFault);
                    broken = true;
                    break;
                }
                if (entry.get("kind") instanceof String kind && kind.startsWith("approval.")
                        && entry.get("subject_id") instanceof String approval) {
                    Map<Object, Object> body = new java.util.HashMap<>(entry.get("record") instanceof Map<?, ?> m
                            ? m : Map.of());
                    body.put("entry_kind", kind);
                    approvalEntries.computeIfAbsent(approval, k -> new ArrayList<>()).add(body);
                    List<String[]> votes = approvals.computeIfAbsent(approval, k -> new ArrayList<>());
                    if ("approval.decision".equals(kind) && entry.get("record") instanceof Map<?, ?> ev
                            && ev.get("detail") instanceof Map<?, ?> vote && vote.get("refused") == null
                            && vote.get("approver") instanceof String who && vote.get("decision") instanceof String what) {
                        votes.add(new String[]{String.valueOf(vote.get("decided_at")), who + ":" + what});
                    }
                }
                if ("refusal.summary".equals(entry.get("kind")) && entry.get("subject_id") instanceof String summaryId) {
                    summaryEntries.computeIfAbsent(summaryId, k -> new ArrayList<>())
                            .add(entry.get("record") instanceof Map<?, ?> m ? m : Map.of());
                }
                if (entry.get("kind") instanceof String kind && kind.startsWith("key.")
                        && entry.get("subject_id") instanceof String keyId) {
                    Map<Object, Object> body = new java.util.HashMap<>(entry.get("record") instanceof Map<?, ?> m
                            ? m : Map.of());
                    body.put("entry_kind", kind);
                    keyEntries.computeIfAbsent(keyId, k -> new ArrayList<>()).add(body);
                }
                if (entry.get("kind") instanceof String kind && kind.startsWith("call.")
                        && entry.get("subject_id") instanceof String subject) {
                    try {
                        java.util.UUID id = java.util.UUID.fromString(subject);
                        namedRecords.add(id);
                        if ("call.terminal".equals(kind)) {
                            terminated.add(id);
                            openOnly.remove(id);
                        } else if ("call.open".equals(kind) && !terminated.contains(id)
                                && entry.get("record") instanceof Map<?, ?> record) {
                            openOnly.computeIfAbsent(id, k -> new ArrayList<>()).add(record);
                        }
                    } catch (IllegalArgumentException notAnId) {
                        // a call entry always names its record by id; another subject names no stored record
                    }
                }
                String digestFault = payloadFault(source, entry);
                if (digestFault != null) {
                    faults.add(at + digestFault);
                    broken = true;
                    break;
                }
                Closure closure = closure(chainId, row.position(), entry);
                if (closure != null) {
                    closures.add(closure);
                }
                previous = link;
                hashes.put(row.position(), link);
                if (tree != null) {
                    tree.appendLeaf(Merkle.leaf(row.canonical()), null);
                    if (rootSizes.contains(row.position())) {
                        roots.put(row.position(), tree.root());
                    }
                }
                expected++;
            }
            long length = expected - 1;
            Long head = broken ? null : source.headSize(chainId);
            if (head != null && head < length) {
                // entries are only appended: a head behind the entries read before it was moved back
                faults.add(chainId + " position " + (head + 1) + ": head_mismatch (the chain head says " + head
                        + " entries, the chain holds " + length + ")");
                continue;
            }
            if (!broken && head != null && head > length && source.whole() && !source.holdsPosition(chainId, length + 1)) {
                // a head ahead of the entries is an append read half-way, unless the next entry is still not there:
                // then entries the head counted were deleted (the head is moved in the transaction that appends them)
                faults.add(chainId + " position " + (length + 1) + ": truncated (the chain head says " + head
                        + " entries, the chain holds " + length + ")");
                continue;
            }
            if (broken) {
                continue;
            }
            if (!any && stored.isEmpty() && source.whole()) {
                faults.add(chainId + " position 1: missing_chain (the chain is registered, but no entry and no "
                        + "checkpoint of it remains)");
                continue;
            }
            byte[] previousCheckpoint = null;
            long anchored = 0;
            List<Signed> signed = new ArrayList<>();
            for (StoredCheckpoint cp : stored) {
                String at = chainId + " checkpoint at size " + cp.size() + ": ";
                PublicKey key = keys.get(cp.keyId());
                if (key == null) {
                    notes.add(at + "no public key for key id " + cp.keyId());
                    unverifiable = true;
                    break;
                }
                if (!KeyFileSigner.verify(key, cp.canonical(), cp.signature())) {
                    faults.add(at + "bad_signature");
                    broken = true;
                    break;
                }
                if (!Canonical.isCanonical(cp.canonical())) {
                    faults.add(at + "checkpoint_not_canonical");
                    broken = true;
                    break;
                }
                if (!(Canonical.parse(cp.canonical()) instanceof Map<?, ?> parsedBody)) {
                    faults.add(at + "checkpoint_mismatch (its signed content is not a JSON object)");
                    broken = true;
                    break;
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> body = (Map<String, Object>) parsedBody;
                Object size = body.get("size");
                Object prev = body.get("previous");
                String expectedPrev = previousCheckpoint == null ? null : HexFormat.of().formatHex(previousCheckpoint);
                if (!chainId.equals(body.get("chain_id")) || !Long.valueOf(cp.size()).equals(size)
                        || !cp.keyId().equals(body.get("key_id"))) {
                    faults.add(at + "checkpoint_mismatch (its signed content names another chain, size or key)");
                    broken = true;
                    break;
                }
                if (cp.signedAtMicros() != null && !sameColumn("signed_at", body.get("signed_at"),
                        String.valueOf(cp.signedAtMicros()))) {
                    // audit_completeness reports the column: it must be the time that was signed
                    faults.add(at + "checkpoint_mismatch (the store's signed_at column is not the signed time)");
                    broken = true;
                    break;
                }
                // an export's first checkpoint (the opening one) links to one that is not included
                boolean firstOfPartial = signed.isEmpty() && !source.whole();
                if (!firstOfPartial && (expectedPrev == null ? prev != null : !expectedPrev.equals(prev))) {
                    faults.add(at + "checkpoint_chain_broken (previous checkpoint hash does not match)");
                    broken = true;
                    break;
                }
                if (!Arrays.equals(ChainHash.checkpoint(cp.canonical()), cp.hash())) {
                    faults.add(at + "checkpoint_hash_mismatch");
                    broken = true;
                    break;
                }
                Signed s = parse(body, cp.hash(), "source");
                if (s == null) {
                    faults.add(at + "checkpoint_mismatch (a signed field is missing or malformed)");
                    broken = true;
                    break;
                }
                if (!signed.isEmpty() && (s.size() < signed.get(signed.size() - 1).size()
                        || s.signedAt().isBefore(signed.get(signed.size() - 1).signedAt()))) {
                    faults.add(chainId + " position " + (s.size() + 1) + ": rollback (a checkpoint signed at "
                            + s.signedAt() + " follows one of a larger size or a later time)");
                    broken = true;
                    break;
                }
                signed.add(s);
                previousCheckpoint = cp.hash();
                if (cp.size() < start.position() - 1) {
                    if (tree != null) {
                        // a format-2 export opens with the checkpoint at first_position - 1 (section 6.3): one
                        // below it signs no exported entry, and would leave the anchor and every line unsigned
                        faults.add(chainId + " position " + start.position() + ": anchor_mismatch (a checkpoint of size "
                                + cp.size() + " precedes the first exported entry: no signed head authenticates the "
                                + "anchor)");
                        broken = true;
                        break;
                    }
                    continue; // an old export's link: signed before the exported rows
                }
                if (cp.size() > length) {
                    faults.add(chainId + " position " + (length + 1) + ": truncated (a signed checkpoint covers "
                            + cp.size() + " records, the chain holds " + length + ")");
                    broken = true;
                    break;
                }
                if (!HexFormat.of().formatHex(hashes.get(cp.size())).equals(body.get("head"))) {
                    faults.add(chainId + " position " + cp.size() + ": checkpoint_mismatch (the chain's hash at this "
                            + "size differs from the signed head: records were rewritten)");
                    broken = true;
                    break;
                }
                if (s.root() != null && roots.containsKey(cp.size())
                        && !HexFormat.of().formatHex(roots.get(cp.size())).equals(s.root())) {
                    faults.add(chainId + " position " + cp.size() + ": root_mismatch (the signed Merkle tree root is "
                            + "not the root of the entries)");
                    broken = true;
                    break;
                }
                anchored = cp.size();
            }
            if (broken || unverifiable) {
                continue;
            }
            signed.forEach(x -> named.addAll(x.chains()));
            signedByChain.put(chainId, signed);
            hashesByChain.put(chainId, hashes);
            lengths.put(chainId, length);
            Long registered = source.whole() ? source.lastRegistryAtMicros(chainId) : null;
            if (registered != null && !signedSince(signed, stored, registered)
                    && !signedSince(List.of(), source.checkpoints(chainId), registered)) {
                // every start and stop of an instance signs a checkpoint in the transaction that registers it (section
                // 4.2): a registry row after the last checkpoint means signed checkpoints were deleted (read again
                // first: an instance may have started since the checkpoints were read)
                faults.add(chainId + " position " + (length + 1) + ": truncated (the instance's registry records a start "
                        + "or stop after its last signed checkpoint: signed checkpoints were deleted)");
                continue;
            }
            if ("stop".equals(source.lastRegistryEvent(chainId))
                    && (signed.isEmpty() || !Checkpoints.STOPPED.equals(signed.get(signed.size() - 1).state()))) {
                faults.add(chainId + " position " + (length + 1) + ": truncated (the instance's registry says it "
                        + "stopped, but its final checkpoint is missing)");
                continue;
            }
            notes.add(chainId + ": positions " + start.position() + " to " + length
                    + " verified, anchored by signed checkpoints up to " + anchored);
            if (length > anchored) {
                warnings.add(chainId + ": " + (length - anchored) + " unanchored records after position "
                        + anchored + " (no signed checkpoint covers them yet)");
            }
            anchoredByChain.put(chainId, anchored);
            starts.put(chainId, start);
        }
        // survivors' statements that a dead chain ended (section 4.5): only signed ones count, and each must agree
        // with the chain it closes
        closures.removeIf(c -> c.position() > anchoredByChain.getOrDefault(c.closer(), 0L));
        for (Closure c : closures) {
            Map<Long, byte[]> hashes = hashesByChain.get(c.chainId());
            if (hashes == null) {
                continue;
            }
            if (hashes.containsKey(c.size()) && !HexFormat.of().formatHex(hashes.get(c.size())).equals(c.head())) {
                faults.add(c.chainId() + " position " + c.size() + ": fork (closed by " + c.closer() + " at its position "
                        + c.position() + " with another head for this size)");
                signedByChain.remove(c.chainId());
            } else if (source.whole() && c.size() > lengths.get(c.chainId())) {
                faults.add(c.chainId() + " position " + (lengths.get(c.chainId()) + 1) + ": truncated (closed by "
                        + c.closer() + " at size " + c.size() + ", but the chain is shorter)");
                signedByChain.remove(c.chainId());
            }
        }
        if (!source.whole()) {
            // an export is cut at a signed checkpoint (section 6): lines past the last one that verified (or past a
            // survivor's signed closure) are the export holder's word only
            for (Map.Entry<String, Long> e : anchoredByChain.entrySet()) {
                long anchored = e.getValue();
                for (Closure c : closures) {
                    if (c.chainId().equals(e.getKey())) {
                        anchored = Math.max(anchored, Math.min(c.size(), lengths.get(e.getKey())));
                    }
                }
                if (lengths.get(e.getKey()) > anchored) {
                    gaps.add(e.getKey() + ": unanchored positions " + (anchored + 1) + " to " + lengths.get(e.getKey())
                            + " (exported entries that no signed checkpoint covers)");
                }
            }
        }
        if (options.from() != null && options.to() != null && chainIds.isEmpty() && faults.isEmpty()) {
            gaps.add("*: uncovered_span " + options.from() + " to " + options.to() + " (the source holds no chain)");
        }
        if (options.from() != null && options.to() != null) {
            for (Map.Entry<String, List<Signed>> e : signedByChain.entrySet()) {
                coverage(e.getKey(), e.getValue(), starts.get(e.getKey()), options, gaps, closures.stream()
                        .filter(c -> c.chainId().equals(e.getKey())).toList());
            }
        }
        if (faults.isEmpty() && !unverifiable) {
            for (String missing : named) {
                if (!chainIds.contains(missing)) {
                    if (source.whole()) {
                        faults.add(missing + " position 1: missing_chain (named by signed checkpoints, but no entry "
                                + "and no checkpoint of it remains)");
                    } else {
                        gaps.add(missing + ": missing_chain (named by signed checkpoints, absent from the export)");
                    }
                }
            }
            witnesses(options, source, signedByChain, hashesByChain, lengths, faults, warnings, gaps);
        }
        if (options.from() == null || options.to() == null) {
            notes.add("coverage not checked: give the range you asked for (--from, --to) to check completeness");
        }
        if (faults.isEmpty() && source.whole()) {
            // only over chains read whole and without a fault: a chain cut short names fewer records
            faults.addAll(source.unchainedRecords(namedRecords));
            Map<String, String> reported = source.approvalDecisions();
            if (reported != null) {
                for (Map.Entry<String, String> a : reported.entrySet()) {
                    List<String[]> votes = approvals.get(a.getKey());
                    if (votes == null) {
                        faults.add("approval " + a.getKey() + ": approval_unchained (the store holds an approval that "
                                + "no chain entry names: it was not written by the gateway)");
                        continue;
                    }
                    // as audit_approvals lists them: by the time decided, who:what, comma-separated
                    votes.sort(java.util.Comparator.comparing((String[] v) -> java.time.Instant.parse(v[0])));
                    String signed = votes.isEmpty() ? null
                            : String.join(",", votes.stream().map(v -> v[1]).toList());
                    if (!java.util.Objects.equals(signed, a.getValue())) {
                        faults.add("approval " + a.getKey() + ": approval_mismatch (the stored decisions are not the "
                                + "ones its chain entries hold)");
                    }
                }
                for (String chained : approvals.keySet()) {
                    if (!reported.containsKey(chained)) {
                        faults.add("approval " + chained + ": approval_missing (the chain names an approval the store "
                                + "no longer holds)");
                    }
                }
            }
            java.util.Set<String> faultedApprovals = new java.util.HashSet<>();
            faults.forEach(f -> {
                if (f.startsWith("approval ")) {
                    faultedApprovals.add(f.substring(9, f.indexOf(':')));
                }
            });
            faults.addAll(approvalFaults(approvalEntries, source.approvalColumns(), faultedApprovals));
            faults.addAll(keyFaults(keyEntries, source.keyColumns()));
            faults.addAll(summaryFaults(summaryEntries, source.refusalSummaryColumns()));
            for (Map.Entry<java.util.UUID, List<Map<?, ?>>> open : openOnly.entrySet()) {
                String fault = null;
                for (Map<?, ?> record : open.getValue()) {
                    fault = rowFault(source, record);
                    if (fault == null) {
                        break;
                    }
                }
                // a live store: the call may have ended since its chain was read (its call.terminal entry is newer)
                if (fault != null && !source.terminatedSince(open.getKey().toString())) {
                    faults.add("record " + open.getKey() + ": " + fault + " (an open record: only call.open entries "
                            + "name it)");
                }
            }
        }
        // a store read through objects its owner changed (ReadPath): what was read may not be what is stored
        faults.addAll(source.readPathFaults());
        if (!source.readPathUnchecked().isEmpty()) {
            notes.add("the store's read path was not checked against the migrations: "
                    + String.join("; ", source.readPathUnchecked()));
            unverifiable = true;
        }
        if (source.recordsUnreadable()) {
            notes.add("the stored records were not checked against their chain entries: this login could not read "
                    + "them (a view it reads, audit_record_columns, audit_approvals, audit_key_columns or "
                    + "audit_refusal_summary_columns, refused, missing or changed)");
            unverifiable = true;
        }
        if (faults.isEmpty() && gaps.isEmpty()) {
            faults.addAll(source.lateFaults());
        }
        int code = !faults.isEmpty() || !gaps.isEmpty() ? TAMPERED : unverifiable ? UNVERIFIABLE : VALID;
        return new Report(code, faults, warnings, notes, gaps);
    }

    /**
     * Whether any of these checkpoints says, in the bytes it claims are signed, that it is of format 2 or later (it
     * signs a tree {@code root}); one whose signature does not verify is a fault of its own further on.
     */
    private static boolean signsRoots(List<StoredCheckpoint> stored) {
        for (StoredCheckpoint cp : stored) {
            try {
                if (Canonical.parse(cp.canonical()) instanceof Map<?, ?> body
                        && (body.get("root") != null || (body.get("format") instanceof Long f && f >= 2))) {
                    return true;
                }
            } catch (RuntimeException notJson) {
                // not a checkpoint at all: checkpoint_not_canonical or bad_signature further on
            }
        }
        return false;
    }

    /**
     * Whether a checkpoint was signed at or after a registry row's time (microseconds; 1 ms of slack for the clock
     * read twice in one transaction): among the verified ones, or else in the store's {@code signed_at} column.
     */
    private static boolean signedSince(List<Signed> signed, List<StoredCheckpoint> stored, long micros) {
        long slack = 1_000;
        for (Signed s : signed) {
            long at = Math.multiplyExact(s.signedAt().getEpochSecond(), 1_000_000L) + s.signedAt().getNano() / 1000;
            if (at + slack >= micros) {
                return true;
            }
        }
        if (!signed.isEmpty()) {
            return false;
        }
        for (StoredCheckpoint cp : stored) {
            if (cp.signedAtMicros() != null && cp.signedAtMicros() + slack >= micros) {
                return true;
            }
        }
        return false;
    }

    /** Signed coverage of [from, to): an opening and a closing checkpoint, and heartbeats in between. */
    /** The statement a {@code chain.closed} entry makes, or null for any other entry (or a malformed one). */
    static Closure closure(String chainId, long position, Map<String, Object> entry) {
        if (!"chain.closed".equals(entry.get("kind")) || !(entry.get("record") instanceof Map<?, ?> r)
                || !(r.get("closed_chain_id") instanceof String closed) || !(r.get("size") instanceof Long size)
                || !(r.get("head") instanceof String head) || !(entry.get("recorded_at") instanceof String at)) {
            return null;
        }
        try {
            return new Closure(chainId, position, java.time.Instant.parse(at), closed, size, head);
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    /** Whether a signed closure at or after {@code from} covers everything the chain signed until then. */
    private static boolean closedAfter(List<Closure> closures, Signed a, java.time.Instant until) {
        for (Closure c : closures) {
            if (!c.at().isBefore(a.signedAt()) && (until == null || !c.at().isAfter(until)) && c.size() >= a.size()) {
                return true;
            }
        }
        return false;
    }

    private static void coverage(String chainId, List<Signed> signed, Start start, Options o, List<String> gaps,
                                 List<Closure> closures) {
        if (signed.isEmpty()) {
            gaps.add(chainId + ": uncovered_span " + o.from() + " to " + o.to() + " (no signed checkpoint)");
            return;
        }
        Signed first = signed.get(0);
        boolean born = first.previous() == null && start.position() == 1;
        if (first.signedAt().isAfter(o.from()) && !born) {
            gaps.add(chainId + ": uncovered_span " + o.from() + " to " + first.signedAt()
                    + " (no signed checkpoint at or before the start of the range)");
        }
        Signed last = signed.get(signed.size() - 1);
        if (last.signedAt().isBefore(o.to()) && !Checkpoints.STOPPED.equals(last.state())
                && !closedAfter(closures, last, null)) {
            gaps.add(chainId + ": uncovered_span " + last.signedAt() + " to " + o.to()
                    + " (no signed checkpoint at or after the end of the range)");
        }
        for (int i = 1; i < signed.size(); i++) {
            Signed a = signed.get(i - 1);
            Signed b = signed.get(i);
            if (Checkpoints.STOPPED.equals(a.state()) || !b.signedAt().isAfter(o.from()) || !a.signedAt().isBefore(o.to())
                    || closedAfter(closures, a, b.signedAt())) {
                continue;
            }
            long period = a.heartbeatMs() != null ? a.heartbeatMs() : o.defaultHeartbeatMs();
            if (java.time.Duration.between(a.signedAt(), b.signedAt()).compareTo(
                    java.time.Duration.ofMillis(period + o.toleranceMs())) > 0) {
                gaps.add(chainId + ": missing_heartbeat " + a.signedAt() + " to " + b.signedAt() + " (checkpoints at sizes "
                        + a.size() + " and " + b.size() + "; the heartbeat is " + period + " ms)");
            }
        }
    }

    /** Witnessed checkpoints: a fork (another head for a size) or a rollback (a later, smaller one) is tampering. */
    private void witnesses(Options o, Source source, Map<String, List<Signed>> signedByChain,
                           Map<String, Map<Long, byte[]>> hashesByChain, Map<String, Long> lengths,
                           List<String> faults, List<String> warnings, List<String> gaps) {
        Map<String, List<Signed>> all = new java.util.TreeMap<>();
        signedByChain.forEach((k, v) -> all.put(k, new ArrayList<>(v)));
        java.util.Set<String> faulted = new java.util.HashSet<>(); // one fault per chain: the first in witness order
        for (Witnessed w : o.witnesses()) {
            PublicKey key = keys.get(w.keyId());
            if (key == null || !KeyFileSigner.verify(key, w.canonical(), w.signature()) || !Canonical.isCanonical(w.canonical())) {
                warnings.add(w.origin() + ": ignored (" + (key == null ? "signed by a key that was not given"
                        : "its signature does not verify") + ")");
                continue;
            }
            @SuppressWarnings("unchecked")
            Signed s = Canonical.parse(w.canonical()) instanceof Map<?, ?> wb
                    ? parse((Map<String, Object>) wb, ChainHash.checkpoint(w.canonical()), w.origin()) : null;
            if (s == null) {
                warnings.add(w.origin() + ": ignored (not a checkpoint)");
                continue;
            }
            String chainId = s.chainId();
            if (!all.containsKey(chainId)) {
                boolean inRange = o.from() == null || (!s.signedAt().isBefore(o.from()) && s.signedAt().isBefore(o.to()));
                if (inRange && !source.chains().contains(chainId)) {
                    if (source.whole()) {
                        faults.add(chainId + " position 1: missing_chain (" + w.origin() + " saw it)");
                    } else {
                        gaps.add(chainId + ": missing_chain (" + w.origin() + " saw it, absent from the export)");
                    }
                    all.put(chainId, new ArrayList<>());
                } else {
                    continue;
                }
            }
            if (faulted.contains(chainId)) {
                continue;
            }
            Map<Long, byte[]> hashes = hashesByChain.getOrDefault(chainId, Map.of());
            byte[] h = hashes.get(s.size());
            if (h != null && !HexFormat.of().formatHex(h).equals(s.head())) {
                faults.add(chainId + " position " + s.size() + ": fork (" + w.origin() + " holds another head signed for "
                        + "this size)");
                faulted.add(chainId);
                continue;
            }
            Long length = lengths.get(chainId);
            if (source.whole() && length != null && s.size() > length) {
                faults.add(chainId + " position " + (length + 1) + ": rollback (" + w.origin() + " holds a checkpoint "
                        + "signed for " + s.size() + " entries; the chain holds " + length + ")");
                faulted.add(chainId);
                continue;
            }
            all.get(chainId).add(s);
        }
        for (Map.Entry<String, List<Signed>> e : all.entrySet()) {
            if (faulted.contains(e.getKey())) {
                continue;
            }
            List<Signed> list = e.getValue();
            list.sort(java.util.Comparator.comparing(Signed::signedAt).thenComparing(Signed::size));
            Map<Long, String> heads = new java.util.HashMap<>();
            long maxSize = -1;
            Signed maxAt = null;
            for (Signed s : list) {
                String other = heads.putIfAbsent(s.size(), s.head());
                if (other != null && !other.equals(s.head())) {
                    faults.add(e.getKey() + " position " + s.size() + ": fork (two heads signed for this size, one in "
                            + s.origin() + ")");
                    break;
                }
                if (s.size() < maxSize && s.signedAt().isAfter(maxAt.signedAt())) {
                    faults.add(e.getKey() + " position " + (s.size() + 1) + ": rollback (" + s.origin() + " signed "
                            + s.size() + " entries at " + s.signedAt() + ", after " + maxSize + " were signed)");
                    break;
                }
                if (s.size() > maxSize) {
                    maxSize = s.size();
                    maxAt = s;
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    static Signed parse(Map<String, Object> body, byte[] hash, String origin) {
        try {
            if (!"checkpoint".equals(body.get("type")) || !(body.get("chain_id") instanceof String chain)
                    || !(body.get("size") instanceof Long size) || !(body.get("head") instanceof String head)) {
                return null;
            }
            java.time.Instant at = java.time.Instant.parse((String) body.get("signed_at"));
            List<String> chains = new ArrayList<>();
            if (body.get("chains") instanceof List<?> l) {
                for (Object x : l) {
                    chains.add((String) x);
                }
            }
            return new Signed(chain, size, head, (String) body.get("root"), at, (String) body.get("state"),
                    (Long) body.get("heartbeat_ms"), chains, (String) body.get("previous"), hash, origin);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** A call's stored record (the row the reports read) that no longer says what its terminal entry says. */
    private static String recordFault(Source source, Map<String, Object> entry) {
        if (!"call.terminal".equals(entry.get("kind")) || !(entry.get("record") instanceof Map<?, ?> record)) {
            return null;
        }
        return rowFault(source, record);
    }

    /** The stored row of a call's record against the record an entry holds: null when they agree (or no row is read). */
    private static String rowFault(Source source, Map<?, ?> record) {
        Map<String, String> row = source.recordColumns(String.valueOf(record.get("id")));
        if (row == null) {
            return null;
        }
        if (row.isEmpty()) {
            // records are never deleted (retention purges payloads only): the reports no longer show this call
            return "record_missing (the stored record of this entry is gone)";
        }
        String column = mismatchedColumn(record, row);
        return column == null ? null
                : "record_mismatch (the stored record's " + column + " is not the one its entry holds)";
    }

    /**
     * The first of the {@link #RECORD_COLUMNS} in which a stored row ({@link DatabaseSource#recordColumns(
     * java.sql.Connection, java.util.UUID)}) does not say what a chain entry's {@code record} says, or null when they
     * agree. The verifier's {@code record_mismatch}, and a replay's check before it sends anything.
     */
    public static String mismatchedColumn(Map<?, ?> record, Map<String, String> row) {
        for (Map.Entry<String, List<String>> c : RECORD_COLUMNS.entrySet()) {
            Object value = record;
            for (String name : c.getValue()) {
                value = value instanceof Map<?, ?> m ? m.get(name) : null;
            }
            if (!sameColumn(c.getKey(), value, row.get(c.getKey()))) {
                return c.getKey();
            }
        }
        return null;
    }

    /**
     * The stored virtual keys against their {@code key.*} entries ({@link #KEY_COLUMNS}): a row that no entry names
     * ({@code key_unchained}), one stored twice under its id ({@code key_duplicated}), an entry's key no longer stored
     * ({@code key_missing}), a column that is not what the entries imply ({@code key_mismatch}).
     */
    static List<String> keyFaults(Map<String, List<Map<?, ?>>> entries, List<Map<String, String>> rows) {
        List<String> out = new ArrayList<>();
        if (rows == null) {
            return out;
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Map<String, String> row : rows) {
            String id = row.get("id");
            if (!seen.add(id)) {
                out.add("key " + id + ": key_duplicated (the store holds more than one key under this id)");
                continue;
            }
            List<Map<?, ?>> named = entries.get(id);
            if (named == null) {
                out.add("key " + id + ": key_unchained (a stored key that no key.* entry names: it was not created by "
                        + "the gateway)");
                continue;
            }
            Map<String, Object> implied = impliedKey(named);
            for (String column : KEY_COLUMNS) {
                if (implied.containsKey(column) && !sameValue(KEY_INSTANTS.contains(column), KEY_LISTS.contains(column),
                        implied.get(column), row.get(column))) {
                    out.add("key " + id + ": key_mismatch (the stored key's " + column + " is not the one its key.* "
                            + "entries imply)");
                    break;
                }
            }
        }
        new java.util.TreeSet<>(entries.keySet()).forEach(id -> {
            if (!seen.contains(id)) {
                out.add("key " + id + ": key_missing (key.* entries name a key the store no longer holds)");
            }
        });
        return out;
    }

    /**
     * The stored refusal summaries against their {@code refusal.summary} entries ({@link #SUMMARY_COLUMNS}): a row
     * that no entry names ({@code refusal_summary_unchained}), one stored twice ({@code refusal_summary_duplicated}), an
     * entry whose row is gone ({@code refusal_summary_missing}), a column that is not the entry's
     * ({@code refusal_summary_mismatch}, naming it).
     */
    static List<String> summaryFaults(Map<String, List<Map<?, ?>>> entries, List<Map<String, String>> rows) {
        List<String> out = new ArrayList<>();
        if (rows == null) {
            return out;
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Map<String, String> row : rows) {
            String id = row.get("id");
            String at = "refusal summary " + id + ": ";
            if (!seen.add(id)) {
                out.add(at + "refusal_summary_duplicated (the store holds more than one summary under this id)");
                continue;
            }
            List<Map<?, ?>> named = entries.get(id);
            if (named == null) {
                out.add(at + "refusal_summary_unchained (a stored summary that no refusal.summary entry names: it was "
                        + "not written by the gateway)");
                continue;
            }
            if (named.size() > 1) {
                out.add(at + "refusal_summary_mismatch (more than one refusal.summary entry names it)");
                continue;
            }
            Map<?, ?> entry = named.get(0);
            for (String column : SUMMARY_COLUMNS) {
                boolean same = "counted".equals(column) ? sameCounts(entry.get(column), row.get(column))
                        : sameValue(column.startsWith("window_"), false, entry.get(column), row.get(column));
                if (!same) {
                    out.add(at + "refusal_summary_mismatch (the stored summary's " + column + " is not the one its "
                            + "entry holds)");
                    break;
                }
            }
        }
        new java.util.TreeSet<>(entries.keySet()).forEach(id -> {
            if (!seen.contains(id)) {
                out.add("refusal summary " + id + ": refusal_summary_missing (a refusal.summary entry names a summary "
                        + "the store no longer holds)");
            }
        });
        return out;
    }

    /** Counts by status: the entry's object against the stored JSON, as sets of status and count. */
    private static boolean sameCounts(Object signed, String stored) {
        if (!(signed instanceof Map<?, ?> m) || stored == null) {
            return signed == null && stored == null;
        }
        Map<String, String> want = new java.util.TreeMap<>();
        m.forEach((k, v) -> want.put(String.valueOf(k), String.valueOf(v)));
        Map<String, String> have = new java.util.TreeMap<>();
        try {
            var node = LISTS.readTree(stored);
            if (!node.isObject()) {
                return false;
            }
            for (var it = node.fields(); it.hasNext(); ) {
                var f = it.next();
                if (!f.getValue().isIntegralNumber()) {
                    return false;
                }
                have.put(f.getKey(), f.getValue().asText());
            }
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
        return want.equals(have);
    }

    /**
     * The stored approvals ({@code audit_approvals}) against their entries, beyond the decisions: the record, rule,
     * reason and approvals required as the {@code approval.held} entry holds them, and the request id, requester and
     * creation time where it holds them (entries written since V29's release); the state that the entries allow
     * (executed, failed, denied, expired, cancelled with their closing entry; approved or executing after
     * {@code approval.approved}; denied after a deny decision; else pending, or expired or cancelled not yet closed); the
     * decision time of the deciding vote (approved, denied), none while pending, else between creation and the closing
     * entry; an execution time only once approved, after the decision and before the closing entry; {@code flagged}
     * exactly with an {@code approval.flagged} entry. The first column that disagrees is {@code approval_mismatch}.
     */
    static List<String> approvalFaults(Map<String, List<Map<?, ?>>> entries, List<Map<String, String>> rows,
                                       java.util.Set<String> skip) {
        List<String> out = new ArrayList<>();
        if (rows == null) {
            return out;
        }
        for (Map<String, String> row : rows) {
            String id = row.get("id");
            List<Map<?, ?>> named = entries.get(id);
            if (named == null || skip.contains(id)) {
                continue; // approval_unchained, or already found
            }
            String column = approvalColumnFault(named, row);
            if (column != null) {
                out.add("approval " + id + ": approval_mismatch (the stored approval's " + column + " is not what its "
                        + "chain entries hold)");
            }
        }
        return out;
    }

    /**
     * Slack for times that two replicas' clocks may have written (an approval held on one, cancelled or claimed on
     * another): 5 s, in microseconds.
     */
    private static final long SKEW_MICROS = 5_000_000L;

    /** The first column of a stored approval that its entries contradict, or null. */
    private static String approvalColumnFault(List<Map<?, ?>> named, Map<String, String> row) {
        Map<?, ?> held = null;
        java.util.Set<String> kinds = new java.util.HashSet<>();
        Map<String, Map<?, ?>> closing = new java.util.HashMap<>();
        java.time.Instant approvedAt = null;
        java.time.Instant deniedAt = null;
        for (Map<?, ?> e : named) {
            String kind = String.valueOf(e.get("entry_kind"));
            kinds.add(kind);
            closing.putIfAbsent(kind, e);
            if ("approval.held".equals(kind) && held == null) {
                held = e;
            }
            if ("approval.decision".equals(kind) && e.get("detail") instanceof Map<?, ?> vote && vote.get("refused") == null) {
                java.time.Instant at = instantOrMin(vote.get("decided_at"));
                if ("approve".equals(vote.get("decision")) && (approvedAt == null || at.isAfter(approvedAt))) {
                    approvedAt = at;
                } else if ("deny".equals(vote.get("decision")) && deniedAt == null) {
                    deniedAt = at;
                }
            }
        }
        if (held == null || !(held.get("detail") instanceof Map<?, ?> detail)) {
            return "state (no approval.held entry)";
        }
        if (!sameValue(false, false, held.get("evidence_id"), row.get("record_id"))) {
            return "record_id";
        }
        for (String c : List.of("rule_id", "reason", "approvals_required")) {
            if (!sameValue(false, false, detail.get(c), row.get(c))) {
                return c;
            }
        }
        for (String c : List.of("request_id", "requester", "created_at")) {
            if (detail.containsKey(c) && !sameValue("created_at".equals(c), false, detail.get(c), row.get(c))) {
                return c;
            }
        }
        String state = row.get("state");
        String end = null;
        java.util.Set<String> allowed;
        if (kinds.contains("approval.executed")) {
            allowed = java.util.Set.of("executed");
            end = "approval.executed";
        } else if (kinds.contains("approval.failed") || kinds.contains("approval.flagged")) {
            allowed = java.util.Set.of("failed");
            end = kinds.contains("approval.failed") ? "approval.failed" : "approval.flagged";
        } else if (kinds.contains("approval.denied")) {
            allowed = java.util.Set.of("denied");
            end = "approval.denied";
        } else if (kinds.contains("approval.expired")) {
            allowed = java.util.Set.of("expired");
            end = "approval.expired";
        } else if (kinds.contains("approval.cancelled")) {
            allowed = java.util.Set.of("cancelled");
            end = "approval.cancelled";
        } else if (kinds.contains("approval.approved")) {
            allowed = java.util.Set.of("approved", "executing");
        } else if (deniedAt != null) {
            allowed = java.util.Set.of("denied");
        } else {
            // expire() and cancel() write no entry: the closing one follows (a crash in between is recovered)
            allowed = java.util.Set.of("pending", "expired", "cancelled");
        }
        if (!allowed.contains(state)) {
            return "state";
        }
        boolean wasApproved = kinds.contains("approval.approved");
        if (wasApproved && (deniedAt != null || java.util.Set.of("denied", "expired", "cancelled").contains(state))) {
            return "state";
        }
        Long created = micros(row.get("created_at"));
        Long decided = micros(row.get("decided_at"));
        Long executed = micros(row.get("executed_at"));
        Long closedAt = end == null ? null : micros(closing.get(end).get("at"));
        java.time.Instant deciding = wasApproved ? approvedAt : "denied".equals(state) ? deniedAt : null;
        if (deciding != null) {
            if (!sameValue(true, false, deciding.toString(), row.get("decided_at"))) {
                return "decided_at";
            }
        } else if ("pending".equals(state)) {
            if (decided != null) {
                return "decided_at";
            }
        } else if (decided == null || created == null || decided < created - SKEW_MICROS
                || (closedAt != null && decided > closedAt + SKEW_MICROS)) {
            return "decided_at";
        }
        if (java.util.Set.of("executing", "executed", "failed").contains(state)) {
            // a claim that failed before it was stored still ends the call as failed, without an execution time
            if (executed == null ? !"failed".equals(state) : decided == null || executed < decided - SKEW_MICROS
                    || (closedAt != null && executed > closedAt + SKEW_MICROS)) {
                return "executed_at";
            }
        } else if (executed != null) {
            return "executed_at";
        }
        boolean flaggedEntry = kinds.contains("approval.flagged");
        if (flaggedEntry ? !"digest_mismatch".equals(row.get("flagged")) : row.get("flagged") != null) {
            return "flagged";
        }
        return null;
    }

    /** A time as microseconds since the epoch: the views' text, or an entry's ISO-8601 instant; null when neither. */
    private static Long micros(Object value) {
        if (value == null) {
            return null;
        }
        String s = String.valueOf(value);
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            try {
                java.time.Instant at = java.time.Instant.parse(s);
                return Math.multiplyExact(at.getEpochSecond(), 1_000_000L) + at.getNano() / 1000;
            } catch (RuntimeException notATime) {
                return null;
            }
        }
    }

    /** What a key's row must say, from its entries: the last one (by its {@code at}) for what every entry holds. */
    private static Map<String, Object> impliedKey(List<Map<?, ?>> named) {
        List<Map<?, ?>> sorted = new ArrayList<>(named);
        java.util.List<String> order = List.of("key.created", "key.expired", "key.revoked");
        sorted.sort(java.util.Comparator.comparing((Map<?, ?> e) -> instantOrMin(e.get("at")))
                .thenComparing(e -> order.indexOf(String.valueOf(e.get("entry_kind")))));
        Map<String, Object> out = new java.util.HashMap<>();
        Map<?, ?> last = sorted.get(sorted.size() - 1);
        for (String column : List.of("name", "owner_subject", "owner_username", "principal_type", "upstreams",
                "models", "budget", "limits", "created_at", "expires_at")) {
            out.put(column, last.get(column));
        }
        for (String column : List.of("client_id", "hint", "secret_digest")) {
            if (last.containsKey(column)) {
                out.put(column, last.get(column));
            }
        }
        out.put("revoked_at", null);
        out.put("revoked_by", null);
        out.put("expiry_recorded", false);
        for (Map<?, ?> e : sorted) {
            switch (String.valueOf(e.get("entry_kind"))) {
                case "key.created" -> out.put("created_by", e.get("actor"));
                case "key.revoked" -> {
                    out.put("revoked_at", e.get("at"));
                    out.put("revoked_by", e.get("actor"));
                }
                case "key.expired" -> out.put("expiry_recorded", true);
                default -> {
                    // another kind of key entry implies nothing of the row
                }
            }
        }
        return out;
    }

    private static java.time.Instant instantOrMin(Object at) {
        try {
            return java.time.Instant.parse(String.valueOf(at));
        } catch (RuntimeException e) {
            return java.time.Instant.MIN;
        }
    }

    /** Whether a stored column (as the view gives it, null for SQL NULL or empty) says what the entry's value says. */
    static boolean sameColumn(String column, Object signed, String stored) {
        return sameValue(INSTANT_COLUMNS.contains(column), LIST_COLUMNS.contains(column), signed, stored);
    }

    /**
     * Whether a stored value says what the entry's value says: a time (microseconds since the epoch, as the views give
     * it), a list (JSON, an empty list the same as none), or anything else as its text, exactly.
     */
    static boolean sameValue(boolean instant, boolean list, Object signed, String stored) {
        if (instant) {
            if (signed == null || "".equals(signed) || stored == null) {
                return (signed == null || "".equals(signed)) && stored == null;
            }
            try {
                java.time.Instant at = java.time.Instant.parse(String.valueOf(signed));
                long micros = Math.multiplyExact(at.getEpochSecond(), 1_000_000L) + at.getNano() / 1000;
                // the store keeps microseconds, rounded from what it was given
                return Math.abs(micros - Long.parseLong(stored)) <= 1;
            } catch (RuntimeException e) {
                return false;
            }
        }
        if (list) {
            List<String> want = new ArrayList<>();
            if (signed instanceof List<?> l) {
                l.forEach(x -> want.add(String.valueOf(x)));
            } else if (signed != null && !"".equals(signed)) {
                return false;
            }
            List<String> have = new ArrayList<>();
            if (stored != null) {
                try {
                    for (var x : LISTS.readTree(stored)) {
                        have.add(x.asText());
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    return false;
                }
            }
            return want.equals(have);
        }
        // exactly: an empty string is not the same as none (coalesce(username, subject) in the reports tells them
        // apart: a NULL username set to '' hides the caller from every report that names callers)
        return java.util.Objects.equals(signed == null ? null : String.valueOf(signed), stored);
    }

    @SuppressWarnings("unchecked")
    private static String payloadFault(Source source, Map<String, Object> entry) {
        if (!"call.terminal".equals(entry.get("kind")) || !(entry.get("record") instanceof Map<?, ?> record)) {
            return null;
        }
        // a request or response that is there but not an object is no digest at all: never cast blindly (a forged,
        // canonical entry would otherwise turn TAMPERED into an exception)
        if ((record.get("request") != null && !(record.get("request") instanceof Map<?, ?>))
                || (record.get("response") != null && !(record.get("response") instanceof Map<?, ?>))) {
            return "record_mismatch (the terminal record's request or response is not a JSON object)";
        }
        Map<String, String> stored = source.payloadDigests(String.valueOf(record.get("id")));
        Map<String, Object> req = (Map<String, Object>) record.get("request");
        Map<String, Object> res = (Map<String, Object>) record.get("response");
        String reqDigest = stored.get("request");
        // a refused call's body kept in part: the stored prefix is checked against its own digest
        Object reqExpected = req == null ? null
                : Boolean.TRUE.equals(req.get("truncated")) ? req.get("stored_sha256") : req.get("sha256");
        if (reqDigest != null && reqExpected != null && !reqDigest.equals(reqExpected)) {
            return "payload_digest_mismatch (request)";
        }
        String rawDigest = stored.get("raw");
        if (rawDigest != null && res != null && res.get("raw_sha256") != null && !rawDigest.equals(res.get("raw_sha256"))) {
            return "payload_digest_mismatch (raw response)";
        }
        String resDigest = stored.get("response");
        if (resDigest != null && res != null && res.get("sha256") != null && !Boolean.TRUE.equals(res.get("truncated"))
                && !resDigest.equals(res.get("sha256"))) {
            return "payload_digest_mismatch (response)";
        }
        return null;
    }
}
