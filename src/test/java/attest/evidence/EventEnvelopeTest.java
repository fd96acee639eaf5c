package attest.evidence;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every event envelope is built by {@link EvidenceEvents#envelope}: the approval, audit, key and checkpoint events
 * ({@code ApprovalStore}, {@code AuditTrail}, {@code KeyStore}, {@code Checkpoints}) come out byte for byte as they
 * were built by hand before issue #12 (the reference below is that construction, kept as it was), for values that
 * could tell them apart: nulls, non-ASCII and escaped text, large and fractional numbers, nested maps and lists, and
 * instants with and without a fraction. The attest.evidence kinds are pinned by {@code EvidenceKindsGoldenTest}.
 */
class EventEnvelopeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final UUID EVENT_ID = UUID.fromString("00000000-0000-4000-8000-00000000e002");
    private static final UUID SUBJECT = UUID.fromString("5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c31");
    private static final List<Instant> TIMES = List.of(Instant.parse("2026-11-29T10:15:30Z"),
            Instant.parse("2026-11-29T10:15:30.120Z"), Instant.parse("2026-11-29T10:15:30.123456789Z"));

    /** An audit detail or a key's body: what a Map of the gateway's holds. */
    static Map<String, Object> body() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("record_id", SUBJECT.toString());
        m.put("actor", "al\u00efce \"the\" auditor\n\u2028</script>");
        m.put("none", null);
        m.put("count", 9_007_199_254_740_993L);
        m.put("ratio", 0.1);
        m.put("ok", Boolean.TRUE);
        m.put("roles", Arrays.asList("auditor", null, "a/b"));
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("empty", List.of());
        inner.put("n", 7);
        m.put("inner", inner);
        return m;
    }

    /** An approval step's detail, as ApprovalStore builds it (an ObjectNode). */
    static ObjectNode detail() {
        ObjectNode d = JSON.createObjectNode();
        d.put("request_id", "req-\u00e9");
        d.put("latency_ms", 123456789012L);
        d.put("score", 0.75);
        d.putNull("reason");
        d.putArray("approvers").add("bob").add("carol");
        d.putObject("shape").put("model", "gpt-4o-mini").put("tokens", 12);
        return d;
    }

    /** The audit and key events as AuditTrail and KeyStore built them by hand. */
    private static String mapEventBefore(String schema, String type, String member, Map<String, Object> body,
                                         Instant now) {
        ObjectNode e = JSON.createObjectNode();
        e.put("schema", schema);
        e.put("schema_version", 1);
        e.put("event_id", EVENT_ID.toString());
        e.put("event_type", type);
        e.put("emitted_at", now.toString());
        e.set(member, JSON.valueToTree(body));
        return e.toString();
    }

    @Test
    void should_build_the_audit_and_key_events_as_they_were_built_by_hand() {
        for (Instant now : TIMES) {
            for (String[] kind : new String[][]{{"attest.audit", "audit.payload_read", "detail"},
                    {"attest.key", "key.created", "key"}, {"attest.audit", null, "detail"}}) {
                String after = EvidenceEvents.envelope(kind[0], 1, EVENT_ID, kind[1], now, g -> {
                    g.writeFieldName(kind[2]);
                    g.writeTree(JSON.valueToTree(body()));
                });
                assertThat(after).isEqualTo(mapEventBefore(kind[0], kind[1], kind[2], body(), now));
            }
        }
    }

    @Test
    void should_build_the_approval_event_as_it_was_built_by_hand() {
        for (Instant now : TIMES) {
            for (String actor : Arrays.asList("alice", null, "\u00e9ve \"x\"")) {
                for (ObjectNode detail : Arrays.asList(detail(), null, JSON.createObjectNode())) {
                    ObjectNode e = JSON.createObjectNode();
                    e.put("schema", "attest.approval");
                    e.put("schema_version", 1);
                    e.put("event_id", EVENT_ID.toString());
                    e.put("event_type", "approval.decided");
                    e.put("emitted_at", now.toString());
                    e.put("approval_id", SUBJECT.toString());
                    e.put("evidence_id", EVENT_ID.toString());
                    e.put("actor", actor);
                    e.set("detail", detail);
                    assertThat(attest.approval.ApprovalStore.eventPayload(EVENT_ID, "decided", now, SUBJECT, EVENT_ID,
                            actor, detail)).isEqualTo(e.toString());
                }
            }
        }
    }

    @Test
    void should_build_the_checkpoint_event_as_it_was_concatenated() {
        byte[] canonical = ("{\"chain_id\":\"gw-\u00e9\",\"format\":1,\"head\":\"" + "ab".repeat(32)
                + "\",\"signed_at\":\"2026-11-29T10:15:30.12Z\",\"size\":42}").getBytes(StandardCharsets.UTF_8);
        byte[] signature = new byte[64];
        for (int i = 0; i < signature.length; i++) {
            signature[i] = (byte) (i * 37 + 251); // a base64 text with '+' ...
        }
        signature[0] = signature[1] = signature[2] = (byte) 0xff; // ... and '/'
        String before = "{\"schema\":\"attest.checkpoint\",\"schema_version\":1,\"event_id\":\"" + EVENT_ID
                + "\",\"checkpoint\":" + new String(canonical, StandardCharsets.UTF_8)
                + ",\"signature\":\"" + Base64.getEncoder().encodeToString(signature) + "\"}";
        assertThat(Base64.getEncoder().encodeToString(signature)).contains("+").contains("/");
        String after = EvidenceEvents.envelope("attest.checkpoint", 1, EVENT_ID, g -> {
            g.writeFieldName("checkpoint");
            g.writeRawValue(new String(canonical, StandardCharsets.UTF_8));
            g.writeStringField("signature", Base64.getEncoder().encodeToString(signature));
        });
        assertThat(after).isEqualTo(before);
    }
}
