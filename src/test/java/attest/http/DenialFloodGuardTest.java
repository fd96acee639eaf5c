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
        lockOut(key, KEY_A, "erin-sub");
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
        assertThat(h.refusals).singleElement().satisfies(r -> { // named as when not held
            assertThat(r.keyId()).isEqualTo(KEY_A);
            assertThat(r.subject()).isEqualTo("erin-sub");
        });
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

    // --- a virtual key's refusal names the key as its calls' evidence does (key_id, and its owner as subject)

    static final UUID KEY_A = UUID.fromString("a1a1a1a1-0000-4000-8000-00000000000a");
    static final UUID KEY_B = UUID.fromString("b2b2b2b2-0000-4000-8000-00000000000b");

    /** A request with these headers through guards whose key check says {@code keys} (a secret's problem, or live). */
    String send(KeyCheck keys, String... headers) {
        EmbeddedChannel ch = h.channel(guarded(keys));
        String[] all = java.util.Arrays.copyOf(headers, headers.length + 1);
        all[headers.length] = "Content-Length: 2";
        ch.writeInbound(FloodGuardsTest.bytes(FloodGuardsTest.head("POST", "/llm/v1/chat/completions", all) + "{}"));
        ch.runPendingTasks();
        return FloodGuardsTest.answer(ch);
    }

    void lockOut(String secret, UUID keyId, String owner) {
        for (int i = 0; i < 3; i++) {
            denials.denied(DenialLimiter.key(secret), new DenialLimiter.KeyName(keyId, owner), start.toEpochMilli());
        }
    }

    /** Nothing of the secret, nor its digest, in what the refusal carries to the evidence. */
    static void carriesNoSecret(RefusedRequest r, String secret) {
        String digest = DenialLimiter.key(secret).substring(4);
        assertThat(r.toString()).doesNotContain(secret).doesNotContain(digest)
                .doesNotContain(secret.substring(secret.length() - 8));
    }

    @Test
    void should_name_a_locked_out_virtual_key_by_its_id_and_its_owner_never_its_secret() {
        String key = attest.keys.KeySecrets.generate();
        lockOut(key, KEY_A, "erin-sub");
        assertThat(send((secret, source) -> null, "Authorization: Bearer " + key)).startsWith("HTTP/1.1 429")
                .contains("too_many_denials").doesNotContain(KEY_A.toString()).doesNotContain(key);
        assertThat(h.routed).isEmpty();
        assertThat(h.refusals).singleElement().satisfies(r -> {
            assertThat(r.code()).isEqualTo("too_many_denials");
            assertThat(r.keyId()).isEqualTo(KEY_A);
            assertThat(r.subject()).isEqualTo("erin-sub");
            carriesNoSecret(r, key);
        });
    }

    @Test
    void should_name_the_key_whatever_header_spelling_carried_its_secret() {
        String key = attest.keys.KeySecrets.generate();
        List<String> spellings = List.of("Authorization: Bearer " + key, "authorization: bearer   " + key + "  ",
                "x-api-key: " + key, "X-Api-Key:  " + key, "api-key: " + key, "Api-Key: " + key + " ");
        // counted through the processor from every spelling: one caller, one count
        attest.policy.CountDenialProcessor count = new attest.policy.CountDenialProcessor(denials, clock);
        for (String spelled : spellings.subList(0, 3)) {
            String[] hv = spelled.split(":", 2);
            attest.identity.Credential c = attest.identity.Credential.read(
                    name -> name.equalsIgnoreCase(hv[0].trim()) ? List.of(hv[1].trim()) : List.of());
            org.apache.camel.Exchange e = new org.apache.camel.support.DefaultExchange(
                    new org.apache.camel.impl.DefaultCamelContext());
            e.getMessage().setHeader(org.apache.camel.Exchange.HTTP_RESPONSE_CODE, 403);
            e.setProperty(attest.Exchanges.CREDENTIAL, c);
            e.setProperty(attest.Exchanges.KEY, new attest.keys.VirtualKey(KEY_A, "ci", "atk_…", "erin-sub", "erin",
                    attest.identity.Identity.USER, "attest-cli", List.of(), List.of(), attest.usage.Budget.NONE,
                    start, "erin", start.plusSeconds(86_400), null, null));
            e.setProperty(attest.Exchanges.IDENTITY, new attest.identity.Identity("erin-sub", "erin",
                    attest.identity.Identity.USER, "attest-cli", List.of(), List.of(), "key:" + KEY_A, "iss", null));
            count.process(e);
        }
        assertThat(denials.deniedInWindow(DenialLimiter.key(key), start.toEpochMilli())).isEqualTo(3);
        for (String spelled : spellings) {
            assertThat(send((secret, source) -> null, spelled)).as(spelled).startsWith("HTTP/1.1 429");
        }
        assertThat(h.routed).isEmpty();
        assertThat(h.refusals).hasSize(spellings.size()).allSatisfy(r -> {
            assertThat(r.keyId()).isEqualTo(KEY_A);
            assertThat(r.subject()).isEqualTo("erin-sub");
            carriesNoSecret(r, key);
        });
    }

    @Test
    void should_name_each_of_two_keys_of_one_owner_locked_out_separately() {
        String a = attest.keys.KeySecrets.generate();
        String b = attest.keys.KeySecrets.generate();
        lockOut(a, KEY_A, "erin-sub");
        assertThat(send((secret, source) -> null, "x-api-key: " + b)).startsWith("HTTP/1.1 200"); // b not yet
        lockOut(b, KEY_B, "erin-sub");
        assertThat(send((secret, source) -> null, "x-api-key: " + b)).startsWith("HTTP/1.1 429");
        assertThat(send((secret, source) -> null, "x-api-key: " + a)).startsWith("HTTP/1.1 429");
        assertThat(h.refusals).extracting(RefusedRequest::keyId).containsExactly(KEY_B, KEY_A);
        assertThat(h.refusals).extracting(RefusedRequest::subject).containsOnly("erin-sub");
    }

    @Test
    void should_not_cross_name_a_token_caller_and_a_key_caller_locked_out_in_one_window() {
        String mallory = TOKENS.user("mallory", List.of());
        String key = attest.keys.KeySecrets.generate();
        // the key's owner is mallory herself: still two callers, each named as it called
        String malloryId = UUID.nameUUIDFromBytes("mallory".getBytes()).toString();
        for (int i = 0; i < 3; i++) {
            denials.denied(subjectOf("mallory"), start.toEpochMilli());
        }
        lockOut(key, KEY_A, malloryId);
        assertThat(send((secret, source) -> null, "Authorization: Bearer " + mallory)).startsWith("HTTP/1.1 429");
        assertThat(send((secret, source) -> null, "Authorization: Bearer " + key)).startsWith("HTTP/1.1 429");
        assertThat(send((secret, source) -> null, "Authorization: Bearer " + mallory)).startsWith("HTTP/1.1 429");
        assertThat(h.refusals).extracting(RefusedRequest::subject).containsOnly(malloryId);
        assertThat(h.refusals).extracting(RefusedRequest::keyId).containsExactly(null, KEY_A, null);
    }

    @Test
    void should_still_name_a_key_revoked_or_expired_after_its_denials_while_the_door_takes_it_as_live() {
        String key = attest.keys.KeySecrets.generate();
        lockOut(key, KEY_A, "erin-sub");
        // revoked in the store meanwhile, the resolver's cache not yet refreshed (a removed key stops working within
        // a bounded time): the door still takes it as live, and its refusal names who was refused
        assertThat(send((secret, source) -> null, "x-api-key: " + key)).startsWith("HTTP/1.1 429");
        // once the door knows it is revoked or expired, it is refused as a bad credential: 401, as any such key
        assertThat(send((secret, source) -> "key revoked", "x-api-key: " + key)).startsWith("HTTP/1.1 401");
        assertThat(send((secret, source) -> "key expired", "x-api-key: " + key)).startsWith("HTTP/1.1 401");
        assertThat(h.refusals).extracting(RefusedRequest::status).containsExactly(429, 401, 401);
        assertThat(h.refusals.get(0).keyId()).isEqualTo(KEY_A);
        assertThat(h.refusals.get(0).subject()).isEqualTo("erin-sub");
        assertThat(h.refusals.subList(1, 3)).allSatisfy(r -> {
            assertThat(r.keyId()).isNull();
            assertThat(r.subject()).isNull();
            carriesNoSecret(r, key);
        });
    }

    @Test
    void should_never_name_a_bad_secret_nor_a_key_counted_without_its_id() {
        String known = attest.keys.KeySecrets.generate();
        lockOut(known, KEY_A, "erin-sub");
        String unknown = attest.keys.KeySecrets.generate();
        // a bad secret is refused 401 naming nobody, even one whose digest was counted
        for (int i = 0; i < 3; i++) {
            denials.denied(DenialLimiter.key(unknown), start.toEpochMilli());
        }
        assertThat(send((secret, source) -> secret.equals(unknown) ? "unknown key" : null, "x-api-key: " + unknown))
                .startsWith("HTTP/1.1 401");
        assertThat(send((secret, source) -> "unknown key", "x-api-key: " + known + "x")).startsWith("HTTP/1.1 401");
        assertThat(send((secret, source) -> null, "x-api-key: not-a-key")).startsWith("HTTP/1.1 401");
        // a live key whose denials were counted without its id (not known, e.g. before a restart): 429, no key named
        assertThat(send((secret, source) -> null, "x-api-key: " + unknown)).startsWith("HTTP/1.1 429");
        assertThat(h.refusals).extracting(RefusedRequest::status).containsExactly(401, 401, 401, 429);
        assertThat(h.refusals).allSatisfy(r -> {
            assertThat(r.keyId()).isNull();
            assertThat(r.subject()).isNull();
            carriesNoSecret(r, unknown);
            carriesNoSecret(r, known);
        });
    }
}
