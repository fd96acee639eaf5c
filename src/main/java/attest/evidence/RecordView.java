package attest.evidence;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static attest.evidence.RecordView.Carry.ALWAYS;
import static attest.evidence.RecordView.Carry.CUT;
import static attest.evidence.RecordView.Carry.NEVER;
import static attest.evidence.RecordView.Carry.PRESENT;
import static attest.evidence.RecordView.Carry.SET;
import static attest.evidence.RecordView.Carry.TRUE;
import static attest.evidence.RecordView.Section.DECISION;
import static attest.evidence.RecordView.Section.IDENTITY;
import static attest.evidence.RecordView.Section.MASKING;
import static attest.evidence.RecordView.Section.RECORD;
import static attest.evidence.RecordView.Section.REQUEST;
import static attest.evidence.RecordView.Section.RESPONSE;

/**
 * The one view of a call's evidence record that both its chain entry ({@code ChainRecords.call}, the canonical body
 * {@link #chainBody}) and its Kafka event ({@link EvidenceEvents#terminal}, the {@code record} member
 * {@link #writeEvent}) are rendered from. Each {@link Member} is one thing the record says: its name, its value (one
 * function of the record for both views) and, as data, where each view puts it and when each view carries it. What
 * the two views differ in is read off the table, not off two hand-written renderers: the chain carries {@code state},
 * {@code identity.auth_error}, {@code request.forwarded_sha256}, a cut body's {@code stored_size} and
 * {@code stored_sha256}, the plain {@code response.raw_sha256}, {@code response.stream_timings} and {@code masking}
 * as {@code {rule_set, exempt, report}}, puts {@code status}, {@code upstream_status} and {@code error_code} under
 * {@code response}, and always has {@code approval_id}; the event carries {@code correlation_id} (when set), the
 * keyed {@code response.raw_hmac_sha256}, {@code masking} as the report read (when a rule set applied) and
 * {@code approval_id} only when set. {@code RecordViewsAgreeTest} holds the two to agreeing on the rest. A refusal's
 * event ({@link EvidenceEvents#refusal}) is a third rendering of the same table, its own column: the event's members a
 * refusal has, only when present ({@link Carry#PRESENT}), the identity last ({@link #writeRefusal}).
 * <p>Both renderings walk precomputed member lists: the event's in the table's order (its pinned bytes), the chain's
 * in its canonical order (members sorted by name, so that {@code Canonical.of} finds every object in order and sorts
 * nothing). A member's value is computed only by a view that carries it (the keyed digest and the report's parse by
 * the event alone).
 */
public final class RecordView {
    private RecordView() {
    }

    /** When a view carries a member. */
    public enum Carry {
        /** Always, a missing value as null. */
        ALWAYS,
        /** Only when it has a value. */
        SET,
        /** Only when it is {@code true} (as {@code true}). */
        TRUE,
        /** Only when the request's body was cut ({@code request.truncated}), a missing value as null. */
        CUT,
        /**
         * Only when it has a value that is not empty (a refusal's event): no null, no usage without a value, no report
         * empty once its nulls and empty lists are left out ({@link Compact#strip}).
         */
        PRESENT,
        /** Never. */
        NEVER
    }

    /** Where a member sits: in the record itself, or in one of its objects. */
    public enum Section {
        RECORD(null), IDENTITY("identity"), REQUEST("request"), DECISION("decision"), RESPONSE("response"),
        MASKING("masking");

        private final String key;

        Section(String key) {
            this.key = key;
        }

        /** The object's member name; null for the record itself. */
        public String member() {
            return key;
        }
    }

