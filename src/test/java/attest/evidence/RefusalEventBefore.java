package attest.evidence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A refusal's event as {@link EvidenceEvents#refusal} built it before its streaming writer (issue #12), kept as it
 * was: the call's full terminal event read back into a Jackson tree, cut, and written out again without its nulls and
 * empty values. The reference of {@code RefusalEventWriterTest} and the baseline of {@code RefusalEventBenchmark}.
 */
public final class RefusalEventBefore {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RefusalEventBefore() {
    }

    public static String payload(EvidenceRecord r, String topic, Instant now, UUID eventId) {
        OutboxEvent full = EvidenceEvents.terminal(r, topic, now, eventId);
        try {
            JsonNode json = JSON.readTree(full.getPayload());
            ObjectNode rec = (ObjectNode) json.path("record");
            rec.remove(List.of("identity", "response", "completed_at", "instance_id"));
            if (r.getSubject() != null || r.getKeyId() != null) {
                ObjectNode identity = rec.putObject("identity");
                identity.put("subject", r.getSubject());
                if (r.getKeyId() != null) { // since a virtual key refused for too many denials is named
                    identity.put("key_id", r.getKeyId().toString());
                }
            }
            rec.remove("decision");
            ((ObjectNode) rec.path("request")).remove("sha256");
            JsonNode root = JSON.readTree(json.toString());
            Compact.strip(root);
            return root.toString();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
