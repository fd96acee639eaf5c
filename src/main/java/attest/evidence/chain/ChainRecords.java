package attest.evidence.chain;

import attest.evidence.EvidenceRecord;

import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What of a call's evidence record goes into the chain: every field except the bodies, which the chain
 * covers by their SHA-256 digests (of the plaintext), so that purging a body never breaks verification.
 * A forwarded call appears twice: {@code call.open} before forwarding and {@code call.terminal} at its end;
 * a refused call once, terminal.
 */
public final class ChainRecords {
    private ChainRecords() {
    }

    public static EvidenceChain.Entry call(EvidenceRecord r, Instant at) {
        String kind = EvidenceRecord.TERMINAL.equals(r.getState()) ? "call.terminal" : "call.open";
        return new EvidenceChain.Entry(kind, r.getId(), at, body(r));
    }

    static Map<String, Object> body(EvidenceRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.getId().toString());
        m.put("request_id", r.getRequestId());
        m.put("instance_id", r.getInstanceId());
        m.put("state", r.getState());
        m.put("outcome", r.getOutcome());
        m.put("approval_id", r.getApprovalId() == null ? null : r.getApprovalId().toString());
        m.put("received_at", str(r.getReceivedAt()));
        m.put("forwarded_at", str(r.getForwardedAt()));
        m.put("first_byte_at", str(r.getFirstByteAt()));
        m.put("completed_at", str(r.getCompletedAt()));
        m.put("duration_ms", r.getDurationMs());
        m.put("source_address", r.getSourceAddress());
        Map<String, Object> id = new LinkedHashMap<>();
        id.put("subject", r.getSubject());
        id.put("username", r.getUsername());
        id.put("principal_type", r.getPrincipalType());
        id.put("client_id", r.getClientId());
        id.put("realm_roles", list(r.getRealmRoles()));
        id.put("groups", list(r.getGroups()));
        id.put("token_id", r.getTokenId());
        id.put("issuer", r.getIssuer());
        id.put("auth_error", r.getAuthError());
        if (r.getKeyId() != null) {
            id.put("key_id", r.getKeyId().toString());
        }
        m.put("identity", id);
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("method", r.getMethod());
        req.put("path", r.getPath());
        req.put("upstream", r.getUpstream());
        req.put("model", r.getModel());
        req.put("size", r.getRequestSize());
        req.put("sha256", r.getRequestSha256());
        req.put("forwarded_sha256", r.getForwardedSha256());
        if (Boolean.TRUE.equals(r.getRequestTruncated())) {
            // only in records that keep a bounded prefix of a refused call's body (absent otherwise, so that every
            // other entry's canonical bytes are as before): size and sha256 stay the whole body's
            req.put("truncated", true);
            req.put("stored_size", r.getRequestStoredSize());
            req.put("stored_sha256", r.getRequestStoredSha256());
        }
        m.put("request", req);
        Map<String, Object> dec = new LinkedHashMap<>();
        dec.put("verdict", r.getDecision());
        dec.put("rule_id", r.getRuleId());
        dec.put("reason", r.getReason());
        if (r.getRulesVersion() != null) { // absent for calls no rule decided, and in records before V21
            dec.put("rules_version", r.getRulesVersion());
        }
        m.put("decision", dec);
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("status", r.getStatus() == null ? null : r.getStatus().longValue());
        res.put("upstream_status", r.getUpstreamStatus() == null ? null : r.getUpstreamStatus().longValue());
        res.put("error_code", r.getErrorCode());
        res.put("streamed", r.getStreamed());
        res.put("size", r.getResponseSize());
        res.put("sha256", r.getResponseSha256());
        res.put("truncated", r.getResponseTruncated());
        res.put("raw_size", r.getRawResponseSize());
        res.put("raw_sha256", r.getRawResponseSha256());
        res.put("stream_timings", r.getStreamTimings());
        m.put("response", res);
        Map<String, Object> mask = new LinkedHashMap<>();
        mask.put("rule_set", r.getMaskingRuleSet());
        mask.put("exempt", r.getMaskingExempt());
        mask.put("report", r.getMaskingReport());
        m.put("masking", mask);
        if (r.getUsageStatus() != null) {
            m.put("usage", r.usageMap());
        }
        return m;
    }

    private static List<String> list(String[] a) {
        return a == null ? List.of() : Arrays.asList(a);
    }

    private static String str(Instant i) {
        return attest.text.IsoInstant.of(i);
    }
}