    /**
     * Every member of a call's record in either view, in the event's order. A member the chain puts elsewhere names
     * its chain section apart.
     */
    public enum Member {
        ID(RECORD, "id", ALWAYS, ALWAYS, PRESENT),
        REQUEST_ID(RECORD, "request_id", ALWAYS, ALWAYS, PRESENT),
        CORRELATION_ID(RECORD, "correlation_id", NEVER, SET, PRESENT),
        INSTANCE_ID(RECORD, "instance_id", ALWAYS, ALWAYS, NEVER),
        STATE(RECORD, "state", ALWAYS, NEVER, NEVER),
        APPROVAL_ID(RECORD, "approval_id", ALWAYS, SET, PRESENT),
        OUTCOME(RECORD, "outcome", ALWAYS, ALWAYS, PRESENT),
        STATUS(RESPONSE, RECORD, "status", ALWAYS, ALWAYS, PRESENT),
        UPSTREAM_STATUS(RESPONSE, RECORD, "upstream_status", ALWAYS, ALWAYS, PRESENT),
        ERROR_CODE(RESPONSE, RECORD, "error_code", ALWAYS, ALWAYS, PRESENT),
        RECEIVED_AT(RECORD, "received_at", ALWAYS, ALWAYS, PRESENT),
        FORWARDED_AT(RECORD, "forwarded_at", ALWAYS, ALWAYS, PRESENT),
        FIRST_BYTE_AT(RECORD, "first_byte_at", ALWAYS, ALWAYS, PRESENT),
        COMPLETED_AT(RECORD, "completed_at", ALWAYS, ALWAYS, NEVER),
        DURATION_MS(RECORD, "duration_ms", ALWAYS, ALWAYS, PRESENT),
        SOURCE_ADDRESS(RECORD, "source_address", ALWAYS, ALWAYS, PRESENT),
        SUBJECT(IDENTITY, "subject", ALWAYS, ALWAYS, PRESENT),
        USERNAME(IDENTITY, "username", ALWAYS, ALWAYS, NEVER),
        PRINCIPAL_TYPE(IDENTITY, "principal_type", ALWAYS, ALWAYS, NEVER),
        CLIENT_ID(IDENTITY, "client_id", ALWAYS, ALWAYS, NEVER),
        REALM_ROLES(IDENTITY, "realm_roles", ALWAYS, ALWAYS, NEVER),
        GROUPS(IDENTITY, "groups", ALWAYS, ALWAYS, NEVER),
        TOKEN_ID(IDENTITY, "token_id", ALWAYS, ALWAYS, NEVER),
        ISSUER(IDENTITY, "issuer", ALWAYS, ALWAYS, NEVER),
        AUTH_ERROR(IDENTITY, "auth_error", ALWAYS, NEVER, NEVER),
        KEY_ID(IDENTITY, "key_id", SET, SET, PRESENT),
        METHOD(REQUEST, "method", ALWAYS, ALWAYS, PRESENT),
        PATH(REQUEST, "path", ALWAYS, ALWAYS, PRESENT),
        UPSTREAM(REQUEST, "upstream", ALWAYS, ALWAYS, PRESENT),
        MODEL(REQUEST, "model", ALWAYS, ALWAYS, PRESENT),
        REQUEST_SIZE(REQUEST, "size", ALWAYS, ALWAYS, PRESENT),
        REQUEST_SHA256(REQUEST, "sha256", ALWAYS, ALWAYS, NEVER),
        FORWARDED_SHA256(REQUEST, "forwarded_sha256", ALWAYS, NEVER, NEVER),
        /** Only in records that keep a bounded prefix of a refused call's body: size and sha256 stay the whole's. */
        REQUEST_TRUNCATED(REQUEST, "truncated", TRUE, TRUE, TRUE),
        STORED_SIZE(REQUEST, "stored_size", CUT, NEVER, NEVER),
        STORED_SHA256(REQUEST, "stored_sha256", CUT, NEVER, NEVER),
        VERDICT(DECISION, "verdict", ALWAYS, ALWAYS, NEVER),
        RULE_ID(DECISION, "rule_id", ALWAYS, ALWAYS, NEVER),
        REASON(DECISION, "reason", ALWAYS, ALWAYS, NEVER),
        /** Absent for calls no rule decided, and in records before V21. */
        RULES_VERSION(DECISION, "rules_version", SET, SET, NEVER),
        STREAMED(RESPONSE, "streamed", ALWAYS, ALWAYS, NEVER),
        RESPONSE_SIZE(RESPONSE, "size", ALWAYS, ALWAYS, NEVER),
        RESPONSE_SHA256(RESPONSE, "sha256", ALWAYS, ALWAYS, NEVER),
        RESPONSE_TRUNCATED(RESPONSE, "truncated", ALWAYS, ALWAYS, NEVER),
        RAW_SIZE(RESPONSE, "raw_size", ALWAYS, ALWAYS, NEVER),
        /** The plain digest of the raw answer: the chain's, which only store readers see. */
        RAW_SHA256(RESPONSE, "raw_sha256", ALWAYS, NEVER, NEVER),
        /** The same digest keyed ({@link EvidenceEvents#keyed}): the event's, so that a topic reader cannot guess. */
        RAW_HMAC_SHA256(RESPONSE, "raw_hmac_sha256", NEVER, ALWAYS, NEVER),
        STREAM_TIMINGS(RESPONSE, "stream_timings", ALWAYS, NEVER, NEVER),
        /** The usage's members ({@link EvidenceRecord#usageMap}), when the record has a usage status. */
        USAGE(RECORD, "usage", SET, SET, PRESENT),
        MASKING_RULE_SET(MASKING, "rule_set", ALWAYS, NEVER, NEVER),
        MASKING_EXEMPT(MASKING, "exempt", ALWAYS, NEVER, NEVER),
        MASKING_REPORT(MASKING, "report", ALWAYS, NEVER, NEVER),
        /** The event's masking: the report read, when a rule set applied (an empty report as null). */
        MASKING_REPORT_READ(RECORD, "masking", NEVER, SET, PRESENT);

