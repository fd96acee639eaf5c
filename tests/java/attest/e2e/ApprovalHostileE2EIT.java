package attest.e2e;

import attest.stack.Browser;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static attest.e2e.ApprovalE2EIT.RISKY;
import static attest.e2e.ApprovalE2EIT.control;
import static attest.e2e.ApprovalE2EIT.events;
import static attest.e2e.ApprovalE2EIT.get;
import static attest.e2e.ApprovalE2EIT.hold;
import static attest.e2e.ApprovalE2EIT.mailsFor;
import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An outsider's review of the approvers' surface and the auditors' reports: regulated data carried where the
 * masked preview does not look (a tool's name), parameters no client sends (a malformed percent escape, a NUL, a
 * date past the store's range), and page forms with a repeated decision. Nothing of it may show a regulated value
 * unmasked, end in a 5xx, or decide anything.
 */
class ApprovalHostileE2EIT {
    static final String EMAIL = "jane.doe.hostile@example.com";
    static final String CARD = "4111 1111 1111 1111";

    /** A risky call that offers the model tools whose names carry an email address and a card number. */
    static String withTools(String marker) {
        return "{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\",\"content\":\"" + RISKY + " " + marker
                + "\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"mail " + EMAIL + "\","
                + "\"parameters\":{\"type\":\"object\"}}}],"
                + "\"functions\":[{\"name\":\"charge " + CARD + "\"}]}";
    }

    static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return HTTP.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void should_show_approvers_no_regulated_value_from_a_tool_name_in_the_json_or_the_email() throws Exception {
        String id = hold(stack().gatewayUrl(), "alice", newRequestId(), withTools("tools json"));
        String bob = stack().userToken("bob");
        HttpResponse<String> one = get(control() + "/approvals/" + id, bob);
        assertThat(one.statusCode()).as(one.body()).isEqualTo(200);
        JsonNode call = JSON.readTree(one.body()).path("call");
        // the approver still sees that tools are offered, and how many
        assertThat(call.path("tools")).hasSize(2);
        assertThat(one.body()).doesNotContain(EMAIL).doesNotContain(CARD);
        HttpResponse<String> list = get(control() + "/approvals?requester=alice&order=newest&limit=200", bob);
        assertThat(list.statusCode()).as(list.body()).isEqualTo(200);
        assertThat(list.body()).contains(id).doesNotContain(EMAIL).doesNotContain(CARD);
        await().atMost(Duration.ofSeconds(20)).until(() -> !mailsFor(id).isEmpty());
        for (var m : mailsFor(id)) {
            String body = com.icegreen.greenmail.util.GreenMailUtil.getBody(m).replace("=\r\n", "");
            assertThat(body).doesNotContain(EMAIL).doesNotContain(CARD);
        }
    }

    @Test
    void should_answer_a_malformed_percent_escape_with_400_and_never_500() throws Exception {
        String carol = stack().userToken("carol");
        List<String> requests = new ArrayList<>();
        // anonymous: the sign-in callback is reached without a token (no client library sends these: raw bytes)
        requests.add("GET /auth/callback?code=%zz&state=%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        requests.add("GET /auth/callback?state=x%&code=y HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        // an auditor's report filters
        for (String q : List.of("/audit/access?identity=%zz", "/audit/denials?upstream=%", "/audit/usage?model=%zz",
                "/audit/approvals?from=%G0")) {
            requests.add("GET " + q + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + carol
                    + "\r\nConnection: close\r\n\r\n");
        }
        for (String request : requests) {
            RawHttp.Answer a = RawHttp.send(stack().controlPort, request, 1, Duration.ofSeconds(20));
            String line = request.substring(0, request.indexOf(" HTTP/1.1"));
            assertThat(a.status()).as(line + " " + a.text()).isEqualTo(400);
            assertThat(a.text()).as(line).contains("\"bad_request\"").doesNotContain("internal_error")
                    .doesNotContain(carol);
        }
    }

    @Test
    void should_refuse_report_filters_the_store_cannot_hold_with_400_not_503() throws Exception {
        String carol = stack().userToken("carol");
        for (String q : List.of("/audit/denials?identity=%00", "/audit/access?upstream=a%00b",
                "/audit/usage?identity=%00", "/audit/denials?from=%2B1000000-01-01T00:00:00Z",
                "/audit/usage?to=-1000000-01-01T00:00:00Z")) {
            HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(control() + q))
                    .header("Authorization", "Bearer " + carol).GET());
            assertThat(r.statusCode()).as(q + " " + r.body()).isEqualTo(400);
            assertThat(r.headers().firstValue("Retry-After")).as(q).isEmpty();
        }
    }

    @Test
    void should_refuse_a_decision_comment_the_store_cannot_hold_with_400_and_keep_the_call_decidable()
            throws Exception {
        String id = hold(stack().gatewayUrl(), "alice", newRequestId(), ApprovalE2EIT.chat("demo-model",
                RISKY + " nul comment"));
        String bob = "Bearer " + stack().userToken("bob");
        HttpResponse<String> r = ApprovalFrontDoorE2EIT.decide(id, bob, "application/json",
                "{\"decision\":\"deny\",\"comment\":\"a\\u0000b\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(events(id)).doesNotContain("decision", "denied");
        HttpResponse<String> ok = ApprovalFrontDoorE2EIT.decide(id, bob, "application/json",
                "{\"decision\":\"deny\",\"comment\":\"after a refused one\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    }

    @Test
    void should_refuse_page_forms_no_browser_sends_and_mask_tool_names_on_the_page() throws Exception {
        Browser.ensureInstalled();
        String id = hold(stack().gatewayUrl(), "alice", newRequestId(), withTools("page form"));
        String link = control() + "/approvals/" + id + "/review";
        WebDriver driver = Browser.start(stack().work.resolve("chromium-hostile-" + id));
        try {
            driver.get(link);
            await().atMost(Duration.ofSeconds(20)).until(() -> !driver.findElements(By.id("username")).isEmpty());
            driver.findElement(By.id("username")).sendKeys("bob");
            driver.findElement(By.id("password")).sendKeys("bob");
            driver.findElement(By.id("kc-login")).click();
            await().atMost(Duration.ofSeconds(20)).until(() -> !driver.findElements(By.id("approve")).isEmpty());
            assertThat(driver.getPageSource()).doesNotContain(EMAIL).doesNotContain(CARD);
            assertThat(driver.findElement(By.id("call-tools")).getText()).isNotBlank();

            String cookie = "attest_approval_session=" + driver.manage().getCookieNamed("attest_approval_session")
                    .getValue();
            String csrf = driver.findElement(By.name("csrf")).getAttribute("value");
            String control = control();
            // a form no browser sends from this page: two decisions (which one would count?), a broken escape
            for (String form : List.of("csrf=" + csrf + "&decision=deny&decision=approve",
                    "csrf=" + csrf + "&decision=approve&decision=deny",
                    "csrf=" + csrf + "&csrf=" + csrf + "&decision=approve",
                    "csrf=" + csrf + "&decision=approve&comment=%zz")) {
                HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(link))
                        .header("Content-Type", "application/x-www-form-urlencoded").header("Cookie", cookie)
                        .header("Origin", control).POST(HttpRequest.BodyPublishers.ofString(form)));
                assertThat(r.statusCode()).as(form.replace(csrf, "CSRF") + " " + r.body()).isEqualTo(400);
            }
            assertThat(events(id)).doesNotContain("decision", "approved", "denied");
            assertThat(JSON.readTree(get(control + "/approvals/" + id, stack().userToken("bob")).body())
                    .path("state").asText()).isEqualTo("pending");
        } finally {
            driver.quit();
        }
    }
    @Test
    void should_store_a_held_call_without_the_credentials_its_query_carried() throws Exception {
        String alice = stack().userToken("alice");
        String query = "?api-version=2024-06-01&access_token=" + alice + "&api_key=sk-held-query-secret&KEY=atk_held";
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(stack().gatewayUrl()
                        + "/llm/v1/chat/completions" + query)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + alice).header("Prefer", "respond-async")
                .POST(HttpRequest.BodyPublishers.ofString(ApprovalE2EIT.chat("demo-model", RISKY + " query secret"))));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        String id = JSON.readTree(r.body()).path("approval_id").asText();
        // README: "the exact request (without the caller's credentials) ... stored in PostgreSQL"
        String stored;
        try (var c = stack().db(); var ps = c.prepareStatement(
                "SELECT request_uri || ' ' || request_headers FROM approval_request WHERE id = ?::uuid")) {
            ps.setString(1, id);
            try (var rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                stored = rs.getString(1);
            }
        }
        assertThat(stored).contains("api-version=2024-06-01").doesNotContain(alice)
                .doesNotContain("sk-held-query-secret").doesNotContain("atk_held");
        // approved, it still runs, with the query it was approved with
        assertThat(ApprovalFrontDoorE2EIT.decide(id, "Bearer " + stack().userToken("bob"), "application/json",
                "{\"decision\":\"approve\"}").statusCode()).isEqualTo(200);
        HttpResponse<String> done = await().atMost(Duration.ofSeconds(20)).until(() ->
                get(stack().gatewayUrl() + "/approvals/" + id + "/result", alice), x -> x.statusCode() != 202);
        assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    }

    @Test
    void should_refuse_an_approvers_list_from_or_after_an_instant_the_store_cannot_hold_with_400() throws Exception {
        String bob = stack().userToken("bob");
        String cursor = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                ("+1000000-01-01T00:00:00Z|" + java.util.UUID.randomUUID()).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        for (String q : List.of("?since=%2B1000000-01-01T00:00:00Z", "?since=-1000000-01-01T00:00:00Z",
                "?cursor=" + cursor)) {
            HttpResponse<String> r = get(control() + "/approvals" + q, bob);
            assertThat(r.statusCode()).as(q + " " + r.body()).isEqualTo(400);
            assertThat(r.headers().firstValue("Retry-After")).as(q).isEmpty();
        }
    }

    /** The claims of a Keycloak access token (its payload, decoded; the signature is the gateway's business). */
    static JsonNode claims(String token) throws Exception {
        return JSON.readTree(java.util.Base64.getUrlDecoder().decode(token.split("\\.")[1]));
    }

    /** A client-credentials token of a client of the test's own (removed afterwards). */
    static String clientCredentials(String clientId, String secret) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(stack().issuer + "/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(
                        "grant_type=client_credentials&client_id=" + clientId + "&client_secret=" + secret)));
        assertThat(r.statusCode()).as("client credentials").isEqualTo(200);
        String token = JSON.readTree(r.body()).path("access_token").asText();
        stack().secrets.add(token);
        return token;
    }

    /**
     * A service account that holds the approver role (Keycloak's own client-credentials token) decided held calls
     * like a person. Approvals are decided by people: 403 service_account, recorded, nothing decided; the call is still
     * a person's to approve.
     */
    @Test
    void should_refuse_a_decision_from_a_service_account_that_holds_the_approver_role() throws Exception {
        String clientId = Keys.unique("approver-bot");
        String secret = "secret-" + java.util.UUID.randomUUID();
        stack().secrets.add(secret);
        var batch = Keys.realm().clients().findByClientId("batch-job").get(0);
        var c = new org.keycloak.representations.idm.ClientRepresentation();
        c.setClientId(clientId);
        c.setEnabled(true);
        c.setPublicClient(false);
        c.setSecret(secret);
        c.setServiceAccountsEnabled(true);
        c.setStandardFlowEnabled(false);
        c.setDirectAccessGrantsEnabled(false);
        c.setProtocol("openid-connect");
        c.setProtocolMappers(Keys.realm().clients().get(batch.getId()).getProtocolMappers().getMappers().stream()
                .peek(m -> m.setId(null)).toList());
        try (var r = Keys.realm().clients().create(c)) {
            assertThat(r.getStatus()).isEqualTo(201);
        }
        String internalId = Keys.realm().clients().findByClientId(clientId).get(0).getId();
        try {
            var account = Keys.realm().clients().get(internalId).getServiceAccountUser();
            Keys.realm().users().get(account.getId()).roles().realmLevel().add(List.of(
                    Keys.realm().roles().get("approver").toRepresentation()));
            String bot = clientCredentials(clientId, secret);
            assertThat(claims(bot).path("realm_access").path("roles").toString()).contains("approver");

            String id = hold(stack().gatewayUrl(), "alice", newRequestId(), ApprovalE2EIT.chat("demo-model",
                    RISKY + " service account"));
            HttpResponse<String> r = ApprovalE2EIT.decide(control(), id, bot, "approve");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
            assertThat(JSON.readTree(r.body()).path("error").path("code").asText()).isEqualTo("service_account");
            assertThat(r.body()).doesNotContain(bot);
            assertThat(JSON.readTree(get(control() + "/approvals?limit=200", bot).body()).path("approvals")
                    .findValuesAsText("id")).doesNotContain(id);
            assertThat(events(id)).contains("decision").doesNotContain("approved");
            assertThat(Keys.count("SELECT count(*) FROM approval_event WHERE approval_id = ?::uuid AND kind = "
                    + "'decision' AND detail::jsonb ->> 'refused' = 'service_account'", id)).isPositive();
            assertThat(Keys.count("SELECT count(*) FROM approval_decision WHERE approval_id = ?::uuid", id))
                    .isZero();
            assertThat(ApprovalE2EIT.decide(control(), id, stack().userToken("bob"), "approve").statusCode())
                    .isEqualTo(200);
        } finally {
            Keys.deleteClient(internalId);
        }
    }

    /**
     * One person with two accounts (the same verified email: a realm that allows duplicate emails, as one that
     * federates several directories may) approved their own call from the second. The requester is matched by verified
     * email too: 403 self_approval, recorded; another approver still decides it.
     */
    @Test
    void should_refuse_a_decision_from_the_requesters_other_account_with_the_same_verified_email() throws Exception {
        var realm = Keys.realm();
        var before = realm.toRepresentation();
        String name = Keys.unique("twin");
        String email = name + "@example.test";
        List<String> users = new ArrayList<>();
        try {
            var relaxed = new org.keycloak.representations.idm.RealmRepresentation();
            relaxed.setLoginWithEmailAllowed(false);
            relaxed.setDuplicateEmailsAllowed(true);
            realm.update(relaxed);
            users.add(Keys.createUser(name, "inference-user"));
            users.add(createUserWithEmail(name + "-admin", email.toUpperCase(java.util.Locale.ROOT), "approver"));
            String requester = Keys.token("attest-cli", name);
            String second = Keys.token("attest-cli", name + "-admin");
            assertThat(claims(requester).path("email_verified").asBoolean()).as("the realm's tokens carry the email")
                    .isTrue();
            assertThat(claims(second).path("email").asText()).isEqualToIgnoringCase(email);
            HttpResponse<String> held = ApprovalE2EIT.async(stack().gatewayUrl(), requester, newRequestId(),
                    ApprovalE2EIT.chat("demo-model", RISKY + " twin"));
            assertThat(held.statusCode()).as(held.body()).isEqualTo(202);
            String id = JSON.readTree(held.body()).path("approval_id").asText();

            HttpResponse<String> r = ApprovalE2EIT.decide(control(), id, second, "approve");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
            assertThat(JSON.readTree(r.body()).path("error").path("code").asText()).isEqualTo("self_approval");
            assertThat(JSON.readTree(get(control() + "/approvals?limit=200&order=newest", second).body())
                    .path("approvals").findValuesAsText("id")).doesNotContain(id);
            assertThat(Keys.count("SELECT count(*) FROM approval_event WHERE approval_id = ?::uuid AND kind = "
                    + "'decision' AND detail::jsonb ->> 'refused' = 'self_approval'", id)).isPositive();
            assertThat(events(id)).doesNotContain("approved");
            assertThat(ApprovalE2EIT.decide(control(), id, stack().userToken("bob"), "approve").statusCode())
                    .isEqualTo(200);
        } finally {
            for (String u : users) {
                Keys.deleteUser(u);
            }
            var restore = new org.keycloak.representations.idm.RealmRepresentation();
            restore.setDuplicateEmailsAllowed(before.isDuplicateEmailsAllowed());
            restore.setLoginWithEmailAllowed(before.isLoginWithEmailAllowed());
            realm.update(restore);
        }
    }

    /** A user of the test's own with a given (verified) email and realm roles; password = username. */
    static String createUserWithEmail(String username, String email, String... roles) {
        var u = new org.keycloak.representations.idm.UserRepresentation();
        u.setUsername(username);
        u.setEnabled(true);
        u.setEmail(email);
        u.setEmailVerified(true);
        u.setFirstName("Twin");
        u.setLastName("Tester");
        var pw = new org.keycloak.representations.idm.CredentialRepresentation();
        pw.setType(org.keycloak.representations.idm.CredentialRepresentation.PASSWORD);
        pw.setValue(username);
        pw.setTemporary(false);
        u.setCredentials(List.of(pw));
        try (var r = Keys.realm().users().create(u)) {
            assertThat(r.getStatus()).as("user created").isEqualTo(201);
        }
        String id = Keys.realm().users().searchByUsername(username, true).get(0).getId();
        Keys.realm().users().get(id).roles().realmLevel().add(List.of(roles).stream()
                .map(role -> Keys.realm().roles().get(role).toRepresentation()).toList());
        return id;
    }
}
