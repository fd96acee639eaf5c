package attest.http;

import attest.policy.DenialLimiter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A signed-in caller whose calls policy keeps refusing (no role, a forbidden model) is refused at the door once it
 * had its share in the window: 429 on its headers, reported as a refusal (so recorded one by one only up to the
 * source's share, then counted), never routed, so never a record of its own per request. Other callers, and the same
 * caller in the next window, are not touched. Runs the guards in the pipeline {@link FloodGuardsTest} builds.
 */
class DenialFloodGuardTest {
    /** The pipeline, token issuer and what reached the route or was refused, as FloodGuardsTest builds them. */
    final FloodGuardsTest h = new FloodGuardsTest();
    static final attest.identity.TestTokens TOKENS = FloodGuardsTest.TOKENS;
    static final long WINDOW = 60_000;
    final Instant start = Instant.parse("2026-12-01T12:00:10Z");
    final Clock clock = Clock.fixed(start, ZoneOffset.UTC);
    final DenialLimiter denials = new DenialLimiter(3, WINDOW, 100);

    ChannelGuards guarded(KeyCheck keys) {
        return new ChannelGuards(new ConnectionLimits(0, 0), 60_000, h.refusals::add)
                .withEarlyAuth(TOKENS.validator(Clock.systemUTC()), 16_384).withKeys(keys)
                .withDenials(denials, clock).withBudget(new RequestBudget(64L * FloodGuardsTest.MIB), 4 * FloodGuardsTest.MIB);
    }

    String call(String authorization, String body) {
        EmbeddedChannel ch = h.channel(guarded((secret, source) -> null));
        ch.writeInbound(FloodGuardsTest.bytes(FloodGuardsTest.head("POST", "/llm/v1/chat/completions", "Authorization: " + authorization,
                "Content-Length: " + body.length()) + body));
        ch.runPendingTasks();
        return FloodGuardsTest.answer(ch);
    }

    @AfterEach
    void release() {
        h.routed.forEach(FullHttpRequest::release);
    }

    static String subjectOf(String username) {
        return DenialLimiter.subject(UUID.nameUUIDFromBytes(username.getBytes()).toString());
    }

    @Test
    void should_refuse_a_caller_at_the_door_once_policy_refused_it_its_share_of_the_window() {
        String mallory = TOKENS.user("mallory", List.of());
        for (int i = 0; i < 3; i++) {
            assertThat(call("Bearer " + mallory, "{}")).startsWith("HTTP/1.1 200"); // h.routed: policy decides
            denials.denied(subjectOf("mallory"), start.toEpochMilli());
        }
        assertThat(h.routed).hasSize(3);
        String refused = call("Bearer " + mallory, "{\"model\":\"x\"}");
        assertThat(refused).startsWith("HTTP/1.1 429").contains("Retry-After: 50").contains("too_many_denials")
                .doesNotContain(mallory);
        assertThat(h.routed).hasSize(3);
        assertThat(h.refusals).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(429);
            assertThat(r.code()).isEqualTo("too_many_denials");
            assertThat(r.sha256()).hasSize(64); // a small body is digested, never kept
            assertThat(r.authError()).isNull();
            // who was refused: the verified token's subject (the evidence record names it)
            assertThat(r.subject()).isEqualTo(UUID.nameUUIDFromBytes("mallory".getBytes()).toString());
        });
        // another caller is not touched
        assertThat(call("Bearer " + TOKENS.user("alice", List.of("inference-user")), "{}")).startsWith("HTTP/1.1 200");
        assertThat(h.routed).hasSize(4);
    }

    @Test
    void should_let_the_caller_in_again_in_the_next_window() {
        String mallory = TOKENS.user("mallory", List.of());
        for (int i = 0; i < 3; i++) {
            denials.denied(subjectOf("mallory"), start.toEpochMilli());
        }
        assertThat(call("Bearer " + mallory, "{}")).startsWith("HTTP/1.1 429");
        DenialLimiter same = denials;
        assertThat(same.retryAfterSeconds(subjectOf("mallory"), start.toEpochMilli() + 50_000)).isZero();
    }

    @Test
    void should_refuse_a_virtual_key_by_its_secret_and_not_another_key_of_the_same_owner() {
        String key = attest.keys.KeySecrets.generate();
        String other = attest.keys.KeySecrets.generate();
        for (int i = 0; i < 3; i++) {
            denials.denied(DenialLimiter.key(key), start.toEpochMilli());
        }
        assertThat(call("Bearer " + key, "{}")).startsWith("HTTP/1.1 429").doesNotContain(key);
        assertThat(call("Bearer " + other, "{}")).startsWith("HTTP/1.1 200");
        assertThat(h.refusals).hasSize(1);
    }

    @Test
    void should_check_a_held_virtual_key_against_its_denials_when_the_store_answers() {
        String key = attest.keys.KeySecrets.generate();
        for (int i = 0; i < 3; i++) {
            denials.denied(DenialLimiter.key(key), start.toEpochMilli());
        }
        var lookup = new java.util.concurrent.CompletableFuture<String>();
        KeyCheck store = new KeyCheck() {
            @Override
            public String check(String secret, String source) {
                return null;
            }

            @Override
            public java.util.concurrent.CompletionStage<String> checkOffLoop(String secret, String source) {
                return lookup;
            }
        };
        EmbeddedChannel ch = h.channel(guarded(store));
        ch.writeInbound(FloodGuardsTest.bytes(FloodGuardsTest.head("POST", "/llm/v1/chat/completions", "x-api-key: " + key, "Content-Length: 2")
                + "{}"));
        assertThat(FloodGuardsTest.answer(ch)).isEmpty();
        lookup.complete(null); // the key is live, but its calls were refused too often
        ch.runPendingTasks();
        assertThat(FloodGuardsTest.answer(ch)).startsWith("HTTP/1.1 429");
        assertThat(h.routed).isEmpty();
    }

    @Test
    void should_not_refuse_a_bad_token_as_too_many_denials_but_as_unauthenticated() {
        for (int i = 0; i < 3; i++) {
            denials.denied(subjectOf("mallory"), start.toEpochMilli());
        }
        assertThat(call("Bearer not.a.jwt", "{}")).startsWith("HTTP/1.1 401");
        assertThat(h.refusals).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(401);
            assertThat(r.subject()).isNull(); // no verified caller: nobody is named
        });
    }
}