        private final Section chainSection;
        private final Section eventSection;
        private final String key;
        private final Carry chain;
        private final Carry event;
        private final Carry refusal;

        Member(Section section, String name, Carry chain, Carry event, Carry refusal) {
            this(section, section, name, chain, event, refusal);
        }

        Member(Section chainSection, Section eventSection, String name, Carry chain, Carry event, Carry refusal) {
            this.chainSection = chainSection;
            this.eventSection = eventSection;
            this.key = name;
            this.chain = chain;
            this.event = event;
            this.refusal = refusal;
        }

        public String member() {
            return key;
        }

        public Section chainSection() {
            return chainSection;
        }

        public Section eventSection() {
            return eventSection;
        }

        public Carry chain() {
            return chain;
        }

        public Carry event() {
            return event;
        }

        /** When a refusal's event ({@link EvidenceEvents#refusal}) carries it. */
        public Carry refusal() {
            return refusal;
        }

        /** The member's value in the record: one for both views (text, numbers, flags, the roles' array, a map). */
        Object value(EvidenceRecord r) {
            return switch (this) {
                case ID -> r.getId().toString();
                case REQUEST_ID -> r.getRequestId();
                case CORRELATION_ID -> r.getCorrelationId();
                case INSTANCE_ID -> r.getInstanceId();
                case STATE -> r.getState();
                case APPROVAL_ID -> r.getApprovalId() == null ? null : r.getApprovalId().toString();
                case OUTCOME -> r.getOutcome();
                case STATUS -> r.getStatus();
                case UPSTREAM_STATUS -> r.getUpstreamStatus();
                case ERROR_CODE -> r.getErrorCode();
                case RECEIVED_AT -> attest.text.IsoInstant.of(r.getReceivedAt());
                case FORWARDED_AT -> attest.text.IsoInstant.of(r.getForwardedAt());
                case FIRST_BYTE_AT -> attest.text.IsoInstant.of(r.getFirstByteAt());
                case COMPLETED_AT -> attest.text.IsoInstant.of(r.getCompletedAt());
                case DURATION_MS -> r.getDurationMs();
                case SOURCE_ADDRESS -> r.getSourceAddress();
                case SUBJECT -> r.getSubject();
                case USERNAME -> r.getUsername();
                case PRINCIPAL_TYPE -> r.getPrincipalType();
                case CLIENT_ID -> r.getClientId();
                case REALM_ROLES -> orNone(r.getRealmRoles());
                case GROUPS -> orNone(r.getGroups());
                case TOKEN_ID -> r.getTokenId();
                case ISSUER -> r.getIssuer();
                case AUTH_ERROR -> r.getAuthError();
                case KEY_ID -> r.getKeyId() == null ? null : r.getKeyId().toString();
                case METHOD -> r.getMethod();
                case PATH -> r.getPath();
                case UPSTREAM -> r.getUpstream();
                case MODEL -> r.getModel();
                case REQUEST_SIZE -> r.getRequestSize();
                case REQUEST_SHA256 -> r.getRequestSha256();
                case FORWARDED_SHA256 -> r.getForwardedSha256();
                case REQUEST_TRUNCATED -> r.getRequestTruncated();
                case STORED_SIZE -> r.getRequestStoredSize();
                case STORED_SHA256 -> r.getRequestStoredSha256();
                case VERDICT -> r.getDecision();
                case RULE_ID -> r.getRuleId();
                case REASON -> r.getReason();
                case RULES_VERSION -> r.getRulesVersion();
                case STREAMED -> r.getStreamed();
                case RESPONSE_SIZE -> r.getResponseSize();
                case RESPONSE_SHA256 -> r.getResponseSha256();
                case RESPONSE_TRUNCATED -> r.getResponseTruncated();
                case RAW_SIZE -> r.getRawResponseSize();
                case RAW_SHA256 -> r.getRawResponseSha256();
                case RAW_HMAC_SHA256 -> EvidenceEvents.keyed(r.getRawResponseSha256());
                case STREAM_TIMINGS -> r.getStreamTimings();
                case USAGE -> r.getUsageStatus() == null ? null : r.usageMap();
                case MASKING_RULE_SET -> r.getMaskingRuleSet();
                case MASKING_EXEMPT -> r.getMaskingExempt();
                case MASKING_REPORT -> r.getMaskingReport();
                case MASKING_REPORT_READ -> EvidenceEvents.report(r);
            };
        }
    }

