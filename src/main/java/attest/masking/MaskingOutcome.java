package attest.masking;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What masking did to one call, for the evidence: the rule set, whether the caller was exempt, every
 * redaction (type, action, location; never the value) and the digest of the raw upstream body.
 */
public final class MaskingOutcome {
    private final String ruleSet;
    private final boolean exempt;
    private final List<Redaction> redactions = new ArrayList<>();
    private volatile String rawSha256;
    private volatile long rawSize;

    public MaskingOutcome(String ruleSet, boolean exempt) {
        this.ruleSet = ruleSet;
        this.exempt = exempt;
    }

    public String ruleSet() {
        return ruleSet;
    }

    public boolean exempt() {
        return exempt;
    }

    public void add(Redaction r) {
        synchronized (redactions) {
            redactions.add(r);
        }
    }

    public List<Redaction> redactions() {
        synchronized (redactions) {
            return List.copyOf(redactions);
        }
    }

    public void raw(String sha256, long size) {
        this.rawSha256 = sha256;
        this.rawSize = size;
    }

    private volatile byte[] rawBody;

    /** The upstream's answer before masking (a buffered answer), kept as evidence (encrypted at rest). */
    public void rawBody(byte[] body, String sha256) {
        this.rawBody = body;
        raw(sha256, body.length);
    }

    public byte[] rawBody() {
        return rawBody;
    }

    public String rawSha256() {
        return rawSha256;
    }

    public long rawSize() {
        return rawSize;
    }

    /** The masking report as JSON: counts per entity type and action, and every location. */
    public String reportJson() {
        ObjectNode root = JsonMasker.JSON.createObjectNode();
        root.put("rule_set", ruleSet);
        root.put("exempt", exempt);
        Map<String, ObjectNode> byType = new LinkedHashMap<>();
        ArrayNode entities = root.putArray("entities");
        for (Redaction r : redactions()) {
            ObjectNode e = byType.computeIfAbsent(r.entityType() + "|" + r.action(), k -> {
                ObjectNode n = entities.addObject();
                n.put("entity_type", r.entityType());
                n.put("action", r.action());
                n.put("count", 0);
                n.putArray("locations");
                return n;
            });
            e.put("count", e.get("count").asInt() + 1);
            ArrayNode locations = (ArrayNode) e.get("locations");
            if (locations.size() < 100) {
                locations.add(r.location());
            }
        }
        return root.toString();
    }
}
