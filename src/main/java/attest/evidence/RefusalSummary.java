package attest.evidence;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Evidence of refusals that were counted rather than recorded one by one: one source, one window, how many
 * were recorded singly and how many were counted, by status. A row of {@code refusal_summary}, a chain entry
 * of kind {@value #KIND} and an event of type {@value #KIND} on the evidence topic.
 */
public record RefusalSummary(UUID id, String instanceId, RefusalLimiter.Summary summary, Instant recordedAt) {
    public static final String KIND = "refusal.summary";
    private static final ObjectMapper JSON = new ObjectMapper();

    public static RefusalSummary of(String instanceId, RefusalLimiter.Summary s, Instant now) {
        return new RefusalSummary(UUID.randomUUID(), instanceId, s, now);
    }

    /** The counts by status, as JSON ({@code {"401": 1234}}). */
    public String countsJson() {
        ObjectNode n = JSON.createObjectNode();
        summary.counted().forEach((status, count) -> n.put(String.valueOf(status), count));
        return n.toString();
    }

    /** What the chain holds for it. */
    public Map<String, Object> chainBody() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id.toString());
        m.put("instance_id", instanceId);
        m.put("source_address", summary.source());
        m.put("window_start", summary.windowStart().toString());
        m.put("window_end", summary.windowEnd().toString());
        m.put("recorded", summary.recorded());
        Map<String, Object> counted = new LinkedHashMap<>();
        summary.counted().forEach((status, count) -> counted.put(String.valueOf(status), count));
        m.put("counted", counted);
        m.put("counted_total", summary.countedTotal());
        return m;
    }

    /** Its event on the evidence topic (schema attest.evidence, event type refusal.summary). */
    public OutboxEvent event(String topic, Instant now) {
        UUID eventId = UUID.randomUUID();
        String payload = EvidenceEvents.envelope(EvidenceEvents.SCHEMA, EvidenceEvents.SCHEMA_VERSION, eventId, KIND,
                now, g -> {
                    g.writeFieldName("summary");
                    g.writeTree(JSON.valueToTree(chainBody()));
                });
        return new OutboxEvent(eventId, topic, id.toString(), payload, now);
    }

    /** Inserts its row, in the writer's transaction. */
    void insert(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO refusal_summary (id, instance_id, source_address, "
                + "window_start, window_end, recorded, counted, counted_total, recorded_at) "
                + "VALUES (?,?,?,?,?,?,?::jsonb,?,?)")) {
            ps.setObject(1, id);
            ps.setString(2, instanceId);
            ps.setString(3, summary.source());
            ps.setTimestamp(4, Timestamp.from(summary.windowStart()));
            ps.setTimestamp(5, Timestamp.from(summary.windowEnd()));
            ps.setLong(6, summary.recorded());
            ps.setString(7, countsJson());
            ps.setLong(8, summary.countedTotal());
            ps.setTimestamp(9, Timestamp.from(recordedAt));
            ps.executeUpdate();
        }
    }
}