    private static final String[] NONE = new String[0];

    /** A list member: none is empty in both views. */
    private static String[] orNone(String[] a) {
        return a == null ? NONE : a;
    }

    /** Whether a view that carries a member so carries it in this record, whose value is {@code v}. */
    private static boolean carried(Carry c, Object v, EvidenceRecord r) {
        return switch (c) {
            case ALWAYS -> true;
            case SET -> v != null;
            case TRUE -> Boolean.TRUE.equals(v);
            case CUT -> Boolean.TRUE.equals(r.getRequestTruncated());
            case PRESENT -> v instanceof Map<?, ?> m ? m.values().stream().anyMatch(java.util.Objects::nonNull)
                    : v instanceof JsonNode n ? !n.isMissingNode() && !Compact.strip(n) : v != null;
            case NEVER -> false;
        };
    }

    private static final Member[] MEMBERS = Member.values();
    /** The event's members, in its order. */
    private static final Member[] EVENT = Arrays.stream(MEMBERS).filter(m -> m.event != NEVER).toArray(Member[]::new);
    /** A refusal's event's members: the event's order, but the identity (a verified caller's) last. */
    private static final Member[] REFUSAL = java.util.stream.Stream.concat(
            Arrays.stream(MEMBERS).filter(m -> m.refusal != NEVER && m.eventSection != IDENTITY),
            Arrays.stream(MEMBERS).filter(m -> m.refusal != NEVER && m.eventSection == IDENTITY))
            .toArray(Member[]::new);
    /** The chain's members of each section (by ordinal), sorted by name. */
    private static final Member[][] CHAIN_IN = new Member[Section.values().length][];
    /** The chain's top level, sorted by name: its own members and (as {@link Section}s) its objects. */
    private static final Object[] CHAIN_TOP;

    static {
        for (Section s : Section.values()) {
            CHAIN_IN[s.ordinal()] = Arrays.stream(MEMBERS).filter(m -> m.chain != NEVER && m.chainSection == s)
                    .sorted(Comparator.comparing(Member::member)).toArray(Member[]::new);
        }
        List<Object> top = new ArrayList<>(Arrays.asList(CHAIN_IN[RECORD.ordinal()]));
        for (Section s : Section.values()) {
            if (s != RECORD && CHAIN_IN[s.ordinal()].length > 0) {
                top.add(s);
            }
        }
        top.sort(Comparator.comparing(x -> x instanceof Member m ? m.member() : ((Section) x).member()));
        CHAIN_TOP = top.toArray();
    }

    /**
     * The chain entry's body of a call's record: every member the chain carries, its objects always present, built
     * in canonical order. Integers are longs and arrays lists (none: empty), as the chain reads them back.
     */
    public static Map<String, Object> chainBody(EvidenceRecord r) {
        Map<String, Object> body = new LinkedHashMap<>(room(CHAIN_TOP.length));
        for (Object x : CHAIN_TOP) {
            if (x instanceof Member m) {
                chain(body, m, r);
            } else {
                Member[] in = CHAIN_IN[((Section) x).ordinal()];
                Map<String, Object> o = new LinkedHashMap<>(room(in.length));
                for (Member m : in) {
                    chain(o, m, r);
                }
                body.put(((Section) x).member(), o);
            }
        }
        return body;
    }

