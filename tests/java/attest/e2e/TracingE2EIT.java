package attest.e2e;

import attest.demo.DemoModelServer;
import attest.stack.Gateway;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The caller's W3C trace is continued through the gateway to the upstream: the upstream sees the same trace id
 * with the gateway's own span as parent, and the gateway records a span per stage.
 */
class TracingE2EIT {
    static final InMemorySpanExporter SPANS = InMemorySpanExporter.create();
    static DemoModelServer upstream;
    static Gateway gateway;
    static String base;

    @BeforeAll
    static void up() throws Exception {
        stack();
        upstream = new DemoModelServer("127.0.0.1", 0, stack().demoKey);
        Map<String, String> s = stack().extraGatewaySettings();
        s.put("attest.instance-id", "tracing-e2e");
        s.put("attest.upstream.llm.base-url", upstream.baseUrl());
        base = "http://127.0.0.1:" + s.get("attest.data.port");
        gateway = new Gateway(s).bind("attestSpanExporter", SPANS).start();
    }

    @AfterAll
    static void down() {
        gateway.close();
        upstream.close();
    }

    static String hex(int bytes) {
        byte[] b = new byte[bytes];
        ThreadLocalRandom.current().nextBytes(b);
        b[0] |= 1; // never all zero
        return HexFormat.of().formatHex(b);
    }

    static HttpResponse<String> chat(String model, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/llm/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + stack().userToken("alice"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"));
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static DemoModelServer.Received received(HttpResponse<String> r) {
        String id = r.headers().firstValue("X-Request-Id").orElseThrow();
        return upstream.received().stream().filter(x -> id.equals(x.header("X-Request-Id"))).findFirst()
                .orElseThrow(() -> new AssertionError("the upstream never saw " + id));
    }

    static List<SpanData> spansOf(String traceId) {
        return SPANS.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(traceId)).toList();
    }

    @Test
    void should_continue_the_callers_trace_to_the_upstream_with_a_span_per_stage() throws Exception {
        String traceId = hex(16);
        String callerSpan = hex(8);
        HttpResponse<String> r = chat("demo-model", Map.of("traceparent", "00-" + traceId + "-" + callerSpan + "-01",
                "tracestate", "vendor=opaque"));
        assertThat(r.statusCode()).isEqualTo(200);
        String sent = received(r).header("traceparent");
        assertThat(sent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
        String[] parts = sent.split("-");
        assertThat(Integer.parseInt(parts[3], 16) & 1).as("the caller's sampled flag is kept").isEqualTo(1);
        assertThat(parts[1]).as("trace id").isEqualTo(traceId);
        assertThat(parts[2]).as("parent span id").isNotEqualTo(callerSpan).isNotEqualTo("0000000000000000");
        assertThat(received(r).header("tracestate")).isEqualTo("vendor=opaque");

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(spansOf(traceId).stream()
                .map(SpanData::getName)).contains("attest.identity", "attest.policy", "attest.masking",
                "attest.upstream", "attest.evidence"));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(spansOf(traceId))
                .anyMatch(s -> s.getKind() == SpanKind.SERVER));
        List<SpanData> spans = spansOf(traceId);
        SpanData call = spans.stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
        assertThat(call.getParentSpanId()).as("the call's span continues the caller's").isEqualTo(callerSpan);
        assertThat(call.getAttributes().asMap().toString()).contains("attest.request_id")
                .contains(r.headers().firstValue("X-Request-Id").orElseThrow());
        SpanData up = spans.stream().filter(s -> s.getName().equals("attest.upstream")).findFirst().orElseThrow();
        assertThat(up.getSpanId()).as("the upstream's parent is the gateway's upstream span").isEqualTo(parts[2]);
        assertThat(up.getKind()).isEqualTo(SpanKind.CLIENT);
        for (SpanData stage : spans) {
            if (stage != call) {
                assertThat(stage.getParentSpanId()).as(stage.getName()).isEqualTo(call.getSpanId());
            }
        }
    }

    @Test
    void should_start_a_new_trace_for_a_call_without_or_with_a_forged_traceparent() throws Exception {
        for (String forged : new String[]{null, "00-00000000000000000000000000000000-" + hex(8) + "-01",
                "00-" + hex(16) + "-0000000000000000-01", "ff-" + hex(16) + "-" + hex(8) + "-01",
                "00-" + hex(16).toUpperCase() + "-" + hex(8) + "-01", "00-zz" + hex(15) + "-" + hex(8) + "-01",
                "00-" + hex(16) + "-" + hex(8) + "-01\r\nx-injected: 1"}) {
            HttpResponse<String> r;
            try {
                r = chat("demo-model", forged == null ? Map.of() : Map.of("traceparent", forged));
            } catch (IllegalArgumentException clientRefusesToSend) {
                continue; // the JDK client will not send a header with CR LF: nothing to test there
            }
            assertThat(r.statusCode()).as(String.valueOf(forged)).isEqualTo(200);
            String sent = received(r).header("traceparent");
            assertThat(sent).as("for " + forged).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
            if (forged != null) {
                assertThat(sent.split("-")[1]).as("a forged trace id is not continued").isNotEqualTo(forged.split("-")[1]);
            }
            assertThat(received(r).header("x-injected")).isNull();
        }
    }

    @Test
    void should_mark_the_calls_span_as_an_error_when_the_upstream_fails_and_send_one_traceparent() throws Exception {
        String traceId = hex(16);
        HttpResponse<String> r = chat("demo-error", Map.of("traceparent", "00-" + traceId + "-" + hex(8) + "-01"));
        assertThat(r.statusCode()).isEqualTo(502);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(spansOf(traceId))
                .anyMatch(s -> s.getKind() == SpanKind.SERVER && s.getStatus().getStatusCode()
                        == io.opentelemetry.api.trace.StatusCode.ERROR));
        assertThat(upstream.received().stream().filter(x -> x.headers().entrySet().stream()
                .anyMatch(e -> e.getKey().equalsIgnoreCase("traceparent") && e.getValue().size() > 1))).isEmpty();
    }
}
