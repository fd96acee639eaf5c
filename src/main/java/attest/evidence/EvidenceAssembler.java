package attest.evidence;

import attest.Exchanges;
import attest.RandomIds;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.identity.Identity;
import attest.identity.InvalidTokenException;
import attest.ingress.UpstreamTarget;
import attest.policy.Decision;
import attest.policy.RequestFacts;
import attest.policy.Verdict;
import attest.upstream.UpstreamResponse;
import org.apache.camel.Exchange;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * Fills a call's evidence record from what the stages left on the exchange. Each stage only sets its
 * own property; this is the one place that knows how they map to the record.
 */
public final class EvidenceAssembler {
    private static final int MAX_PATH = 2048;
    /** Default of {@code attest.evidence.denied-body-bytes}. */
    public static final int DENIED_BODY_BYTES = 4096;
    private final String instanceId;
    private final int deniedBodyBytes;

    public EvidenceAssembler(String instanceId) {
        this(instanceId, DENIED_BODY_BYTES);
    }

    /**
     * @param deniedBodyBytes the most of a refused call's body that its evidence keeps (a denial's 403, and every
     *                        other refusal before forwarding that is not in {@link #REFUSED}); 0 keeps none
     */
    public EvidenceAssembler(String instanceId, int deniedBodyBytes) {
        if (deniedBodyBytes < 0) {
            throw new IllegalArgumentException("attest.evidence.denied-body-bytes must be 0 or more");
        }
        this.instanceId = instanceId;
        this.deniedBodyBytes = deniedBodyBytes;
    }

