package attest.evidence;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Kafka payload of a call's evidence ({@code attest.evidence}, {@link EvidenceEvents#SCHEMA_VERSION}) is pinned
 * byte for byte: a fixed record, a fixed event id and time and a fixed digest key give exactly the checked-in file.
 * Changing the writer's storage must not move it; a deliberate change of the payload publishes a new version.
 * {@code -Dattest.golden.update=true} rewrites the files (review the diff before committing it).
 */
class EvidenceEventGoldenTest {
    static final UUID EVENT_ID = UUID.fromString("00000000-0000-4000-8000-00000000e001");
    static final Instant NOW = Instant.parse("2026-11-29T10:15:30.123456Z");

    @BeforeAll
    static void fixedDigestKey() {
        byte[] master = new byte[32];
        for (int i = 0; i < master.length; i++) {
            master[i] = (byte) i;
        }
        EvidenceEvents.keyDigestsWith(new attest.evidence.crypto.MasterKey(master)
                .derive(EvidenceEvents.DIGEST_KEY_LABEL));
    }

    @AfterAll
    static void otherKey() {
        EvidenceEvents.keyDigestsWith(new byte[32]);
    }

    /** A forwarded, masked, completed call with every field the event carries set. */
    static EvidenceRecord completed() {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.fromString("5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c01"));
        r.setRequestId("req-0001");
        r.setCorrelationId("client-corr-\u00e9\"quoted\"");
        r.setInstanceId("gw-1");
        r.setApprovalId(UUID.fromString("a7e1b2c3-0000-4000-8000-000000000002"));
        r.setState(EvidenceRecord.TERMINAL);
        r.setOutcome("completed");
        r.setStatus(200);
        r.setUpstreamStatus(200);
        r.setReceivedAt(Instant.parse("2026-11-29T10:15:29.000001Z"));
        r.setForwardedAt(Instant.parse("2026-11-29T10:15:29.002Z"));
        r.setFirstByteAt(Instant.parse("2026-11-29T10:15:29.250Z"));
        r.setCompletedAt(Instant.parse("2026-11-29T10:15:30Z"));
        r.setDurationMs(999L);
        r.setSourceAddress("10.0.0.7");
        r.setSubject("3f9a-subject");
        r.setUsername("alice");
        r.setPrincipalType("user");
        r.setClientId("attest-cli");
        r.setRealmRoles(new String[]{"llm-user", "offline_access"});
        r.setGroups(new String[]{"/research"});
        r.setTokenId("tok-1");
        r.setIssuer("http://127.0.0.1:8180/realms/attest");
        r.setKeyId(UUID.fromString("c0ffee00-0000-4000-8000-000000000003"));
        r.setMethod("POST");
        r.setPath("/llm/v1/chat/completions");
        r.setUpstream("openai");
        r.setModel("gpt-4o-mini");
        r.setStreamed(Boolean.TRUE);
        r.setDecision("allow");
        r.setRuleId("default-allow");
        r.setReason("no rule denied");
        r.setRulesVersion("9".repeat(64));
        r.setRequestBody("{\"prompt\":\"secret\"}".getBytes(StandardCharsets.UTF_8));
        r.setRequestSize(19L);
        r.setRequestSha256("a".repeat(64));
        r.setResponseBody("masked".getBytes(StandardCharsets.UTF_8));
        r.setResponseSize(6L);
        r.setResponseSha256("b".repeat(64));
        r.setResponseTruncated(Boolean.FALSE);
        r.setRawResponseSize(12L);
        r.setRawResponseSha256("c".repeat(64));
        r.setMaskingRuleSet("default");
        r.setMaskingExempt(Boolean.FALSE);
        r.setMaskingReport("{\"findings\":[{\"type\":\"EMAIL\",\"count\":1}],\"action\":\"mask\"}");
        r.setForwardedSha256("d".repeat(64));
        r.setStreamTimings("[[0,12],[40,8]]");
        attest.usage.UsageMeter meter = new attest.usage.UsageMeter();
        meter.report(new attest.usage.TokenUsage(120L, 45L, 165L, 100L, null));
        r.setUsage(meter);
        return r;
    }

    /** A call refused before the upstream: most fields absent, an unreadable masking report. */
    static EvidenceRecord refused() {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.fromString("5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c02"));
        r.setRequestId("req-0002");
        r.setInstanceId("gw-1");
        r.setState(EvidenceRecord.TERMINAL);
        r.setOutcome("unauthenticated");
        r.setStatus(401);
        r.setErrorCode("invalid_token");
        r.setReceivedAt(Instant.parse("2026-11-29T10:15:29Z"));
        r.setCompletedAt(Instant.parse("2026-11-29T10:15:29.000100Z"));
        r.setDurationMs(0L);
        r.setMaskingRuleSet("default");
        r.setMaskingReport("{not json");
        return r;
    }

    @Test
    void should_produce_the_pinned_payload_for_a_completed_call() throws IOException {
        assertPinned("evidence-event-completed.json", completed());
    }

    @Test
    void should_produce_the_pinned_payload_for_a_refused_call() throws IOException {
        assertPinned("evidence-event-refused.json", refused());
    }

    static void assertPinned(String file, EvidenceRecord r) throws IOException {
        OutboxEvent e = EvidenceEvents.terminal(r, "attest.evidence.v1", NOW, EVENT_ID);
        assertThat(e.getEventId()).isEqualTo(EVENT_ID);
        assertThat(e.getTopic()).isEqualTo("attest.evidence.v1");
        assertThat(e.getEventKey()).isEqualTo(r.getId().toString());
        assertThat(e.getCreatedAt()).isEqualTo(NOW);
        byte[] actual = e.getPayload().getBytes(StandardCharsets.UTF_8);
        if (Boolean.getBoolean("attest.golden.update")) {
            Files.write(Path.of("src/test/resources/golden", file), actual);
        }
        byte[] expected;
        try (InputStream in = EvidenceEventGoldenTest.class.getResourceAsStream("/golden/" + file)) {
            assertThat(in).as("golden file /golden/%s", file).isNotNull();
            expected = in.readAllBytes();
        }
        assertThat(new String(actual, StandardCharsets.UTF_8)).isEqualTo(new String(expected, StandardCharsets.UTF_8));
        assertThat(actual).isEqualTo(expected);
    }
}
