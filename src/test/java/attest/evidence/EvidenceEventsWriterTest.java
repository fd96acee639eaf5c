package attest.evidence;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link EvidenceEvents#terminal} writes its event with a generator; here, against the Jackson tree it was built
 * from before (kept below as it was), over generated records: every field null or set, odd text (quotes, controls,
 * non-ASCII, surrogate pairs), every number, and masking reports that are objects, other JSON values, empty,
 * malformed or with duplicate names. The same text for every record.
 */
class EvidenceEventsWriterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] TEXTS = {"", "a", "alice", "x\"y", "back\\slash", "line\nbreak", "\u0000\u001f",
            "\u00e9t\u00e9", "\ud83d\ude00", "/llm/v1/chat/completions", "\u2028", "</script>"};
    private static final String[] REPORTS = {"{\"findings\":[{\"type\":\"EMAIL\",\"count\":1}],\"action\":\"mask\"}",
            "{}", "[]", "[1,2.5,-3e2]", "null", "true", "\"text\"", "42", "", "   ", "{not json", "{\"a\":1,\"a\":2}",
            "{\"big\":123456789012345678901234567890,\"f\":1.0E10,\"n\":-0}", " {\"a\" : [ {\"b\" : null} ] } "};

    @Test
    void writes_the_text_the_tree_wrote_for_every_generated_record() {
        Random random = new Random(2026);
        for (int n = 0; n < 20_000; n++) {
            EvidenceRecord r = record(random);
            UUID eventId = new UUID(random.nextLong(), random.nextLong());
            Instant now = Instant.ofEpochSecond(random.nextLong(0, 4_000_000_000L), random.nextInt(1_000_000_000));
            String expected;
            try {
                expected = tree(r, "t", now, eventId);
            } catch (IllegalArgumentException noReport) { // a rule set without a report: refused alike
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> EvidenceEvents.terminal(r, "t", now, eventId))
                        .isInstanceOf(IllegalArgumentException.class);
                continue;
            }
            assertThat(EvidenceEvents.terminal(r, "t", now, eventId).getPayload()).as("record %d", n).isEqualTo(expected);
        }
    }

    private static String text(Random random) {
        return random.nextInt(4) == 0 ? null : TEXTS[random.nextInt(TEXTS.length)];
    }

    private static Long number(Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> null;
            case 1 -> 0L;
            case 2 -> random.nextLong();
            default -> (long) random.nextInt(100_000);
        };
    }

    private static Boolean flag(Random random) {
        return switch (random.nextInt(3)) {
            case 0 -> null;
            case 1 -> true;
            default -> false;
        };
    }

    private static Instant at(Random random) {
        return random.nextInt(4) == 0 ? null
                : Instant.ofEpochSecond(random.nextLong(0, 4_000_000_000L), random.nextInt(4) == 0 ? 0 : random.nextInt(1_000_000_000));
    }

    private static String[] texts(Random random) {
        if (random.nextInt(4) == 0) {
            return null;
        }
        String[] a = new String[random.nextInt(4)];
        for (int i = 0; i < a.length; i++) {
            a[i] = TEXTS[random.nextInt(TEXTS.length)];
        }
        return a;
    }

    static EvidenceRecord record(Random random) {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(new UUID(random.nextLong(), random.nextLong()));
        r.setRequestId(text(random));
        r.setCorrelationId(text(random));
        r.setInstanceId(text(random));
        r.setApprovalId(random.nextBoolean() ? null : new UUID(random.nextLong(), random.nextLong()));
        r.setState(EvidenceRecord.TERMINAL);
        r.setOutcome(text(random));
        Long status = number(random);
        r.setStatus(status == null ? null : status.intValue());
        Long upstream = number(random);
        r.setUpstreamStatus(upstream == null ? null : upstream.intValue());
        r.setErrorCode(text(random));
        r.setReceivedAt(at(random));
        r.setForwardedAt(at(random));
        r.setFirstByteAt(at(random));
        r.setCompletedAt(at(random));
        r.setDurationMs(number(random));
        r.setSourceAddress(text(random));
        r.setSubject(text(random));
        r.setUsername(text(random));
        r.setPrincipalType(text(random));
        r.setClientId(text(random));
        r.setRealmRoles(texts(random));
        r.setGroups(texts(random));
        r.setTokenId(text(random));
        r.setIssuer(text(random));
        r.setKeyId(random.nextBoolean() ? null : new UUID(random.nextLong(), random.nextLong()));
        r.setMethod(text(random));
        r.setPath(text(random));
        r.setUpstream(text(random));
        r.setModel(text(random));
        r.setStreamed(flag(random));
        r.setDecision(text(random));
        r.setRuleId(text(random));
        r.setReason(text(random));
        r.setRulesVersion(text(random));
        r.setRequestSize(number(random));
        r.setRequestSha256(text(random));
        r.setResponseSize(number(random));
        r.setResponseSha256(text(random));
        r.setResponseTruncated(flag(random));
        r.setRawResponseSize(number(random));
        r.setRawResponseSha256(random.nextBoolean() ? null : "c".repeat(64));
        r.setMaskingRuleSet(text(random));
        r.setMaskingReport(random.nextInt(8) == 0 ? null : REPORTS[random.nextInt(REPORTS.length)]);
        if (random.nextBoolean()) {
            attest.usage.UsageMeter meter = new attest.usage.UsageMeter();
            if (random.nextBoolean()) {
                meter.report(new attest.usage.TokenUsage(number(random), number(random), number(random),
                        number(random), number(random)));
            }
            r.setUsage(meter);
        }
        return r;
    }

    /** The event as EvidenceEvents built it before: a Jackson tree, written out. */
    static String tree(EvidenceRecord r, String topic, Instant now, UUID eventId) {
        ObjectNode e = JSON.createObjectNode();
        e.put("schema", EvidenceEvents.SCHEMA);
        e.put("schema_version", EvidenceEvents.SCHEMA_VERSION);
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
        res.put("raw_hmac_sha256", EvidenceEvents.keyed(r.getRawResponseSha256()));
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
        return e.toString();
    }

    private static String str(Instant i) {
        return i == null ? null : i.toString();
    }
}