    /**
     * The request-target's path as evidence records it: without the query, and without a fragment (no client sends
     * one, but a refused target may carry it, and with it whatever a query would, a credential included).
     */
    static String withoutQuery(String target) {
        int end = target.length();
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c == '?' || c == '#') {
                end = i;
                break;
            }
        }
        return target.substring(0, end);
    }

    /** A new record for a call that has just arrived. */
    public EvidenceRecord begin(String requestId, Instant receivedAt, InboundRequest in) {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(RandomIds.uuid());
        r.setRequestId(requestId);
        r.setInstanceId(instanceId);
        r.setState(EvidenceRecord.OPEN);
        r.setReceivedAt(receivedAt);
        r.setSourceAddress(in.sourceAddress());
        r.setMethod(in.method());
        String path = withoutQuery(in.uri());
        r.setPath(path.length() > MAX_PATH ? path.substring(0, MAX_PATH) : path);
        byte[] body = in.body() == null ? new byte[0] : in.body();
        r.setRequestBody(body);
        r.setRequestSize((long) body.length);
        r.setRequestSha256(sha256(body));
        return r;
    }

    /**
     * Statuses that refuse a request before it is considered: its evidence keeps the body's size and digest,
     * never the body (and not the gateway's own error body either), so a flood of refusals cannot fill the store.
     */
    public static final java.util.Set<Integer> REFUSED = java.util.Set.of(400, 401, 408, 413, 414, 429, 431, 503);

    /** Whether a record with this status keeps no payloads (see {@link #REFUSED}). */
    public static boolean refused(Integer status) {
        return status != null && REFUSED.contains(status);
    }

    /**
     * A terminal record for a request refused by the HTTP layer before any route saw it (no valid token,
     * bad framing, oversized headers, too slow, over a connection or buffer limit): metadata, the declared
     * size and (when the body was read) its digest; never a body.
     */
    public EvidenceRecord refusal(attest.http.RefusedRequest q, Instant at) {
        Instant now = at.truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        // every value the caller chose is bounded, so that a refusal's stored bytes stay bounded (docs/security.md)
        EvidenceRecord r = refused(q.status(), bounded(q.reason(), 64), bounded(q.method(), 8),
                bounded(q.target(), REFUSED_PATH), bounded(q.source(), 45), now);
        r.setRequestId(q.requestId() != null && q.requestId().length() <= 40 ? bounded(q.requestId(), 40)
                : RandomIds.uuid().toString());
        boolean unauthenticated = q.status() == 401 || "keys_unavailable".equals(q.code());
        if (unauthenticated) { // who asked could not be established
            r.setAuthError(bounded(q.authError(), 36));
            r.setReason(null); // the auth error says why
        }
        if (q.subject() != null) { // too_many_denials: who was refused (a token's subject, or a key's owner)
            r.setSubject(bounded(q.subject(), 255));
        }
        if (q.keyId() != null) { // too_many_denials of a virtual key: the key, as its calls name it
            r.setKeyId(q.keyId());
        }
        r.setErrorCode(q.code() == null ? "bad_request" : q.code());
        // a declared length past 2^53 is not a size (and not representable in canonical JSON): unknown
        r.setRequestSize(q.declaredSize() != null && q.declaredSize() <= 9_007_199_254_740_991L ? q.declaredSize() : null);
        r.setRequestSha256(q.sha256());
        // the answer was the gateway's own fixed error body: nothing of it is evidence; never streamed, no duration
        r.setStreamed(null);
        r.terminate(unauthenticated ? Outcome.UNAUTHENTICATED : Outcome.DENIED, now, null);
        return r;
    }

    /** Longest path kept for a request refused by the HTTP layer (characters). */
    public static final int REFUSED_PATH = 48;

    /** At most {@code max} characters of a value that the caller may have chosen, control characters replaced. */
    private static String bounded(String v, int max) {
        if (v == null) {
            return null;
        }
        String b = attest.http.RefusedRequest.boundTarget(v);
        return b.length() > max ? b.substring(0, max) : b;
    }

    /** A terminal record for a request refused by the HTTP layer (bad framing, oversized headers, too slow). */
    public EvidenceRecord protocolRefusal(int status, String reason, String method, String target, String source,
                                          Instant now) {
        EvidenceRecord r = refused(status, reason, method, target, source, now);
        r.terminate(Outcome.DENIED, now);
        return r;
    }

    /** The record of a request refused by the HTTP layer, filled but not yet terminal. */
    private EvidenceRecord refused(int status, String reason, String method, String target, String source,
                                   Instant now) {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(RandomIds.uuid());
        r.setRequestId(RandomIds.uuid().toString());
        r.setInstanceId(instanceId);
        r.setReceivedAt(now);
        r.setSourceAddress(source);
        r.setMethod(method);
        if (target != null) {
            String path = attest.http.RefusedRequest.boundTarget(withoutQuery(target));
            r.setPath(path);
        }
        r.setDecision(Verdict.DENY.name());
        r.setRuleId("ingress");
        r.setReason(reason);
        r.setStatus(status);
        r.setErrorCode("bad_request");
        r.setStreamed(false);
        return r;
    }

    /** Copies identity, target, facts and decision into the record. */
    public void fill(EvidenceRecord r, Exchange exchange) {
        String correlation = exchange.getProperty(Exchanges.CORRELATION_ID, String.class);
        if (correlation != null) {
            r.setCorrelationId(correlation);
        }
        Identity id = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        if (id != null) {
            r.setSubject(id.subject());
            r.setUsername(id.username());
            r.setPrincipalType(id.principalType());
            r.setClientId(id.clientId());
            r.setRealmRoles(id.roles().toArray(String[]::new));
            r.setGroups(id.groups().toArray(String[]::new));
            r.setTokenId(id.tokenId());
            r.setIssuer(id.issuer());
        }
        attest.keys.VirtualKey key = exchange.getProperty(Exchanges.KEY, attest.keys.VirtualKey.class);
        if (key != null) {
            r.setKeyId(key.id());
        }
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        if (target != null) {
            r.setUpstream(target.upstream().name());
        }
        RequestFacts facts = exchange.getProperty(Exchanges.FACTS, RequestFacts.class);
        if (facts != null) {
            r.setModel(facts.model());
        }
        byte[] forwarded = exchange.getProperty(Exchanges.FORWARD_BODY, byte[].class);
        if (forwarded != null) {
            // request masking changed what the upstream got
            r.setForwardedSha256(sha256(forwarded));
        }
        Decision d = exchange.getProperty(Exchanges.DECISION, Decision.class);
        if (d != null) {
            r.setDecision(d.verdict().name());
            r.setRuleId(d.ruleId());
            r.setReason(d.reason());
            r.setRulesVersion(exchange.getProperty(Exchanges.RULES_VERSION, String.class));
        }
    }

    /**
     * Fills the record from the call's final state (error, decision or upstream answer) and returns the outcome the
     * call ended with. It does not make the record terminal: the caller does, with its end
     * ({@link EvidenceEvents#terminate}, which builds the event from the record as it then is).
     */
    public Outcome settle(EvidenceRecord r, Exchange exchange, byte[] delivered) {
        fill(r, exchange);
        GatewayException error = exchange.getProperty(Exchanges.ERROR, GatewayException.class);
        Decision d = exchange.getProperty(Exchanges.DECISION, Decision.class);
        UpstreamResponse up = exchange.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class);
        Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        if (up != null) {
            r.setUpstreamStatus(up.status());
            if (up.firstByteAt() != null) {
                r.setFirstByteAt(up.firstByteAt());
            }
        }
        Outcome outcome;
        if (error != null) {
            outcome = error.outcome();
            r.setErrorCode(error.code());
            if (error instanceof InvalidTokenException ite) {
                r.setAuthError(ite.reason());
            }
            if (d == null && outcome == Outcome.DENIED) {
                r.setDecision(Verdict.DENY.name());
                r.setRuleId("ingress");
                r.setReason(error.getMessage());
            }
        } else if (d != null && d.verdict() != Verdict.ALLOW && r.getApprovalId() == null) {
            outcome = Outcome.DENIED;
        } else if (callerGone(exchange)) {
            // the upstream answered, but the caller left before the answer could be delivered
            outcome = Outcome.CLIENT_ABORTED;
        } else {
            outcome = Outcome.COMPLETED;
        }
        if (outcome == Outcome.EVIDENCE_UNAVAILABLE) {
            outcome = Outcome.UPSTREAM_ERROR;
        }
        r.setStatus(status);
        r.setStreamed(false);
        byte[] body = delivered == null ? new byte[0] : delivered;
        r.setResponseBody(body);
        r.setResponseSize((long) body.length);
        r.setResponseSha256(sha256(body));
        r.setResponseTruncated(false);
        masking(r, exchange);
        attest.usage.UsageMeter usage = exchange.getProperty(Exchanges.USAGE, attest.usage.UsageMeter.class);
        if (usage != null && r.getForwardedAt() != null) {
            r.setUsage(usage);
        }
        if (r.getRawResponseSha256() == null && up != null && up.body() != null && outcome != Outcome.COMPLETED) {
            // an answer that was not delivered (upstream error, blocked): its raw digest is still evidence
            r.setRawResponseSha256(sha256(up.body()));
            r.setRawResponseSize((long) up.body().length);
            r.setRawResponseBody(up.body());
        }
        boolean refusedByGateway = error != null || d != null && d.verdict() == Verdict.DENY;
        if (refusedByGateway && refused(status) && r.getForwardedAt() == null && r.getApprovalId() == null) {
            // a request the gateway refused (an error, or a policy refusal such as a rule's 413 body limit or 429
            // rate; not an upstream's answer with the same status) is evidence of its metadata, size and digest:
            // never of its body
            r.setRequestBody(null);
            r.setResponseBody(null);
            r.setRawResponseBody(null);
        } else if (refusedByGateway && r.getForwardedAt() == null && r.getApprovalId() == null) {
            // any other refusal before forwarding (a denial's 403 above all: a signed-in user with no role, or a
            // rule's deny) is evidence of who asked what, but not a store for the caller's megabytes: the whole
            // body's size and digest, and at most deniedBodyBytes of it, marked truncated
            keepPrefix(r);
        }
        return outcome;
    }

    /**
     * Keeps at most {@link #deniedBodyBytes} of the request body, cut before a UTF-8 continuation byte (so up to 3
     * bytes fewer). When it cuts, the record says so: the kept
     * prefix's size and SHA-256 beside the whole body's ({@code request_size}, {@code request_sha256}, unchanged).
     */
    private void keepPrefix(EvidenceRecord r) {
        byte[] body = r.getRequestBody();
        if (body == null || body.length <= deniedBodyBytes) {
            return;
        }
        int cut = deniedBodyBytes;
        // never inside a UTF-8 sequence (at most 3 continuation bytes back), so that a text body's prefix is text
        for (int back = 0; back < 3 && cut > 0 && (body[cut] & 0xC0) == 0x80; back++) {
            cut--;
        }
        byte[] prefix = java.util.Arrays.copyOf(body, cut);
        r.setRequestBody(prefix);
        r.setRequestTruncated(true);
        r.setRequestStoredSize((long) prefix.length);
        r.setRequestStoredSha256(sha256(prefix));
    }

    /** Copies the masking report, the exemption and the raw body's digest into the record. */
    public static void masking(EvidenceRecord r, Exchange exchange) {
        masking(r, exchange.getProperty(Exchanges.MASKING, attest.masking.MaskingOutcome.class));
    }

    /** Copies a masking outcome (if any) into the record. */
    public static void masking(EvidenceRecord r, attest.masking.MaskingOutcome m) {
        if (m == null) {
            return;
        }
        r.setMaskingRuleSet(m.ruleSet());
        r.setMaskingExempt(m.exempt());
        r.setMaskingReport(m.reportJson());
        if (m.rawSha256() != null) {
            r.setRawResponseSha256(m.rawSha256());
            r.setRawResponseSize(m.rawSize());
        }
        if (m.rawBody() != null) {
            r.setRawResponseBody(m.rawBody());
        }
    }

    private static boolean callerGone(Exchange exchange) {
        Object ctx = exchange.getMessage().getHeader(org.apache.camel.component.netty.NettyConstants.NETTY_CHANNEL_HANDLER_CONTEXT);
        return ctx instanceof io.netty.channel.ChannelHandlerContext c && !c.channel().isActive();
    }

    public static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
