package attest.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static attest.e2e.Keys.call;
import static attest.e2e.Keys.chat;
import static attest.e2e.Keys.count;
import static attest.e2e.Keys.createKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Issue 13, virtual keys: long-lived keys bound to a Keycloak identity, used by the OpenAI Java SDK past the
 * lifespan of any access token; revocation, a disabled owner, expiry, wrong and brute-forced keys, and a key's
 * scope, each against the real Keycloak, PostgreSQL and the demo upstream.
 */
class KeysE2EIT {
    static final ChatCompletionCreateParams HELLO = ChatCompletionCreateParams.builder().model("demo-model")
            .addUserMessage("hello").build();

    @BeforeAll
    static void up() {
        stack();
    }

    @AfterAll
    static void logsHoldNoSecrets() {
        E2E.assertLogsClean();
    }

    static OpenAIClient sdk(String key) {
        return OpenAIOkHttpClient.builder().baseUrl(stack().gatewayUrl() + "/llm/v1").apiKey(key).maxRetries(0)
                .timeout(Duration.ofSeconds(30)).build();
    }

    static String streamed(OpenAIClient client) {
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(HELLO)) {
            s.stream().forEach(chunk -> {
                assertThat(chunk.usage()).as("the SDK did not ask for usage: no usage chunk").isEmpty();
                chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
            });
        }
        return text.toString();
    }

    @Test
    void should_serve_the_openai_sdk_with_a_key_past_the_token_lifespan_until_it_is_revoked() throws Exception {
        String user = Keys.unique("keyuser");
        String userId = Keys.createUser(user, "inference-user");
        String client = Keys.unique("keys-e2e-cli");
        String clientId = Keys.createShortClient(client, 5);
        try {
            String token = Keys.token(client, user);
            JsonNode key = createKey(token, "{\"name\":\"notebook\",\"expires_in\":\"P1D\",\"upstreams\":[\"llm\"],"
                    + "\"models\":[\"demo-*\"]}");
            String secret = key.path("key").asText();
            assertThat(secret).matches("atk_[A-Za-z0-9_-]{43}");
            assertThat(key.path("owner").asText()).isEqualTo(user);
            // the secret is shown once: never listed, never stored in clear
            HttpResponse<String> listed = Keys.list(Keys.token(client, user));
            assertThat(listed.statusCode()).isEqualTo(200);
            assertThat(listed.body()).contains(key.path("id").asText()).doesNotContain(secret);
            assertThat(count("SELECT count(*) FROM api_key WHERE position(convert_to(?, 'UTF8') in secret_sha256) > 0 "
                    + "OR hint = ?", secret, secret)).isZero();

            OpenAIClient sdk = sdk(secret);
            Instant start = Instant.now();
            ChatCompletion first = sdk.chat().completions().create(HELLO);
            assertThat(first.choices().get(0).message().content()).isPresent();
            assertThat(streamed(sdk)).isNotEmpty();
            // the access token the key was created with expires (5 s); the key goes on
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() ->
                    Keys.chat(token, "demo-model").statusCode() == 401);
            Instant expired = Instant.ofEpochSecond(JSON.readTree(java.util.Base64.getUrlDecoder().decode(
                    token.split("\\.")[1])).path("exp").asLong());
            assertThat(Instant.now()).as("past the token's own expiry").isAfter(expired);
            assertThat(sdk.chat().completions().create(HELLO).choices()).isNotEmpty();
            assertThat(streamed(sdk)).isNotEmpty();
            assertThat(Duration.between(start, Instant.now())).as("the key outlived the token's whole lifespan")
                    .isGreaterThan(Duration.between(start, expired));

            // every call with the key is evidence of the key and its owner, with its usage
            String keyId = key.path("id").asText();
            assertThat(count("SELECT count(*) FROM evidence_record WHERE key_id = ?::uuid AND username = ? AND "
                    + "outcome = 'completed' AND usage_status = 'reported' AND total_tokens > 0", keyId, user))
                    .isEqualTo(4);
            assertThat(count("SELECT count(*) FROM evidence_record WHERE key_id = ?::uuid AND streamed AND "
                    + "total_tokens = prompt_tokens + completion_tokens", keyId)).isEqualTo(2);
            assertThat(count("SELECT count(*) FROM evidence_chain WHERE kind = 'key.created' AND subject_id = ?::uuid",
                    keyId)).isEqualTo(1);

            // revoked mid-run: within 5 s the next call is 401, on the SDK as on curl
            assertThat(Keys.revoke(Keys.token(client, user), keyId).statusCode()).isEqualTo(200);
            Instant revoked = Instant.now();
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
                    assertThatThrownBy(() -> sdk.chat().completions().create(HELLO))
                            .isInstanceOf(UnauthorizedException.class));
            assertThat(Duration.between(revoked, Instant.now())).isLessThanOrEqualTo(Duration.ofSeconds(5));
            assertThat(chat(secret, "demo-model").body()).doesNotContain(secret).contains("invalid_token");
            assertThat(count("SELECT count(*) FROM evidence_chain WHERE kind = 'key.revoked' AND subject_id = ?::uuid",
                    keyId)).isEqualTo(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM evidence_record WHERE "
                    + "auth_error = 'key revoked' AND received_at >= ?", java.sql.Timestamp.from(revoked)) > 0);
            // a second revocation changes nothing and records nothing
            assertThat(Keys.revoke(Keys.token(client, user), keyId).statusCode()).isEqualTo(409);
            assertThat(count("SELECT count(*) FROM evidence_chain WHERE kind = 'key.revoked' AND subject_id = ?::uuid",
                    keyId)).isEqualTo(1);
        } finally {
            Keys.deleteClient(clientId);
            Keys.deleteUser(userId);
        }
    }

    @Test
    void should_refuse_a_key_whose_owner_is_disabled_in_keycloak_within_60_seconds() throws Exception {
        String user = Keys.unique("keyowner");
        String userId = Keys.createUser(user, "inference-user");
        try {
            String secret = createKey(Keys.token("attest-cli", user), "{\"name\":\"agent\"}").path("key").asText();
            OpenAIClient sdk = sdk(secret);
            assertThat(sdk.chat().completions().create(HELLO).choices()).isNotEmpty();
            Keys.setEnabled(userId, false);
            Instant disabled = Instant.now();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
                    assertThatThrownBy(() -> sdk.chat().completions().create(HELLO))
                            .isInstanceOf(UnauthorizedException.class));
            assertThat(Duration.between(disabled, Instant.now())).isLessThan(Duration.ofSeconds(60));
            assertThat(count("SELECT count(*) FROM evidence_record WHERE auth_error = 'key owner disabled or deleted' "
                    + "AND received_at >= ?", java.sql.Timestamp.from(disabled))).isPositive();
            // enabled again, the key works again: its power is the owner's, as Keycloak says now
            Keys.setEnabled(userId, true);
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() ->
                    chat(secret, "demo-model").statusCode() == 200);
        } finally {
            Keys.deleteUser(userId);
        }
    }

    @Test
    void should_refuse_wrong_malformed_and_expired_keys_with_401_and_evidence() throws Exception {
        Instant start = Instant.now().minusSeconds(1);
        String wrong = "atk_" + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                java.security.SecureRandom.getSeed(32));
        for (String bad : new String[]{wrong, "atk_short", "atk_" + "A".repeat(43) + "\u00e9", wrong.toUpperCase()}) {
            HttpResponse<String> r = chat(bad, "demo-model");
            assertThat(r.statusCode()).as(bad).isEqualTo(401);
            assertThat(r.body()).doesNotContain(bad);
        }
        for (String header : new String[]{"api-key", "x-api-key"}) {
            assertThat(call(stack().gatewayUrl(), "/llm/v1/chat/completions", header, wrong, E2E.CHAT).statusCode())
                    .isEqualTo(401);
            assertThat(call(stack().gatewayUrl(), "/llm/v1/chat/completions", header, "sk-not-a-key", E2E.CHAT)
                    .statusCode()).isEqualTo(401);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM evidence_record WHERE "
                + "auth_error = 'unknown key' AND outcome = 'unauthenticated' AND status = 401 AND received_at >= ?",
                java.sql.Timestamp.from(start)) >= 3);

        JsonNode shortLived = createKey(stack().userToken("alice"), "{\"name\":\"brief\",\"expires_in\":\"PT3S\"}");
        String secret = shortLived.path("key").asText();
        assertThat(chat(secret, "demo-model").statusCode()).isEqualTo(200);
        Instant expires = Instant.parse(shortLived.path("expires_at").asText());
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250)).until(() ->
                chat(secret, "demo-model").statusCode() == 401);
        assertThat(Instant.now()).isAfterOrEqualTo(expires);
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM evidence_record WHERE "
                + "auth_error = 'key expired' AND received_at >= ?", java.sql.Timestamp.from(start)) > 0);
        // the expiry itself is evidence, recorded once by whichever replica gets there first
        await().atMost(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM evidence_chain WHERE "
                + "kind = 'key.expired' AND subject_id = ?::uuid", shortLived.path("id").asText()) == 1);
    }

    @Test
    void should_narrow_a_key_to_its_scope_and_never_past_its_owner() throws Exception {
        String alice = stack().userToken("alice");
        String narrow = createKey(alice, "{\"name\":\"one model\",\"upstreams\":[\"llm\"],\"models\":[\"demo-model\"]}")
                .path("key").asText();
        assertThat(chat(narrow, "demo-model").statusCode()).isEqualTo(200);
        HttpResponse<String> otherModel = chat(narrow, "demo-pii");
        assertThat(otherModel.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(otherModel.body()).path("error").path("rule_id").asText()).isEqualTo("key-scope");
        assertThat(call(stack().gatewayUrl(), "/llm/v1/chat/completions", "Authorization", narrow,
                "{\"messages\":[{\"role\":\"user\",\"content\":\"no model named\"}]}").statusCode()).isEqualTo(403);
        assertThat(call(stack().gatewayUrl(), "/llm-oauth/v1/chat/completions", "Authorization", narrow, E2E.CHAT)
                .statusCode()).as("another upstream").isEqualTo(403);

        // a key has the owner's power at most: dave (no inference role) can neither create one nor call
        assertThat(Keys.create(stack().userToken("dave"), "{\"name\":\"x\"}").statusCode()).isEqualTo(403);
        // a body cannot name another owner, and a key cannot create, list or revoke keys
        assertThat(Keys.create(alice, "{\"name\":\"x\",\"owner\":\"bob\"}").statusCode()).isEqualTo(400);
        assertThat(Keys.create(alice, "{\"name\":\"x\",\"upstreams\":[\"nowhere\"]}").statusCode()).isEqualTo(400);
        assertThat(Keys.create(narrow, "{\"name\":\"child\"}").statusCode()).isEqualTo(401);
        assertThat(Keys.list(narrow).statusCode()).isEqualTo(401);
        String narrowId = JSON.readTree(Keys.list(alice).body()).path("keys").get(0).path("id").asText();
        assertThat(Keys.revoke(narrow, narrowId).statusCode()).isEqualTo(401);
        // another user cannot revoke it (404, as if it did not exist); an auditor sees every key, never a secret
        assertThat(Keys.revoke(stack().userToken("bob"), narrowId).statusCode()).isEqualTo(404);
        HttpResponse<String> all = Keys.list(stack().userToken("carol"));
        assertThat(JSON.readTree(all.body()).path("scope").asText()).isEqualTo("all");
        assertThat(all.body()).contains(narrowId).doesNotContain(narrow).doesNotContain("\"key\":");
        HttpResponse<String> own = Keys.list(stack().userToken("bob"));
        assertThat(own.body()).doesNotContain(narrowId);
        // a token and a key together is ambiguous: refused
        assertThat(call(stack().gatewayUrl(), "/llm/v1/chat/completions", "x-api-key", narrow, E2E.CHAT).statusCode())
                .isEqualTo(200);
        var both = java.net.http.HttpRequest.newBuilder(java.net.URI.create(stack().gatewayUrl()
                        + "/llm/v1/chat/completions")).header("Authorization", "Bearer " + alice).header("x-api-key", narrow)
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(E2E.CHAT))
                .build();
        assertThat(E2E.HTTP.send(both, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        // the caller's key never reaches the upstream
        assertThat(stack().demo.received().stream().flatMap(r -> r.headers().values().stream())
                .flatMap(java.util.List::stream).noneMatch(v -> v.contains(narrow))).isTrue();
    }

    @Test
    void should_let_a_service_account_hold_a_key() throws Exception {
        JsonNode key = createKey(stack().serviceAccountToken(), "{\"name\":\"nightly\",\"expires_in\":\"P90D\"}");
        assertThat(key.path("principal_type").asText()).isEqualTo("service_account");
        String rid = newRequestId();
        HttpResponse<String> r = call(stack().gatewayUrl(), "/llm/v1/chat/completions", "api-key",
                key.path("key").asText(), E2E.CHAT, rid);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> evidence(rid) != null);
        Map<String, Object> row = evidence(rid);
        assertThat(row.get("principal_type")).isEqualTo("service_account");
        assertThat(row.get("key_id")).isEqualTo(UUID.fromString(key.path("id").asText()));
        assertThat(row.get("client_id")).isEqualTo("batch-job");
    }
}
