package attest.upstream;

import attest.Exchanges;
import attest.evidence.Outcome;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import attest.masking.MaskResponseProcessor;
import attest.masking.MaskingOutcome;
import attest.masking.MaskingRuleSet;
import attest.masking.MaskingService;
import io.netty.channel.embedded.EmbeddedChannel;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static attest.upstream.StreamRelayBreakOffTest.Body;
import static attest.upstream.StreamRelayBreakOffTest.NONE;
import static attest.upstream.StreamRelayBreakOffTest.assertEvidenceMatches;
import static attest.upstream.StreamRelayBreakOffTest.caller;
import static attest.upstream.StreamRelayBreakOffTest.dechunk;
import static attest.upstream.StreamRelayBreakOffTest.push;
import static attest.upstream.StreamRelayBreakOffTest.utf8;
import static attest.upstream.StreamRelayBreakOffTest.wire;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An upstream that sends one line without end (hundreds of MiB, no line feed) made the live relay's masker buffer all
 * of it, for every caller of the gateway at once. Wired as in the gateway ({@link MaskResponseProcessor} installs the
 * masker on the relay, with {@code attest.masking.max-held-bytes} from {@link MaskingService}): past the limit the
 * stream is cut, fail closed, and the evidence says why.
 */
class StreamRelayLimitTest {
    static final ScheduledExecutorService WATCH = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "limit-relay-watch");
        t.setDaemon(true);
        return t;
    });

    @AfterAll
    static void stop() {
        WATCH.shutdownNow();
    }

    /** A relay whose masker is installed by the response-mask processor, as in the gateway; its outcome in {@code got}. */
    static StreamRelay installed(String contentType, int limit, MaskingOutcome[] got) {
        StreamRelay relay = new StreamRelay(Clock.systemUTC(), 1 << 20);
        MaskingService service = new MaskingService(List.of(new MaskingRuleSet("default", List.of(), List.of(), false,
                true, List.of(), StreamRelayBreakOffTest.MASKER)), Duration.ofSeconds(5), limit);
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        Upstream llm = new Upstream("llm", "/llm", URI.create("http://127.0.0.1:8000"), UpstreamCredential.NONE,
                Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1));
        e.setProperty(Exchanges.TARGET, new UpstreamTarget(llm, "/v1/chat/completions",
                URI.create("http://127.0.0.1:8000/v1/chat/completions")));
        e.setProperty(Exchanges.UPSTREAM_RESPONSE, new UpstreamResponse(200,
                List.of(Map.entry("Content-Type", contentType)), null, relay, null));
        new MaskResponseProcessor(service).process(e);
        got[0] = e.getProperty(Exchanges.MASKING, MaskingOutcome.class);
        assertThat(relay.transform()).isNotNull();
        relay.onSubscribe(NONE);
        return relay;
    }

    @Test
    void should_cut_a_line_without_end_past_the_configured_limit_and_say_why() throws Exception {
        MaskingOutcome[] outcome = new MaskingOutcome[1];
        StreamRelay relay = installed("text/event-stream", 256 * 1024, outcome);
        EmbeddedChannel ch = caller();
        relay.bind(ch, WATCH, Duration.ofSeconds(30));
        push(relay, utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello. \"},\"finish_reason\":null}]}"
                + "\n\n"));
        byte[] piece = utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111 "
                + "x".repeat(16 * 1024));
        push(relay, piece);
        byte[] more = utf8("y".repeat(16 * 1024));
        int pieces = 0;
        // the upstream would go on for hundreds of MiB; the first event waits for the caller, who has not read yet
        while (outcome[0].redactions().isEmpty() && pieces < 1000) {
            push(relay, more);
            pieces++;
        }
        assertThat(pieces).as("not before the limit").isGreaterThanOrEqualTo(256 / 16 - 2).isLessThan(1000);
        assertThat(outcome[0].redactions()).anySatisfy(r -> {
            assertThat(r.entityType()).isEqualTo("MALFORMED_STREAM");
            assertThat(r.action()).isEqualTo("cut");
            assertThat(r.detector()).isEqualTo("event_too_long");
        });

        ch.writeAndFlush(new StreamingHttpResponse(200, Map.of("Content-Type", "text/event-stream"), relay));
        for (int i = 0; i < 1000 && !relay.ended().isDone(); i++) {
            ch.runPendingTasks();
        }
        assertThat(relay.ended()).isDone();
        assertThat(relay.ended().join().outcome()).isEqualTo(Outcome.MASKING_FAILED);
        relay.release(true);
        ch.runPendingTasks();
        Body got = dechunk(wire(ch));
        String body = new String(got.bytes(), StandardCharsets.UTF_8);
        assertThat(body).contains("Hello. ").doesNotContain("4111").doesNotContain("xxxx");
        assertThat(got.terminated()).as("a cut stream ends without its terminating chunk").isFalse();
        assertEvidenceMatches(relay.ended().join(), got.bytes());
    }

    @Test
    void should_cut_an_ndjson_line_without_end_past_the_configured_limit() {
        MaskingOutcome[] outcome = new MaskingOutcome[1];
        StreamRelay relay = installed("application/x-ndjson", 64 * 1024, outcome);
        push(relay, utf8("{\"message\":{\"content\":\"ok\"},\"done\":false}\n{\"message\":{\"content\":\"ssn 536-90-"));
        int pieces = 0;
        while (!relay.ended().isDone() && pieces < 1000) {
            push(relay, utf8("z".repeat(8 * 1024)));
            pieces++;
        }
        assertThat(relay.ended()).isDone();
        assertThat(pieces).isGreaterThanOrEqualTo(64 / 8 - 2);
        assertThat(relay.ended().join().outcome()).isEqualTo(Outcome.MASKING_FAILED);
        assertThat(outcome[0].redactions()).anySatisfy(r -> assertThat(r.detector()).isEqualTo("line_too_long"));
        assertThat(new String(relay.ended().join().captured(), StandardCharsets.UTF_8)).doesNotContain("536");
    }

    /**
     * A held call's answer is read whole and masked by the same stream maskers: the configured limit holds there too
     * (it had the 4 MiB default whatever {@code attest.masking.max-held-bytes} said), and past it the answer is withheld.
     */
    @Test
    void should_hold_a_buffered_stream_to_the_configured_limit_too() {
        MaskingService service = new MaskingService(List.of(new MaskingRuleSet("default", List.of(), List.of(), false,
                true, List.of(), StreamRelayBreakOffTest.MASKER)), Duration.ofSeconds(5), 64 * 1024);
        Upstream llm = new Upstream("llm", "/llm", URI.create("http://127.0.0.1:8000"), UpstreamCredential.NONE,
                Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1));
        java.util.function.Function<byte[], Exchange> answered = body -> {
            Exchange e = new DefaultExchange(new DefaultCamelContext());
            e.setProperty(Exchanges.TARGET, new UpstreamTarget(llm, "/v1/chat/completions",
                    URI.create("http://127.0.0.1:8000/v1/chat/completions")));
            e.setProperty(Exchanges.UPSTREAM_RESPONSE, new UpstreamResponse(200,
                    List.of(Map.entry("Content-Type", "text/event-stream")), body, null, null));
            return e;
        };
        byte[] small = utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111 1111 1111\"}}]}"
                + "\n\ndata: [DONE]\n\n");
        Exchange ok = answered.apply(small);
        new MaskResponseProcessor(service).process(ok);
        assertThat(new String(ok.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class).body(),
                StandardCharsets.UTF_8)).doesNotContain("4111 1111").contains("data: [DONE]");

        byte[] longEvent = utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111 "
                + "x".repeat(128 * 1024) + "\"}}]}\n\ndata: [DONE]\n\n");
        Exchange cut = answered.apply(longEvent);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new MaskResponseProcessor(service).process(cut))
                .isInstanceOfSatisfying(attest.http.GatewayException.class, g -> {
                    assertThat(g.status()).isEqualTo(502);
                    assertThat(g.getMessage()).doesNotContain("4111");
                });
    }

    @Test
    void should_not_cut_a_stream_whose_lines_stay_under_the_limit() {
        MaskingOutcome[] outcome = new MaskingOutcome[1];
        StreamRelay relay = installed("text/event-stream", 64 * 1024, outcome);
        List<byte[]> events = new ArrayList<>();
        for (int i = 0; i < 100; i++) { // 100 events of 8 KiB: 800 KiB in all
            events.add(utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + "word ".repeat(1600)
                    + "\"},\"finish_reason\":null}]}\n\n"));
        }
        events.add(utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"card 4111 1111 1111 1111\"},"
                + "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"));
        push(relay, events.toArray(byte[][]::new));
        relay.onComplete();
        assertThat(relay.ended().join().outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(outcome[0].redactions()).noneSatisfy(r -> assertThat(r.entityType()).isEqualTo("MALFORMED_STREAM"));
    }
}
