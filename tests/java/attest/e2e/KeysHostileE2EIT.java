package attest.e2e;

import attest.demo.DemoModelServer;
import attest.stack.Gateway;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;

import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Hostile tests of virtual keys, token usage and budgets (issue #13), written from the issue, the README and
 * docs/usage.md alone: credentials in shapes no SDK sends, guessed and flooded keys, revocation and expiry races,
 * scope escalation at creation, keys on the control plane, a disabled owner, stream usage chunks, usage reports
 * against the evidence, CSV formulas through key names, racing calls against limits and budgets, and log hygiene.
 * Every user is the test's own (created in Keycloak, removed afterwards).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KeysHostileE2EIT {
    static final String CHAT_PATH = "/llm/v1/chat/completions";
    static final Pattern ANY_KEY = Pattern.compile("atk_[A-Za-z0-9_-]{20,}");
    static final List<String> USERS = new ArrayList<>();

    record Owner(String id, String username) {
        String token() throws Exception {
            return Keys.token("attest-cli", username);
        }
    }

    static Owner newOwner(String... roles) {
        String name = Keys.unique("kh");
        String id = Keys.createUser(name, roles.length == 0 ? new String[] {"inference-user"} : roles);
        USERS.add(id);
        return new Owner(id, name);
    }

    @AfterAll
    static void cleanUp() {
        USERS.forEach(Keys::deleteUser);
    }

    static JsonNode key(Owner o, String body) throws Exception {
        return Keys.createKey(o.token(), body);
    }

    static JsonNode key(Owner o) throws Exception {
        return key(o, "{\"name\":\"" + Keys.unique("k") + "\"}");
    }

    static String chatBody(String model, String prompt) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}";
    }

    /** Any request to base + path, with header name/value pairs given as they are (duplicates kept). */
    static HttpResponse<String> send(String base, String method, String path, String body, String rid,
                                     String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                .header("X-Request-Id", rid).method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> chat(String rid, String... headers) throws Exception {
        return send(stack().gatewayUrl(), "POST", CHAT_PATH, chatBody("demo-model", "hello"), rid, headers);
    }

    static Map<String, Object> awaitEvidence(String rid) {
        await().atMost(Duration.ofSeconds(15)).until(() -> evidence(rid) != null);
        try {
            return evidence(rid);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The evidence of a call refused on its headers: recorded under the gateway's id, which the answer names. */
    static Map<String, Object> awaitEvidence(HttpResponse<String> r) {
        return awaitEvidence(r.headers().firstValue("X-Request-Id").orElseThrow());
    }

    static long chainEntries(String kind, String subject) throws Exception {
        return Keys.count("SELECT count(*) FROM evidence_chain WHERE kind = ? AND subject_id::text = ?", kind, subject);
    }

    static long expectedTotal(String model, String prompt) {
        return DemoModelServer.usage(model, prompt, "Hello from the demo model. You said: " + prompt)
                .get("total_tokens").asLong();
    }

    static String auditUsage(String query) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(Keys.control() + "/audit/usage?"
                        + query)).header("Authorization", "Bearer " + stack().userToken("carol")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("/audit/usage?" + query + ": " + r.body()).isEqualTo(200);
        return r.body();
    }

    // ---- credentials on the data plane --------------------------------------------------------------------

    @Test
    @Order(1)
    void should_accept_a_key_in_every_documented_header_spelling_and_never_forward_it() throws Exception {
        Owner o = newOwner();
        JsonNode k = key(o);
        String secret = k.path("key").asText();
        String[][] spellings = {
                {"Authorization", "Bearer " + secret}, {"authorization", "bearer " + secret},
                {"AUTHORIZATION", "BEARER " + secret}, {"Authorization", "Bearer " + secret + "  "},
                {"api-key", secret}, {"API-KEY", secret}, {"Api-Key", " " + secret},
                {"x-api-key", secret}, {"X-API-KEY", secret}, {"X-Api-Key", secret + "\t"}};
        for (String[] h : spellings) {
            String rid = newRequestId();
            HttpResponse<String> r = chat(rid, h[0], h[1]);
            String what = h[0] + ": " + h[1].replace(secret, "<key>");
            assertThat(r.statusCode()).as(what + " -> " + r.body()).isEqualTo(200);
            Map<String, Object> e = awaitEvidence(rid);
            assertThat(String.valueOf(e.get("key_id"))).as(what).isEqualTo(k.path("id").asText());
            assertThat(e.get("subject")).as(what).isEqualTo(o.id());
            assertThat(e.get("username")).as(what).isEqualTo(o.username());
            DemoModelServer.Received up = stack().demo.received().stream().filter(E2E.sentAs(rid)).findFirst()
                    .orElseThrow();
            assertThat(up.header("Authorization")).as(what).isEqualTo("Bearer " + stack().demoKey);
            assertThat(up.headers().toString() + up.rawQuery() + up.body()).as(what).doesNotContain(secret)
                    .doesNotContain(secret.substring(4));
        }
    }

    @Test
    @Order(2)
    void should_refuse_a_key_that_is_not_exactly_one_credential_in_a_documented_header() throws Exception {
        Owner o = newOwner();
        String secret = key(o).path("key").asText();
        String other = key(o).path("key").asText();
        String token = o.token();
        String b64 = Base64.getEncoder().encodeToString((secret + ":").getBytes(StandardCharsets.UTF_8));
        Map<String, String[]> variants = new java.util.LinkedHashMap<>();
        variants.put("no credential at all", new String[0]);
        variants.put("Cookie api-key", new String[] {"Cookie", "api-key=" + secret});
        variants.put("Cookie Authorization", new String[] {"Cookie", "Authorization=Bearer%20" + secret});
        variants.put("Authorization twice, same key", new String[] {"Authorization", "Bearer " + secret,
                "Authorization", "Bearer " + secret});
        variants.put("api-key twice, same key", new String[] {"api-key", secret, "api-key", secret});
        variants.put("two different keys", new String[] {"Authorization", "Bearer " + secret, "x-api-key", other});
        variants.put("token and key", new String[] {"Authorization", "Bearer " + token, "api-key", secret});
        variants.put("token in api-key", new String[] {"api-key", token});
        variants.put("Basic with the key", new String[] {"Authorization", "Basic " + b64});
        variants.put("Token scheme", new String[] {"Authorization", "Token " + secret});
        variants.put("upper-case prefix", new String[] {"Authorization", "Bearer ATK_" + secret.substring(4)});
        variants.put("no prefix", new String[] {"x-api-key", secret.substring(4)});
        variants.put("padding added", new String[] {"x-api-key", secret + "="});
        variants.put("Bearer inside api-key", new String[] {"api-key", "Bearer " + secret});
        variants.put("two keys in one header", new String[] {"Authorization", "Bearer " + secret + "," + other});
        int before = stack().demo.calls();
        List<HttpResponse<String>> refusals = new ArrayList<>();
        for (Map.Entry<String, String[]> v : variants.entrySet()) {
            HttpResponse<String> r = chat(newRequestId(), v.getValue());
            refusals.add(r);
            assertThat(r.statusCode()).as(v.getKey() + " -> " + r.body()).isEqualTo(401);
            assertThat(r.body()).as(v.getKey()).doesNotContain(secret).doesNotContain(other);
        }
        // the key in the query string, with no header: nothing authenticates the call
        for (String q : List.of("?api-key=", "?api_key=", "?key=", "?access_token=")) {
            HttpResponse<String> r = send(stack().gatewayUrl(), "POST", CHAT_PATH + q + secret,
                    chatBody("demo-model", "hello"), newRequestId());
            refusals.add(r);
            assertThat(r.statusCode()).as("key in the query " + q + " -> " + r.body()).isEqualTo(401);
        }
        assertThat(stack().demo.calls()).as("refused calls reach no upstream").isEqualTo(before);
        for (HttpResponse<String> r : refusals) {
            Map<String, Object> e = awaitEvidence(r);
            assertThat(e.get("outcome")).isEqualTo("unauthenticated");
            assertThat(String.valueOf(e.get("auth_error"))).doesNotContain(secret).doesNotContain(secret.substring(4))
                    .doesNotContain(other.substring(4));
        }
    }

    @Test
    @Order(3)
    void should_refuse_guessed_suffixes_on_another_owners_key_and_leave_the_owner_unharmed() throws Exception {
        Owner victim = newOwner();
        String secret = key(victim).path("key").asText();
        char last = secret.charAt(secret.length() - 1);
        List<String> guesses = List.of(
                secret.substring(0, secret.length() - 1) + (last == 'A' ? 'B' : 'A'),
                secret.substring(0, secret.length() - 4) + "AAAA",
                secret.substring(0, secret.length() - 1),
                secret + "A",
                secret.substring(0, 4) + new StringBuilder(secret.substring(4)).reverse());
        for (String g : guesses) {
            HttpResponse<String> r = chat(newRequestId(), "Authorization", "Bearer " + g);
            assertThat(r.statusCode()).as("guess " + guesses.indexOf(g)).isEqualTo(401);
            Map<String, Object> e = awaitEvidence(r);
            assertThat(e.get("outcome")).isEqualTo("unauthenticated");
            assertThat(e.get("subject")).as("a guess never names the owner").isNull();
            assertThat(e.get("key_id")).isNull();
            assertThat(String.valueOf(e.get("auth_error"))).doesNotContain(g.substring(4, 20));
        }
        assertThat(chat(newRequestId(), "Authorization", "Bearer " + secret).statusCode())
                .as("the owner's key still works").isEqualTo(200);
    }

    @Test
    @Order(4)
    void should_stop_lookups_after_too_many_unknown_keys_from_one_source_and_record_every_refusal()
            throws Exception {
        Owner o = newOwner();
        String fresh = key(o).path("key").asText();
        Map<String, String> p = stack().extraGatewaySettings();
        p.put("attest.instance-id", "keys-hostile");
        p.put("attest.approval.admin.client-secret-env", "");
        p.put("attest.approval.admin.client-secret-file", stack().work.resolve("gateway-client.secret").toString());
        p.put("attest.keys.misses-per-source", "5");
        String base = "http://127.0.0.1:" + p.get("attest.data.port");
        Gateway gw = new Gateway(p).start();
        try {
            // the misses are counted per clock minute: the 12 wrong keys and the look-up after them must fall in one
            // minute (12 misses across a boundary are two counts, each under the limit), so they start with 20 s left
            UsageE2EIT.awaitRoomInMinute(20);
            long minute = System.currentTimeMillis() / 60_000;
            List<HttpResponse<String>> refusals = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String wrong = "atk_" + Base64.getUrlEncoder().withoutPadding().encodeToString(
                        MessageDigest.getInstance("SHA-256").digest(UUID.randomUUID().toString().getBytes()));
                HttpResponse<String> r = send(base, "POST", CHAT_PATH, chatBody("demo-model", "hello"),
                        newRequestId(), "Authorization", "Bearer " + wrong);
                assertThat(r.statusCode()).as("wrong key " + i).isEqualTo(401);
                refusals.add(r);
            }
            // past the misses a source gets no look-ups: a valid key never seen on this replica is not resolved
            HttpResponse<String> r = send(base, "POST", CHAT_PATH, chatBody("demo-model", "hello"), newRequestId(),
                    "Authorization", "Bearer " + fresh);
            assertThat(System.currentTimeMillis() / 60_000).as("13 calls took over 20 s: the minute ended under them")
                    .isEqualTo(minute);
            assertThat(r.statusCode()).as("look-ups stopped for this source this minute").isEqualTo(401);
            for (HttpResponse<String> refused : refusals) {
                assertThat(awaitEvidence(refused).get("outcome")).as("every refusal is evidence")
                        .isEqualTo("unauthenticated");
            }
            // a Keycloak token is a different credential: still served
            assertThat(send(base, "POST", CHAT_PATH, chatBody("demo-model", "hello"), newRequestId(),
                    "Authorization", "Bearer " + o.token()).statusCode()).isEqualTo(200);
        } finally {
            gw.close();
        }
    }

    // ---- expiry and revocation --------------------------------------------------------------------------------

    @Test
    @Order(5)
    void should_refuse_an_expired_key_with_evidence_and_record_its_expiry_once() throws Exception {
        Owner o = newOwner();
        JsonNode k = key(o, "{\"name\":\"short\",\"expires_in\":\"PT3S\"}");
        String secret = k.path("key").asText();
        String id = k.path("id").asText();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(250))
                .until(() -> chat(newRequestId(), "x-api-key", secret).statusCode() == 401);
        HttpResponse<String> refused = chat(newRequestId(), "x-api-key", secret);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(awaitEvidence(refused).get("auth_error")).isEqualTo("key expired");
        await().atMost(Duration.ofSeconds(40)).until(() -> chainEntries("key.expired", id) > 0);
        assertThat(chainEntries("key.expired", id)).isEqualTo(1);
        assertThat(chainEntries("key.created", id)).isEqualTo(1);
    }

    @Test
    @Order(6)
    void should_stop_a_revoked_key_within_five_seconds_and_refuse_a_second_revocation() throws Exception {
        Owner o = newOwner();
        JsonNode k = key(o);
        String secret = k.path("key").asText();
        String id = k.path("id").asText();
        assertThat(chat(newRequestId(), "api-key", secret).statusCode()).as("warm every cache").isEqualTo(200);
        HttpResponse<String> del = Keys.revoke(o.token(), id);
        assertThat(del.statusCode()).as(del.body()).isEqualTo(200);
        assertThat(del.body()).doesNotContain(secret);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> chat(newRequestId(), "api-key", secret).statusCode() == 401);
        for (int i = 0; i < 5; i++) {
            HttpResponse<String> r = chat(newRequestId(), i % 2 == 0 ? "Authorization" : "x-api-key",
                    (i % 2 == 0 ? "Bearer " : "") + secret);
            assertThat(r.statusCode()).as("once refused, always").isEqualTo(401);
            assertThat(awaitEvidence(r).get("auth_error")).isEqualTo("key revoked");
        }
        HttpResponse<String> again = Keys.revoke(o.token(), id);
        assertThat(again.statusCode()).as("deleted twice: " + again.body()).isEqualTo(409);
        assertThat(chainEntries("key.revoked", id)).as("one revocation in the evidence").isEqualTo(1);
    }

    @Test
    @Order(7)
    void should_not_let_anyone_but_the_owner_revoke_a_key_nor_learn_that_it_exists() throws Exception {
        Owner o = newOwner();
        Owner mallory = newOwner();
        JsonNode k = key(o, "{\"name\":\"secret-project-x\"}");
        String id = k.path("id").asText();
        HttpResponse<String> theirs = Keys.revoke(mallory.token(), id);
        HttpResponse<String> none = Keys.revoke(mallory.token(), UUID.randomUUID().toString());
        assertThat(theirs.statusCode()).as(theirs.body()).isEqualTo(404);
        assertThat(none.statusCode()).as(none.body()).isEqualTo(404);
        assertThat(JSON.readTree(theirs.body()).path("error"))
                .as("the same answer as for a key that does not exist").isEqualTo(JSON.readTree(none.body()).path("error"));
        assertThat(theirs.body()).doesNotContain(o.username()).doesNotContain("secret-project-x");
        for (String path : List.of(id.toUpperCase(), id + "/", id + "%00", "..%2F" + id, id + "?owner=" + mallory.id())) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(Keys.control() + "/keys/" + path))
                    .header("Authorization", "Bearer " + mallory.token()).DELETE().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as("DELETE /keys/" + path + " by another user -> " + r.body()).isIn(400, 404);
        }
        String dave = stack().userToken("dave");
        assertThat(Keys.revoke(dave, id).statusCode()).as("a user without a key role").isIn(403, 404);
        assertThat(chat(newRequestId(), "Authorization", "Bearer " + k.path("key").asText()).statusCode())
                .as("the key survived every attempt").isEqualTo(200);
        assertThat(chainEntries("key.revoked", id)).isZero();
    }

    // ---- the control plane ------------------------------------------------------------------------------------

    @Test
    @Order(8)
    void should_list_keys_without_secrets_or_hashes_and_only_the_callers_own() throws Exception {
        Owner o = newOwner();
        Owner other = newOwner();
        JsonNode a = key(o);
        JsonNode b = key(o);
        JsonNode c = key(other);
        List<String> forbidden = new ArrayList<>();
        for (JsonNode k : List.of(a, b, c)) {
            String s = k.path("key").asText();
            byte[] sha = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            forbidden.addAll(List.of(s, s.substring(4), s.substring(4, 24), HexFormat.of().formatHex(sha),
                    HexFormat.of().withUpperCase().formatHex(sha), Base64.getEncoder().encodeToString(sha),
                    Base64.getUrlEncoder().withoutPadding().encodeToString(sha)));
        }
        HttpResponse<String> mine = Keys.list(o.token());
        HttpResponse<String> theirs = Keys.list(other.token());
        HttpResponse<String> auditor = Keys.list(stack().userToken("carol"));
        for (HttpResponse<String> r : List.of(mine, theirs, auditor)) {
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            for (String f : forbidden) {
                assertThat(r.body()).as("a listing shows no secret or hash").doesNotContain(f);
            }
            assertThat(ANY_KEY.matcher(r.body()).find()).as(r.body()).isFalse();
        }
        assertThat(mine.body()).contains(a.path("id").asText(), b.path("id").asText())
                .doesNotContain(c.path("id").asText());
        assertThat(theirs.body()).contains(c.path("id").asText()).doesNotContain(a.path("id").asText())
                .doesNotContain(b.path("id").asText());
        assertThat(auditor.body()).contains(a.path("id").asText(), b.path("id").asText(), c.path("id").asText());
        assertThat(Keys.list("").statusCode()).isEqualTo(401);
    }

    @Test
    @Order(9)
    void should_refuse_a_key_on_the_control_plane() throws Exception {
        Owner o = newOwner();
        JsonNode k = key(o);
        String secret = k.path("key").asText();
        String id = k.path("id").asText();
        String body = "{\"name\":\"made-by-a-key\"}";
        for (String[] h : new String[][] {{"Authorization", "Bearer " + secret}, {"api-key", secret},
                {"x-api-key", secret}}) {
            String what = h[0];
            assertThat(send(Keys.control(), "POST", "/keys", body, newRequestId(), h).statusCode())
                    .as("POST /keys with a key in " + what).isEqualTo(401);
            assertThat(send(Keys.control(), "GET", "/keys", null, newRequestId(), h).statusCode())
                    .as("GET /keys with a key in " + what).isEqualTo(401);
            assertThat(send(Keys.control(), "DELETE", "/keys/" + id, null, newRequestId(), h).statusCode())
                    .as("DELETE /keys with a key in " + what).isEqualTo(401);
            assertThat(send(Keys.control(), "GET", "/audit/usage?by=key", null, newRequestId(), h).statusCode())
                    .as("/audit/usage with a key in " + what).isEqualTo(401);
        }
        // a key in api-key next to the owner's token: the key must not be what creates a key
        HttpResponse<String> both = send(Keys.control(), "POST", "/keys", body, newRequestId(),
                "Authorization", "Bearer " + o.token(), "x-api-key", secret);
        if (both.statusCode() == 201) {
            stack().secrets.add(JSON.readTree(both.body()).path("key").asText());
        }
        assertThat(Keys.count("SELECT count(*) FROM evidence_chain WHERE kind = 'key.created' "
                + "AND convert_from(canonical, 'UTF8') LIKE ?", "%made-by-a-key%"))
                .as("no key was made with a key alone").isLessThanOrEqualTo(both.statusCode() == 201 ? 1 : 0);
        assertThat(chat(newRequestId(), "Authorization", "Bearer " + secret).statusCode())
                .as("DELETE with the key itself did not revoke it").isEqualTo(200);
    }

    @Test
    @Order(10)
    void should_refuse_creation_bodies_that_widen_or_break_the_scope() throws Exception {
        Owner o = newOwner();
        String token = o.token();
        String n = "\"name\":\"x\",";
        List<String> bad = List.of(
                "{" + n + "\"upstreams\":[\"nope\"]}",
                "{" + n + "\"upstreams\":[\"*\"]}",
                "{" + n + "\"upstreams\":[\"llm/../llm-oauth\"]}",
                "{" + n + "\"upstreams\":\"llm\"}",
                "{" + n + "\"models\":\"demo-*\"}",
                "{" + n + "\"models\":[1]}",
                "{" + n + "\"owner\":\"alice\"}",
                "{" + n + "\"owner_subject\":\"" + UUID.randomUUID() + "\"}",
                "{" + n + "\"roles\":[\"auditor\"]}",
                "{" + n + "\"expires_in\":\"-P1D\"}",
                "{" + n + "\"expires_in\":\"PT0S\"}",
                "{" + n + "\"expires_in\":\"P366D\"}",
                "{" + n + "\"expires_in\":\"P1000Y\"}",
                "{" + n + "\"expires_in\":\"PT9999999999999999999H\"}",
                "{" + n + "\"expires_in\":\"P30\"}",
                "{" + n + "\"expires_in\":\"30 days\"}",
                "{" + n + "\"expires_in\":30}",
                "{" + n + "\"expires_in\":\"2030-01-01T00:00:00Z\"}",
                "{" + n + "\"budget\":{\"tokens\":-1,\"period\":\"day\"}}",
                "{" + n + "\"budget\":{\"tokens\":1e30,\"period\":\"day\"}}",
                "{" + n + "\"budget\":{\"tokens\":99999999999999999999999,\"period\":\"day\"}}",
                "{" + n + "\"budget\":{\"tokens\":1.5,\"period\":\"day\"}}",
                "{" + n + "\"budget\":{\"tokens\":100,\"period\":\"year\"}}",
                "{" + n + "\"budget\":{\"tokens\":100,\"cost\":\"1\",\"period\":\"day\"}}",
                "{" + n + "\"budget\":{\"cost\":\"-1\",\"period\":\"day\"}}",
                "{" + n + "\"budget\":{\"cost\":\"NaN\",\"period\":\"day\"}}",
                "{" + n + "\"budget\":{\"tokens\":100,\"period\":\"day\",\"owner\":\"alice\"}}",
                "{" + n + "\"limits\":{\"requests_per_minute\":-5}}",
                "{" + n + "\"limits\":{\"requests_per_minute\":1.5}}",
                "{" + n + "\"limits\":{\"rpm\":5}}",
                "{\"name\":\"x\",\"name\":\"y\"}",
                "{" + n + "\"upstreams\":[\"llm\"],\"upstreams\":[\"llm-oauth\"]}",
                "{" + n + "\"budget\":{\"tokens\":10,\"tokens\":100000000,\"period\":\"day\"}}",
                "{\"name\":\"\"}",
                "{\"name\":null}",
                "{\"name\":\"" + "n".repeat(101) + "\"}",
                "[]",
                "not json",
                "{\"name\":\"x\"} {\"name\":\"y\"}");
        int before = JSON.readTree(Keys.list(token).body()).toString().split("\"id\"").length;
        org.assertj.core.api.SoftAssertions soft = new org.assertj.core.api.SoftAssertions();
        int created = 0;
        for (String body : bad) {
            HttpResponse<String> r = Keys.create(token, body);
            if (r.statusCode() == 201) {
                stack().secrets.add(JSON.readTree(r.body()).path("key").asText());
                created++;
            }
            soft.assertThat(r.statusCode()).as(body + " -> " + r.body().replaceAll("atk_[A-Za-z0-9_-]{40,}",
                    "atk_<secret>")).isEqualTo(400);
        }
        HttpResponse<String> huge = Keys.create(token, "{\"name\":\"" + "n".repeat(1024 * 1024) + "\"}");
        soft.assertThat(huge.statusCode()).as("a 1 MiB name").isIn(400, 413);
        soft.assertThat(JSON.readTree(Keys.list(token).body()).toString().split("\"id\"").length)
                .as("no key was created").isEqualTo(before + created);
        HttpResponse<String> dave = Keys.create(stack().userToken("dave"), "{\"name\":\"x\"}");
        soft.assertThat(dave.statusCode()).as("a user without a creator role: " + dave.body()).isEqualTo(403);
        soft.assertThat(Keys.create("", "{\"name\":\"x\"}").statusCode()).isEqualTo(401);
        soft.assertAll();
    }

    @Test
    @Order(11)
    void should_refuse_more_live_keys_than_the_owner_may_hold() throws Exception {
        Owner o = newOwner();
        String token = o.token();
        List<String> ids = new ArrayList<>();
        HttpResponse<String> r;
        while ((r = Keys.create(token, "{\"name\":\"many\"}")).statusCode() == 201 && ids.size() < 25) {
            JsonNode k = JSON.readTree(r.body());
            stack().secrets.add(k.path("key").asText());
            ids.add(k.path("id").asText());
        }
        assertThat(ids).as("attest.keys.max-per-owner").hasSize(20);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
        assertThat(Keys.revoke(token, ids.get(0)).statusCode()).isEqualTo(200);
        HttpResponse<String> after = Keys.create(token, "{\"name\":\"one-more\"}");
        assertThat(after.statusCode()).as("a revoked key frees its place").isEqualTo(201);
        stack().secrets.add(JSON.readTree(after.body()).path("key").asText());
    }

    // ---- narrowing and the owner's power ----------------------------------------------------------------------

    @Test
    @Order(12)
    void should_narrow_a_key_to_its_scope_whatever_the_body_says() throws Exception {
        Owner o = newOwner();
        JsonNode k = key(o, "{\"name\":\"narrow\",\"upstreams\":[\"llm\"],\"models\":[\"demo-model\"]}");
        String auth = "Bearer " + k.path("key").asText();
        int before = stack().demo.calls() + stack().oauthDemo.calls();
        Map<String, String> refused = new java.util.LinkedHashMap<>();
        refused.put("/llm-oauth/v1/chat/completions", chatBody("demo-model", "hi"));
        refused.put(CHAT_PATH, chatBody("demo-pii", "hi"));
        refused.put(CHAT_PATH + "#star", chatBody("demo-model*", "hi"));
        refused.put(CHAT_PATH + "#nomodel", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        refused.put(CHAT_PATH + "#array", "{\"model\":[\"demo-model\",\"demo-pii\"],\"messages\":[]}");
        refused.put(CHAT_PATH + "#dup", "{\"model\":\"demo-model\",\"model\":\"demo-pii\",\"messages\":[]}");
        refused.put("/llm/v1/completions", "{\"model\":\"demo-pii\",\"prompt\":\"hi\"}");
        refused.put("/llm/v1/responses", "{\"model\":\"demo-pii\",\"input\":\"hi\"}");
        for (Map.Entry<String, String> c : refused.entrySet()) {
            String path = c.getKey().replaceAll("#.*", "");
            HttpResponse<String> r = send(stack().gatewayUrl(), "POST", path, c.getValue(), newRequestId(),
                    "Authorization", auth);
            assertThat(r.statusCode()).as(c.getKey() + " " + c.getValue() + " -> " + r.body()).isIn(400, 403);
        }
        assertThat(stack().demo.calls() + stack().oauthDemo.calls()).as("nothing reached an upstream")
                .isEqualTo(before);
        String rid = newRequestId();
        HttpResponse<String> r = send(stack().gatewayUrl(), "POST", CHAT_PATH, chatBody("demo-pii", "hi"), rid,
                "Authorization", auth);
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(awaitEvidence(rid).get("rule_id")).isEqualTo("key-scope");
        assertThat(send(stack().gatewayUrl(), "POST", "/llm/v1/responses", "{\"model\":\"demo-model\",\"input\":\"hi\"}",
                newRequestId(), "Authorization", auth).statusCode()).as("in scope").isEqualTo(200);
    }

    @Test
    @Order(13)
    void should_take_the_power_of_a_disabled_or_demoted_owners_key_within_60_seconds() throws Exception {
        Owner o = newOwner();
        String secret = key(o).path("key").asText();
        assertThat(chat(newRequestId(), "x-api-key", secret).statusCode()).isEqualTo(200);
        Keys.setEnabled(o.id(), false);
        try {
            await().atMost(Duration.ofSeconds(62)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> chat(newRequestId(), "x-api-key", secret).statusCode() == 401);
            HttpResponse<String> r = chat(newRequestId(), "x-api-key", secret);
            assertThat(r.statusCode()).isEqualTo(401);
            assertThat(awaitEvidence(r).get("auth_error")).isEqualTo("key owner disabled or deleted");
        } finally {
            Keys.setEnabled(o.id(), true);
        }
        await().atMost(Duration.ofSeconds(62)).pollInterval(Duration.ofSeconds(1))
                .until(() -> chat(newRequestId(), "x-api-key", secret).statusCode() == 200);
        var role = Keys.realm().roles().get("inference-user").toRepresentation();
        Keys.realm().users().get(o.id()).roles().realmLevel().remove(List.of(role));
        await().atMost(Duration.ofSeconds(62)).pollInterval(Duration.ofSeconds(1))
                .until(() -> chat(newRequestId(), "x-api-key", secret).statusCode() == 403);
    }

    // ---- usage -------------------------------------------------------------------------------------------------

    /** The data: payloads of an SSE answer, in order. */
    static List<JsonNode> events(String sse) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
                out.add(JSON.readTree(line.substring(6)));
            }
        }
        return out;
    }

    static boolean usageChunk(JsonNode e) {
        return e.path("usage").isObject();
    }

    @Test
    @Order(14)
    void should_give_a_stream_caller_exactly_the_usage_it_asked_for_and_record_it_always() throws Exception {
        Owner o = newOwner();
        String auth = "Bearer " + key(o).path("key").asText();
        Map<String, Boolean> options = new java.util.LinkedHashMap<>();
        options.put("", false);
        options.put(",\"stream_options\":{}", false);
        options.put(",\"stream_options\":{\"include_usage\":false}", false);
        options.put(",\"stream_options\":{\"include_usage\":null}", false);
        options.put(",\"stream_options\":{\"include_usage\":true}", true);
        for (Map.Entry<String, Boolean> opt : options.entrySet()) {
            String prompt = "stream " + options.keySet().stream().toList().indexOf(opt.getKey());
            String rid = newRequestId();
            HttpResponse<String> r = send(stack().gatewayUrl(), "POST", CHAT_PATH, "{\"model\":\"demo-model\","
                    + "\"stream\":true" + opt.getKey() + ",\"messages\":[{\"role\":\"user\",\"content\":\""
                    + prompt + "\"}]}", rid, "Authorization", auth);
            assertThat(r.statusCode()).as(opt.getKey()).isEqualTo(200);
            assertThat(r.body()).as(opt.getKey()).contains("data: [DONE]");
            List<JsonNode> evs = events(r.body());
            long usageChunks = evs.stream().filter(KeysHostileE2EIT::usageChunk).count();
            assertThat(usageChunks).as("usage chunks the caller got with " + opt.getKey())
                    .isEqualTo(opt.getValue() ? 1 : 0);
            assertThat(evs.stream().filter(e -> e.path("choices").isArray() && e.path("choices").isEmpty()).count())
                    .as("chunks without choices with " + opt.getKey()).isEqualTo(opt.getValue() ? 1 : 0);
            Map<String, Object> e = awaitEvidence(rid);
            assertThat(e.get("usage_status")).as(opt.getKey()).isEqualTo("reported");
            long total = expectedTotal("demo-model", prompt);
            assertThat(((Number) e.get("total_tokens")).longValue()).as(opt.getKey()).isEqualTo(total);
            if (opt.getValue()) {
                JsonNode u = evs.stream().filter(KeysHostileE2EIT::usageChunk).findFirst().orElseThrow().path("usage");
                assertThat(u.path("total_tokens").asLong()).isEqualTo(total);
            }
            DemoModelServer.Received up = stack().demo.received().stream().filter(E2E.sentAs(rid)).findFirst()
                    .orElseThrow();
            assertThat(JSON.readTree(up.body()).path("stream_options").path("include_usage").asBoolean())
                    .as("the upstream is asked for usage").isTrue();
        }
        // the OpenAI SDK with the key as its API key, plain and streamed with include_usage
        String secret = auth.substring(7);
        String rid = newRequestId();
        OpenAIClient sdk = OpenAIOkHttpClient.builder().baseUrl(stack().gatewayUrl() + "/llm/v1").apiKey(secret)
                .putHeader("X-Request-Id", rid).maxRetries(0).timeout(Duration.ofSeconds(30)).build();
        ChatCompletion cc = sdk.chat().completions().create(ChatCompletionCreateParams.builder().model("demo-model")
                .addUserMessage("sdk plain").build());
        assertThat(cc.usage().orElseThrow().totalTokens()).isEqualTo(expectedTotal("demo-model", "sdk plain"));
        assertThat(((Number) awaitEvidence(rid).get("total_tokens")).longValue())
                .isEqualTo(expectedTotal("demo-model", "sdk plain"));
        String rid2 = newRequestId();
        OpenAIClient sdk2 = OpenAIOkHttpClient.builder().baseUrl(stack().gatewayUrl() + "/llm/v1").apiKey(secret)
                .putHeader("X-Request-Id", rid2).maxRetries(0).timeout(Duration.ofSeconds(30)).build();
        List<Long> seen = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = sdk2.chat().completions().createStreaming(
                ChatCompletionCreateParams.builder().model("demo-model").addUserMessage("sdk stream")
                        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            s.stream().forEach(c -> c.usage().ifPresent(u -> seen.add(u.totalTokens())));
        }
        assertThat(seen).containsExactly(expectedTotal("demo-model", "sdk stream"));
        assertThat(((Number) awaitEvidence(rid2).get("total_tokens")).longValue()).isEqualTo(seen.get(0));
    }

    /** A CSV parsed as RFC 4180 (quoted cells with doubled quotes), lines and cells. */
    static List<List<String>> csv(String text) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    cell.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    cell.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                row.add(cell.toString());
                cell.setLength(0);
            } else if (ch == '\n' || ch == '\r') {
                if (ch == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                    i++;
                }
                row.add(cell.toString());
                cell.setLength(0);
                rows.add(row);
                row = new ArrayList<>();
            } else {
                cell.append(ch);
            }
        }
        if (cell.length() > 0 || !row.isEmpty()) {
            row.add(cell.toString());
            rows.add(row);
        }
        return rows;
    }

    static long csvSum(List<List<String>> rows, String column) {
        int i = rows.get(0).indexOf(column);
        assertThat(i).as("CSV column " + column + " in " + rows.get(0)).isNotNegative();
        return rows.subList(1, rows.size()).stream().filter(r -> r.size() > i && !r.get(i).isEmpty())
                .mapToLong(r -> Long.parseLong(r.get(i))).sum();
    }

    @Test
    @Order(15)
    void should_report_usage_equal_to_the_sum_over_the_evidence_records() throws Exception {
        Owner o = newOwner();
        JsonNode k = key(o, "{\"name\":\"report\"}");
        String id = k.path("id").asText();
        String auth = "Bearer " + k.path("key").asText();
        String gw = stack().gatewayUrl();
        List<String> rids = new ArrayList<>();
        for (String body : List.of(chatBody("demo-model", "one"), chatBody("demo-model", "a longer second prompt"),
                chatBody("demo-nousage", "three"), "{\"model\":\"demo-model\",\"stream\":true,\"messages\":"
                        + "[{\"role\":\"user\",\"content\":\"four\"}]}", chatBody("demo-reasoning", "five"))) {
            String rid = newRequestId();
            rids.add(rid);
            assertThat(send(gw, "POST", CHAT_PATH, body, rid, "Authorization", auth).statusCode()).isEqualTo(200);
        }
        rids.forEach(KeysHostileE2EIT::awaitEvidence);
        String where = " FROM evidence_record WHERE key_id::text = '" + id.replace("'", "") + "'";
        long calls = E2E.count("SELECT count(*)" + where);
        long unknown = E2E.count("SELECT count(*)" + where + " AND usage_status = 'unknown'");
        long prompt = E2E.count("SELECT coalesce(sum(prompt_tokens), 0)" + where);
        long completion = E2E.count("SELECT coalesce(sum(completion_tokens), 0)" + where);
        long total = E2E.count("SELECT coalesce(sum(total_tokens), 0)" + where);
        long reasoning = E2E.count("SELECT coalesce(sum(reasoning_tokens), 0)" + where);
        assertThat(calls).isEqualTo(5);
        assertThat(unknown).as("demo-nousage reports nothing").isEqualTo(1);
        assertThat(reasoning).as("demo-reasoning reports reasoning tokens").isPositive();
        long expected = expectedTotal("demo-model", "one") + expectedTotal("demo-model", "a longer second prompt")
                + expectedTotal("demo-model", "four") + DemoModelServer.usage("demo-reasoning", "five",
                DemoModelServer.PII_ANSWER).get("total_tokens").asLong();
        assertThat(total).as("the evidence holds what the upstream reported").isEqualTo(expected);

        JsonNode json = JSON.readTree(auditUsage("by=key&key=" + id));
        JsonNode totals = json.path("totals");
        assertThat(totals.path("calls").asLong()).as(json.toString()).isEqualTo(calls);
        assertThat(totals.path("unknown_usage_calls").asLong()).as(json.toString()).isEqualTo(unknown);
        assertThat(totals.path("prompt_tokens").asLong()).as(json.toString()).isEqualTo(prompt);
        assertThat(totals.path("completion_tokens").asLong()).as(json.toString()).isEqualTo(completion);
        assertThat(totals.path("total_tokens").asLong()).as(json.toString()).isEqualTo(total);
        assertThat(totals.path("reasoning_tokens").asLong()).as(json.toString()).isEqualTo(reasoning);

        List<List<String>> rows = csv(auditUsage("by=key&key=" + id + "&format=csv"));
        assertThat(csvSum(rows, "calls")).isEqualTo(calls);
        assertThat(csvSum(rows, "total_tokens")).isEqualTo(total);
        assertThat(csvSum(rows, "prompt_tokens")).isEqualTo(prompt);

        JsonNode byUser = JSON.readTree(auditUsage("by=user&identity=" + o.username()));
        assertThat(byUser.path("totals").path("total_tokens").asLong()).as(byUser.toString()).isEqualTo(total);
        JsonNode byModel = JSON.readTree(auditUsage("by=model&key=" + id));
        assertThat(byModel.path("totals").path("calls").asLong()).as(byModel.toString()).isEqualTo(calls);
    }

    @Test
    @Order(16)
    void should_guard_usage_csv_cells_against_formulas_carried_by_a_key_name() throws Exception {
        Owner o = newOwner();
        // names are 1-100 of letters, digits, spaces and . _ : / @ ( ) -: '=' and '+' are refused at creation,
        // but '@' and '-' start a formula too
        for (String name : List.of("=HYPERLINK(\"http://evil.example/\")", "+1+1", "\tcmd")) {
            HttpResponse<String> r = Keys.create(o.token(), JSON.createObjectNode().put("name", name).toString());
            assertThat(r.statusCode()).as(name + " -> " + r.body()).isEqualTo(400);
        }
        List<String> names = List.of("@SUM(A1:A9)", "-2-3", "@cmd /C calc", "-cmd(1)");
        List<String> ids = new ArrayList<>();
        for (String name : names) {
            JsonNode k = key(o, JSON.createObjectNode().put("name", name).toString());
            ids.add(k.path("id").asText());
            assertThat(chat(newRequestId(), "Authorization", "Bearer " + k.path("key").asText()).statusCode())
                    .isEqualTo(200);
        }
        // the usage CSV names keys by id, not by name; the model, though, is the caller's own text and reaches it
        String any = key(o).path("key").asText();
        for (String model : List.of("=HYPERLINK(\\\"http://evil.example/\\\")", "+SUM(1+1)", "@SUM(A1)", "-2+3")) {
            assertThat(send(stack().gatewayUrl(), "POST", CHAT_PATH, chatBody(model, "hi"), newRequestId(),
                    "Authorization", "Bearer " + any).statusCode()).as("model " + model).isEqualTo(200);
        }
        for (String by : List.of("key", "user", "model", "day")) {
            String text = auditUsage("by=" + by + "&identity=" + URLEncoder.encode(o.username(), StandardCharsets.UTF_8)
                    + "&format=csv");
            for (List<String> row : csv(text)) {
                for (String cell : row) {
                    if (!cell.isEmpty() && !cell.matches("-?\\d+(\\.\\d+)?")) {
                        assertThat(cell.charAt(0)).as("CSV cell " + cell + " (by=" + by + ")")
                                .isNotIn('=', '+', '-', '@', '\t', '\r');
                    }
                }
            }
        }
    }

    // ---- limits and budgets ------------------------------------------------------------------------------------

    /** Waits until at least {@code seconds} remain in the current UTC minute, so a burst stays in one window. */
    static void awaitFreshMinute(int seconds) {
        await().atMost(Duration.ofSeconds(70)).pollInterval(Duration.ofMillis(200))
                .until(() -> ZonedDateTime.now(ZoneOffset.UTC).getSecond() < 60 - seconds);
    }

    static List<HttpResponse<String>> race(int n, Callable<HttpResponse<String>> call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<HttpResponse<String>>> fs = new ArrayList<>();
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            for (int i = 0; i < n; i++) {
                fs.add(pool.submit(() -> {
                    go.await();
                    return call.call();
                }));
            }
            go.countDown();
            List<HttpResponse<String>> out = new ArrayList<>();
            for (Future<HttpResponse<String>> f : fs) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @Order(17)
    void should_let_exactly_the_request_limit_through_racing_calls_and_answer_the_rest_with_a_sane_429()
            throws Exception {
        Owner o = newOwner();
        JsonNode k = key(o, "{\"name\":\"racer\",\"limits\":{\"requests_per_minute\":4}}");
        String auth = "Bearer " + k.path("key").asText();
        awaitFreshMinute(25);
        List<String> rids = new ArrayList<>();
        List<HttpResponse<String>> all = race(16, () -> {
            String rid = newRequestId();
            synchronized (rids) {
                rids.add(rid);
            }
            return chat(rid, "Authorization", auth);
        });
        assertThat(all.stream().filter(r -> r.statusCode() == 200).count()).as("admitted").isEqualTo(4);
        assertThat(all.stream().filter(r -> r.statusCode() == 429).count()).as("refused").isEqualTo(12);
        for (HttpResponse<String> r : all) {
            if (r.statusCode() == 429) {
                long retry = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
                assertThat(retry).as("Retry-After in a minute window").isBetween(1L, 60L);
                assertThat(r.body()).as(r.body()).containsIgnoringCase("reset").doesNotContain("atk_");
            }
        }
        long denied = 0;
        for (String rid : rids) {
            if (awaitEvidence(rid).get("status") instanceof Number s && s.intValue() == 429) {
                denied++;
            }
        }
        assertThat(denied).as("every 429 is evidence").isEqualTo(12);
    }

    @Test
    @Order(18)
    void should_spend_a_token_budget_in_a_known_number_of_calls_and_never_past_it() throws Exception {
        Owner o = newOwner();
        long per = expectedTotal("demo-model", "hello");
        JsonNode k = key(o, "{\"name\":\"budgeted\",\"budget\":{\"tokens\":" + (3 * per - 1) + ",\"period\":\"day\"}}");
        String auth = "Bearer " + k.path("key").asText();
        for (int i = 0; i < 3; i++) {
            assertThat(chat(newRequestId(), "Authorization", auth).statusCode()).as("call " + (i + 1)).isEqualTo(200);
        }
        String rid = newRequestId();
        HttpResponse<String> r = chat(rid, "Authorization", auth);
        assertThat(r.statusCode()).as("the fourth call: " + r.body()).isEqualTo(429);
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
        long toMidnight = Duration.between(now, LocalDate.now(ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC))
                .toSeconds();
        long retry = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
        assertThat(retry).as("Retry-After: until the day ends").isBetween(toMidnight - 5, toMidnight + 5);
        assertThat(r.body()).contains("budget").contains(LocalDate.now(ZoneOffset.UTC).plusDays(1).toString());
        Map<String, Object> e = awaitEvidence(rid);
        assertThat(e.get("rule_id")).isEqualTo("key-budget");
        assertThat(((Number) e.get("status")).intValue()).isEqualTo(429);
        // a spent budget: a burst of racing calls gets nothing more through, streamed or plain
        List<HttpResponse<String>> burst = race(10, () -> chat(newRequestId(), "Authorization", auth));
        assertThat(burst).allSatisfy(x -> assertThat(x.statusCode()).isEqualTo(429));
        HttpResponse<String> stream = send(stack().gatewayUrl(), "POST", CHAT_PATH, "{\"model\":\"demo-model\","
                + "\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}", newRequestId(),
                "Authorization", auth);
        assertThat(stream.statusCode()).isEqualTo(429);
        assertThat(E2E.count("SELECT coalesce(sum(total_tokens), 0) FROM evidence_record WHERE key_id::text = '"
                + k.path("id").asText().replace("'", "") + "'")).as("tokens spent").isEqualTo(3 * per);
    }

    @Test
    @Order(19)
    void should_serve_a_service_accounts_key() throws Exception {
        JsonNode k = Keys.createKey(stack().serviceAccountToken(), "{\"name\":\"" + Keys.unique("batch") + "\"}");
        String rid = newRequestId();
        assertThat(chat(rid, "api-key", k.path("key").asText()).statusCode()).isEqualTo(200);
        Map<String, Object> e = awaitEvidence(rid);
        assertThat(e.get("principal_type")).isEqualTo("service_account");
        assertThat(String.valueOf(e.get("key_id"))).isEqualTo(k.path("id").asText());
        assertThat(Keys.revoke(stack().serviceAccountToken(), k.path("id").asText()).statusCode()).isEqualTo(200);
    }

    // ---- logs --------------------------------------------------------------------------------------------------

    @Test
    @Order(100)
    void should_never_log_a_key_secret_nor_a_presented_key() {
        E2E.assertLogsClean();
        for (String line : stack().logs.lines()) {
            assertThat(ANY_KEY.matcher(line).find()).as("a log line with a key: " + line.replaceAll(
                    "atk_[A-Za-z0-9_-]{8}", "atk_<redacted>")).isFalse();
        }
    }
}