    /** The members the chain carries only under a condition ({@link Carry#SET}, {@link Carry#TRUE}, {@link Carry#CUT}). */
    private static final Member[] CONDITIONAL = Arrays.stream(MEMBERS)
            .filter(m -> m.chain == SET || m.chain == TRUE || m.chain == CUT).toArray(Member[]::new);

    /**
     * The first member that a record holds but its chain entry would leave out, or null when the entry says all that
     * the record's row will: a {@link Carry#TRUE} member that is false, a {@link Carry#CUT} one of a body not cut, a
     * usage's counts without its status ({@link Carry#SET}). The row stores what the record holds and the verifier
     * compares the row with its entry ({@code record_mismatch}), so such a record would read as tampered with: the
     * writer refuses it, as a record with no canonical form. The gateway writes none (the assembler sets
     * {@code request_truncated} only as true with the prefix's size and digest, and a usage always with its status).
     */
    public static String unchained(EvidenceRecord r) {
        for (Member m : CONDITIONAL) {
            boolean held = m == Member.USAGE ? r.usageMap().values().stream().anyMatch(java.util.Objects::nonNull)
                    : m.value(r) != null;
            if (held && !carried(m.chain, m.value(r), r)) {
                return m.chainSection == RECORD ? m.key : m.chainSection.member() + "." + m.key;
            }
        }
        return null;
    }

    /** A map's initial capacity that holds {@code n} members without growing. */
    private static int room(int n) {
        return (int) Math.ceil(n / 0.75);
    }

    private static void chain(Map<String, Object> into, Member m, EvidenceRecord r) {
        Object v = m.value(r);
        if (!carried(m.chain, v, r)) {
            return;
        }
        if (v instanceof Integer i) {
            v = i.longValue();
        } else if (v instanceof String[] a) {
            v = Arrays.asList(a);
        }
        into.put(m.key, v);
    }

    /**
     * Writes the event's {@code record} member: every member the event carries, in its order, its objects opened as
     * their first member comes.
     */
    static void writeEvent(EvidenceRecord r, JsonGenerator g) throws IOException {
        write(r, g, EVENT, false);
    }

    /**
     * Writes a refusal's event's {@code record} member: the members a refusal's event carries when they have a value,
     * in the event's order but the identity last; an object without a member left out.
     */
    static void writeRefusal(EvidenceRecord r, JsonGenerator g) throws IOException {
        write(r, g, REFUSAL, true);
    }

    private static void write(EvidenceRecord r, JsonGenerator g, Member[] members, boolean refusal)
            throws IOException {
        g.writeObjectFieldStart("record");
        Section open = RECORD;
        for (Member m : members) {
            Object v = m.value(r);
            if (!carried(refusal ? m.refusal : m.event, v, r)) {
                continue;
            }
            if (m.eventSection != open) {
                if (open != RECORD) {
                    g.writeEndObject();
                }
                open = m.eventSection;
                if (open != RECORD) {
                    g.writeObjectFieldStart(open.member());
                }
            }
            g.writeFieldName(m.key);
            write(g, v, m, refusal);
        }
        if (open != RECORD) {
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    @SuppressWarnings("unchecked")
    private static void write(JsonGenerator g, Object v, Member m, boolean compact) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Integer i) {
            g.writeNumber(i);
        } else if (v instanceof Long n) {
            g.writeNumber(n);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof String[] a) {
            g.writeStartArray();
            for (String x : a) {
                write(g, x, m, compact);
            }
            g.writeEndArray();
        } else if (v instanceof Map<?, ?> map) {
            g.writeStartObject();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) map).entrySet()) {
                Object x = e.getValue();
                if (x == null && compact) {
                    continue;
                }
                g.writeFieldName(e.getKey());
                write(g, x == null || x instanceof Long ? x : x.toString(), m, compact);
            }
            g.writeEndObject();
        } else if (v instanceof JsonNode n) {
            if (n.isMissingNode()) { // an empty report reads as missing, which the tree wrote as null
                g.writeNull();
            } else {
                g.writeTree(n);
            }
        } else {
            throw new IllegalArgumentException("no event form for " + m);
        }
    }
}
