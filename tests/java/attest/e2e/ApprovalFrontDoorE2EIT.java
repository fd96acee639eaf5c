package attest.e2e;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;
import java.util.stream.Stream;

import static attest.e2e.ApprovalE2EIT.RISKY;
import static attest.e2e.ApprovalE2EIT.chat;
import static attest.e2e.ApprovalE2EIT.control;
import static attest.e2e.ApprovalE2EIT.events;
import static attest.e2e.ApprovalE2EIT.get;
import static attest.e2e.ApprovalE2EIT.hold;
import static attest.e2e.E2E.HTTP;
import static attest.e2e.E2E.JSON;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The approvals' front door on the suite's gateway: decisions from anyone but the rule's approvers, with
 * credentials of the wrong kind, in bodies no client sends, on ids nobody issued; the requester's endpoints by
 * someone else; sign-in callbacks nobody started. Nothing of it decides, cancels or reads a held call, and
 * nothing of it is a 5xx.
 */
class ApprovalFrontDoorE2EIT {
    static String held;

    @BeforeAll
    static void hold_one() throws Exception {
        held = hold(stack().gatewayUrl(), "alice", newRequestId(), chat("demo-model", RISKY + " front door"));
    }

    static HttpResponse<String> decide(String id, String authorization, String contentType, String body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(control() + "/approvals/" + id + "/decision"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static final String APPROVE = "{\"decision\":\"approve\",\"comment\":\"front door\"}";

    static Stream<Arguments> strangers() {
        return Stream.of(
                Arguments.of("no token", null, 401),
                Arguments.of("dave (no role)", "Bearer " + stack().userToken("dave"), 403),
                Arguments.of("carol (auditor)", "Bearer " + stack().userToken("carol"), 403),
                Arguments.of("audrey (auditor, inference user)", "Bearer " + stack().userToken("audrey"), 403),
                Arguments.of("alice (the requester, no approver role)", "Bearer " + stack().userToken("alice"), 403),
                Arguments.of("bob's token for another client", "Bearer " + stack().userToken("other-app", "bob"), 401),
                Arguments.of("bob's ID token", "Bearer " + stack().otherToken("bob", "id_token"), 401),
                Arguments.of("bob's refresh token", "Bearer " + stack().otherToken("bob", "refresh_token"), 401),
                Arguments.of("bob's token, signature re-spelt", "Bearer " + stack().userToken("bob") + "==", 401),
                Arguments.of("bob's token in the query", "QUERY", 401),
                Arguments.of("Basic bob:bob", "Basic Ym9iOmJvYg==", 401));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("strangers")
    void should_let_nobody_but_the_rules_approvers_decide(String name, String authorization, Integer status)
            throws Exception {
        HttpResponse<String> r;
        if ("QUERY".equals(authorization)) {
            r = HTTP.send(HttpRequest.newBuilder(URI.create(control() + "/approvals/" + held + "/decision?access_token="
                            + stack().userToken("bob"))).timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(APPROVE))
                    .build(), HttpResponse.BodyHandlers.ofString());
        } else {
            r = decide(held, authorization, "application/json", APPROVE);
        }
        assertThat(r.statusCode()).as(r.body()).isIn(401, 403, 404);
        if (status != null) {
            assertThat(r.statusCode()).as(r.body()).isIn(status, 404);
        }
        assertThat(events(held)).doesNotContain("approved", "denied", "executed");
        assertThat(JSON.readTree(get(control() + "/approvals/" + held, stack().userToken("bob")).body())
                .path("state").asText()).isEqualTo("pending");
    }

    static Stream<Arguments> oddDecisions() {
        return Stream.of(
                Arguments.of("repeated decision key", "{\"decision\":\"deny\",\"decision\":\"approve\"}"),
                Arguments.of("escaped repeated key", "{\"decision\":\"deny\",\"decisi\\u006fn\":\"approve\"}"),
                Arguments.of("upper case", "{\"decision\":\"APPROVE\"}"),
                Arguments.of("array", "{\"decision\":[\"approve\"]}"),
                Arguments.of("comment past 2000", "{\"decision\":\"approve\",\"comment\":\"" + "c".repeat(2001) + "\"}"),
                Arguments.of("comment of a megabyte", "{\"decision\":\"approve\",\"comment\":\"" + "c".repeat(1 << 20)
                        + "\"}"),
                Arguments.of("not JSON", "decision=approve"),
                Arguments.of("two documents", "{\"decision\":\"deny\"}{\"decision\":\"approve\"}"),
                Arguments.of("empty", ""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("oddDecisions")
    void should_refuse_a_decision_body_nobody_meant_with_a_4xx(String name, String body) throws Exception {
        String id = hold(stack().gatewayUrl(), "alice", newRequestId(), chat("demo-model", RISKY + " odd " + name));
        HttpResponse<String> r = decide(id, "Bearer " + stack().userToken("bob"), "application/json", body);
        assertThat(r.statusCode()).as(r.body()).isBetween(400, 499);
        assertThat(events(id)).doesNotContain("approved", "denied", "executed");
    }

    static Stream<Arguments> unknownIds() {
        return Stream.of(
                Arguments.of(UUID.randomUUID().toString()),
                Arguments.of("not-a-uuid"),
                Arguments.of("%2e%2e"),
                Arguments.of("00000000-0000-0000-0000-000000000000"),
                Arguments.of("a".repeat(3000)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unknownIds")
    void should_answer_a_decision_on_an_id_nobody_issued_with_a_4xx(String id) throws Exception {
        HttpResponse<String> r = decide(id, "Bearer " + stack().userToken("bob"), "application/json", APPROVE);
        assertThat(r.statusCode()).as(r.body()).isBetween(400, 499);
    }

    @Test
    void should_not_let_another_inference_user_read_or_cancel_a_held_call() throws Exception {
        String paula = stack().userToken("paula");
        HttpResponse<String> read = get(stack().gatewayUrl() + "/approvals/" + held + "/result", paula);
        assertThat(read.statusCode()).as(read.body()).isEqualTo(404);
        HttpResponse<String> cancel = ApprovalE2EIT.delete(stack().gatewayUrl() + "/approvals/" + held, paula);
        assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(404);
        assertThat(events(held)).doesNotContain("cancelled");
        assertThat(ApprovalE2EIT.delete(stack().gatewayUrl() + "/approvals/" + held, stack().userToken("carol"))
                .statusCode()).isIn(403, 404);
        assertThat(events(held)).doesNotContain("cancelled");
    }

    @Test
    void should_bound_what_a_requester_approving_their_own_call_over_and_over_stores() throws Exception {
        String id = hold(stack().gatewayUrl(), "frank", newRequestId(), chat("demo-model", RISKY + " self"));
        String frank = "Bearer " + stack().userToken("frank");
        String comment = "\uD83D\uDE00".repeat(1000); // 2000 UTF-16 units, 4000 bytes of UTF-8
        int n = 20;
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = decide(id, frank, "application/json",
                    "{\"decision\":\"approve\",\"comment\":\"" + comment + "\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
        }
        long rows = E2E.count("SELECT count(*) FROM approval_event WHERE approval_id = '" + id + "'::uuid");
        long bytes = E2E.count("SELECT coalesce(sum(pg_column_size(e.*)), 0) FROM approval_event e WHERE approval_id = '"
                + id + "'::uuid");
        System.out.printf("[approvals] %d refused self-approvals: %d approval_event rows, %d bytes%n", n, rows, bytes);
        assertThat(events(id)).doesNotContain("approved", "executed");
    }

    @Test
    void should_refuse_sign_in_callbacks_nobody_started_and_store_nothing() throws Exception {
        long logins = E2E.count("SELECT count(*) FROM approval_login");
        long sessions = E2E.count("SELECT count(*) FROM approval_session");
        for (String q : new String[] {"state=" + UUID.randomUUID() + "&code=x", "state=&code=", "code=x",
                "state=" + "s".repeat(4000) + "&code=" + "c".repeat(4000), "state=a&state=b&code=x",
                "error=access_denied&state=x"}) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(control() + "/auth/callback?" + q))
                    .timeout(Duration.ofSeconds(10)).header("Cookie", "attest_approval_login=" + UUID.randomUUID())
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(q.substring(0, Math.min(q.length(), 40)) + " " + r.body()).isBetween(400, 499);
            assertThat(r.headers().allValues("Set-Cookie")).noneMatch(c -> c.startsWith("attest_approval_session="));
        }
        assertThat(E2E.count("SELECT count(*) FROM approval_session")).isEqualTo(sessions);
        assertThat(E2E.count("SELECT count(*) FROM approval_login")).isLessThanOrEqualTo(logins);
    }

    @Test
    void should_not_decide_from_the_page_without_a_session() throws Exception {
        for (String cookie : new String[] {null, "attest_approval_session=" + UUID.randomUUID(),
                "attest_approval_session=" + "x".repeat(3000)}) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(control() + "/approvals/" + held + "/review"))
                    .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/x-www-form-urlencoded")
                    .header("Origin", control())
                    .POST(HttpRequest.BodyPublishers.ofString("decision=approve&csrf=" + UUID.randomUUID()));
            if (cookie != null) {
                b.header("Cookie", cookie);
            }
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isBetween(300, 499);
        }
        assertThat(events(held)).doesNotContain("approved", "denied", "executed");
    }
}
