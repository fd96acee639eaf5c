package attest.evidence;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;
import java.util.Arrays;
import java.util.UUID;

/**
 * The Kafka event for a terminal evidence record, schema {@code attest.evidence} version 2.
 * It carries the record's metadata, sizes and digests, never the bodies: the bodies stay in the
 * store, where access is controlled. See docs/evidence.md.
 * <p>Version 2: the digest of the raw (unmasked) answer is keyed, {@code response.raw_hmac_sha256} =
 * HMAC-SHA-256 under a key derived from the master key over the chain's {@code raw_sha256} (lower-case hex, as
 * ASCII), instead of the plain {@code raw_sha256}: a topic reader cannot confirm a guessed short answer, a key
 * holder can still tie the event to the chain. Without a key the field is null (never the plain digest).
 */
public final class EvidenceEvents {
    public static final String SCHEMA = "attest.evidence";
    public static final int SCHEMA_VERSION = 2;
    /** The label of the key, derived from the master key, that keys raw-answer digests in events. */
    public static final String DIGEST_KEY_LABEL = "attest.event-digest.v1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static volatile javax.crypto.spec.SecretKeySpec digestKey;

    /** Sets the key of {@code response.raw_hmac_sha256} (once, at start-up). */
    public static void keyDigestsWith(byte[] key) {
        digestKey = new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256");
    }

    /** HMAC-SHA-256 (lower-case hex) of a hex digest under the events' digest key; null without either. */
    public static String keyed(String hexDigest) {
        javax.crypto.spec.SecretKeySpec k = digestKey;
        if (hexDigest == null || k == null) {
            return null;
        }
        try {
            KeyedMac m = MAC.get();
            if (m.key != k) { // this thread's Mac, initialised again only when the key was set anew
                m.mac.init(k);
                m.key = k;
            }
            return java.util.HexFormat.of().formatHex(m.mac.doFinal(hexDigest.getBytes(
                    java.nio.charset.StandardCharsets.US_ASCII)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A thread's HMAC-SHA-256 and the key it holds (looking the algorithm up per event was a cost per call). */
    private static final class KeyedMac {
        final javax.crypto.Mac mac;
        javax.crypto.spec.SecretKeySpec key;

        KeyedMac() {
            try {
                mac = javax.crypto.Mac.getInstance("HmacSHA256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static final ThreadLocal<KeyedMac> MAC = ThreadLocal.withInitial(KeyedMac::new);

    private EvidenceEvents() {
    }

    public static OutboxEvent terminal(EvidenceRecord r, String topic, Instant now) {
        return terminal(r, topic, now, UUID.randomUUID());
    }

    /** The event with a given id (the golden test pins the payload with a fixed one). */
    static OutboxEvent terminal(EvidenceRecord r, String topic, Instant now, UUID eventId) {
        ObjectNode e = JSON.createObjectNode();
        e.put("schema", SCHEMA);
        e.put("schema_version", SCHEMA_VERSION);
        e.put("event_id", eventId.toString());
        e.put("event_type", "call." + r.getOutcome());
        e.put("emitted_at", now.toString());
        ObjectNode rec = e.putObject("record");
        rec.put("id", r.getId().toString());
        rec.put("request_id", r.getRequestId());
        if (r.getCorrelationId() != null) {
            rec.put("correlation_id", r.getCorrelationId());
        }
        rec.put("instance_id", r.getInstanceId());
        if (r.getApprovalId() != null) {
            rec.put("approval_id", r.getApprovalId().toString());
        }
        rec.put("outcome", r.getOutcome());
        rec.put("status", r.getStatus());
        rec.put("upstream_status", r.getUpstreamStatus());
        rec.put("error_code", r.getErrorCode());
        rec.put("received_at", str(r.getReceivedAt()));
        rec.put("forwarded_at", str(r.getForwardedAt()));
        rec.put("first_byte_at", str(r.getFirstByteAt()));
        rec.put("completed_at", str(r.getCompletedAt()));
        rec.put("duration_ms", r.getDurationMs());
        rec.put("source_address", r.getSourceAddress());
        ObjectNode id = rec.putObject("identity");
        id.put("subject", r.getSubject());
        id.put("username", r.getUsername());
        id.put("principal_type", r.getPrincipalType());
        id.put("client_id", r.getClientId());
        var roles = id.putArray("realm_roles");
        Arrays.stream(r.getRealmRoles() == null ? new String[0] : r.getRealmRoles()).forEach(roles::add);
        var groups = id.putArray("groups");
        Arrays.stream(r.getGroups() == null ? new String[0] : r.getGroups()).forEach(groups::add);
        id.put("token_id", r.getTokenId());
        id.put("issuer", r.getIssuer());
        if (r.getKeyId() != null) {
            id.put("key_id", r.getKeyId().toString());
        }
        ObjectNode req = rec.putObject("request");
        req.put("method", r.getMethod());
        req.put("path", r.getPath());
        req.put("upstream", r.getUpstream());
        req.put("model", r.getModel());
        req.put("size", r.getRequestSize());
        req.put("sha256", r.getRequestSha256());
        ObjectNode dec = rec.putObject("decision");
        dec.put("verdict", r.getDecision());
        dec.put("rule_id", r.getRuleId());
        dec.put("reason", r.getReason());
        if (r.getRulesVersion() != null) {
            dec.put("rules_version", r.getRulesVersion());
        }
        ObjectNode res = rec.putObject("response");
        res.put("streamed", r.getStreamed());
        res.put("size", r.getResponseSize());
        res.put("sha256", r.getResponseSha256());
        res.put("truncated", r.getResponseTruncated());
        res.put("raw_size", r.getRawResponseSize());
        res.put("raw_hmac_sha256", keyed(r.getRawResponseSha256()));
        if (r.getUsageStatus() != null) {
            rec.set("usage", JSON.valueToTree(r.usageMap()));
        }
        if (r.getMaskingRuleSet() != null) {
            try {
                rec.set("masking", JSON.readTree(r.getMaskingReport()));
            } catch (com.fasterxml.jackson.core.JsonProcessingException unreadable) {
                rec.put("masking", "unreadable");
            }
        }
        return new OutboxEvent(eventId, topic, r.getId().toString(), e.toString(), now);
    }

    private static String str(Instant i) {
        return i == null ? null : i.toString();
    }
}
