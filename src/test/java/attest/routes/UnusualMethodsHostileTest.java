package attest.routes;

import attest.http.ChannelGuards;
import attest.http.ConnectionLimits;
import attest.http.ControlPlaneBodies;
import attest.http.HardenedHttpServerInitializerFactory;
import attest.http.HardenedNettyHttpComponent;
import attest.http.RefusedRequest;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.spi.Registry;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Requests with methods no client of ours sends (OPTIONS, TRACE, CONNECT, PROPFIND, lowercase {@code get}, an unknown
 * token, a method with a body), as raw HTTP/1.1 to the real listeners of both planes (hardened pipeline, early 401
 * guard, the real YAML routes), with and without a valid token. The promise (README; docs/security.md): every call is
 * recorded, no data without a valid token, fail closed. So each answer is a deliberate status with the JSON error
 * shape and no internal detail; a 405 names what is served in {@code Allow}; nothing reaches the upstream; a refusal
 * at the door is recorded like any other door refusal.
 */
@CamelMainTest(
        configurationClasses = UnusualMethodsHostileTest.Wiring.class,
        properties = {"attest.kafka.brokers=", "attest.rules.watch=false", "attest.kafka.relay-brokers=127.0.0.1:9",
                "attest.data.host=127.0.0.1", "attest.control.host=127.0.0.1"},
        replaceRouteFromWith = {"rules-watch=direct:rules-watch"})
class UnusualMethodsHostileTest {
    static final int DATA = ReadPathWatchBypassHostileTest.freePort();
    static final int CONTROL = ReadPathWatchBypassHostileTest.freePort();
    static final String TOKEN = RouteTestConfiguration.TOKENS.user("carol", List.of("inference-user", "auditor",
            "approver", "keys-admin"));
    /** A signed-in caller with no role of the control plane. */
    static final String DAVE = RouteTestConfiguration.TOKENS.user("dave", List.of("inference-user"));
    static final String ID = UUID.randomUUID().toString();
    static final List<RefusedRequest> REFUSALS = new CopyOnWriteArrayList<>();
    static final AtomicInteger UPSTREAM = new AtomicInteger();

    /** The route-test wiring, with the real listeners of both planes, their guards, and a counting upstream. */
    public static class Wiring implements CamelConfiguration {
        @Override
        public void configure(CamelContext context) {
            context.getPropertiesComponent().addOverrideProperty("attest.data.port", String.valueOf(DATA));
            context.getPropertiesComponent().addOverrideProperty("attest.control.port", String.valueOf(CONTROL));
            new RouteTestConfiguration().configure(context);
            Registry r = context.getRegistry();
            Clock clock = Clock.systemUTC();
            var netty = new HardenedNettyHttpComponent();
            netty.guard(DATA, new ChannelGuards(new ConnectionLimits(0, 0), 60_000, REFUSALS::add)
                    .withEarlyAuth(RouteTestConfiguration.TOKENS.validator(clock), 16_384));
            netty.guard(CONTROL, new ChannelGuards(new ConnectionLimits(0, 0), 60_000, REFUSALS::add)
                    .withEarlyAuth(RouteTestConfiguration.TOKENS.validator(clock), 16_384,
                            ControlPlaneBodies.exempt(ControlPlaneBodies.PAGE_FORM, 16_384)));
            r.bind("netty-http", netty);
            r.unbind("hardenedHttpServer");
            // as AttestConfiguration wires it: what the hardened server refuses is recorded
            r.bind("hardenedHttpServer", new HardenedHttpServerInitializerFactory(10_000,
                    refusal -> REFUSALS.add(refusal.toRefusedRequest())));
            // as AttestConfiguration wires it: what a control-plane route refuses is recorded with the door's
            r.unbind("recordRefusalProcessor");
            r.bind("recordRefusalProcessor", new attest.control.RecordRefusalProcessor(REFUSALS::add));
            // the real approvals path reading, and role checks of /audit and /rules/reload (DAVE has neither role)
            r.unbind("readApprovalPathProcessor");
            r.bind("readApprovalPathProcessor", new attest.approval.ReadApprovalPathProcessor());
            r.unbind("checkAuditorProcessor");
            r.bind("checkAuditorProcessor", new attest.audit.CheckAuditorProcessor("auditor"));
            r.unbind("checkRulesAdminProcessor");
            r.bind("checkRulesAdminProcessor", new attest.control.CheckRulesAdminProcessor("rules-admin"));
            // the real liveness answer, so that a HEAD has a body to leave out
            r.unbind("checkLivenessProcessor");
            r.bind("checkLivenessProcessor", new attest.control.CheckLivenessProcessor());
            r.unbind("callUpstreamProcessor");
            r.bind("callUpstreamProcessor", (org.apache.camel.Processor) e -> {
                UPSTREAM.incrementAndGet();
                e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
                e.getMessage().setBody("{\"upstream\":true}");
            });
        }
    }

    static String http(int port, String method, String target, String token, String body) throws IOException {
        return ReadPathWatchBypassHostileTest.http(port, method, target, token, body);
    }

    /**
     * plane | method | target | token | body | the statuses a production gateway may answer. A method that no route
     * serves is 405 with Allow, at the door, token or not (nothing is served, so the token is not even read); a
     * served method without a token is 401; with one, the route's own deliberate answer.
     */
    @ParameterizedTest(name = "{0} {1} {2} token={3} body={4}")
    @CsvSource(delimiter = '|', textBlock = """
            data    | OPTIONS  | /llm/v1/chat/completions | true  | false | 405
            data    | OPTIONS  | /llm/v1/chat/completions | false | false | 405
            data    | OPTIONS  | /llm/v1/chat/completions | true  | true  | 405
            data    | TRACE    | /llm/v1/chat/completions | true  | false | 405
            data    | TRACE    | /llm/v1/chat/completions | false | false | 405
            data    | CONNECT  | /llm/v1/chat/completions | true  | false | 405
            data    | PROPFIND | /llm/v1/chat/completions | true  | false | 405
            data    | PROPFIND | /llm/v1/chat/completions | false | true  | 405
            data    | get      | /llm/v1/chat/completions | true  | false | 405
            data    | post     | /llm/v1/chat/completions | true  | true  | 405
            data    | FOO      | /llm/v1/chat/completions | true  | true  | 405
            data    | FOO      | /llm/v1/chat/completions | false | false | 405
            data    | GET      | /llm/v1/chat/completions | true  | true  | 403
            data    | GET      | /llm/v1/chat/completions | false | true  | 401
            data    | DELETE   | /llm/v1/chat/completions | true  | true  | 403
            data    | OPTIONS  | /nowhere/v1/x            | true  | false | 405
            data    | PROPFIND | /nowhere/v1/x            | false | false | 405
            data    | GET      | /nowhere/v1/x            | true  | false | 404
            data    | OPTIONS  | /                        | false | false | 405
            control | OPTIONS  | /keys                    | true  | false | 405
            control | OPTIONS  | /keys                    | false | false | 405
            control | TRACE    | /keys                    | false | false | 405
            control | CONNECT  | /keys                    | true  | false | 405
            control | PROPFIND | /keys                    | true  | true  | 405
            control | get      | /keys                    | true  | false | 405
            control | FOO      | /keys                    | false | false | 405
            control | OPTIONS  | /audit/access            | true  | false | 405
            control | PROPFIND | /audit/access            | false | false | 405
            control | OPTIONS  | /approvals               | false | false | 405
            control | OPTIONS  | /approvals/ID/decision   | true  | true  | 405
            control | get      | /approvals               | true  | false | 405
            control | OPTIONS  | /evidence/ID/proof       | true  | false | 405
            control | TRACE    | /evidence/ID/proof       | true  | false | 405
            control | OPTIONS  | /health                  | false | false | 405
            control | OPTIONS  | /health/ready            | false | false | 405
            control | FOO      | /health/live             | false | false | 405
            control | OPTIONS  | /openapi.json            | false | false | 405
            control | PROPFIND | /openapi.json            | false | false | 405
            control | OPTIONS  | /nowhere                 | false | false | 405
            control | GET      | /keys                    | false | false | 401
            control | GET      | /keys                    | false | true  | 401
            """)
    void should_answer_every_unusual_method_deliberately_and_forward_nothing(String plane, String method,
            String target, boolean token, boolean body, String expected) throws Exception {
        int port = plane.equals("data") ? DATA : CONTROL;
        String t = target.replace("ID", ID);
        int upstream = UPSTREAM.get();
        int refusals = REFUSALS.size();
        String answer = http(port, method, t, token ? TOKEN : null, body
                ? "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" : null);
        String what = plane + " " + method + " " + t + ": " + answer;
        assertThat(answer).as(what).startsWith("HTTP/1.1 ");
        int status = Integer.parseInt(answer.substring(9, 12));
        assertThat(Arrays.stream(expected.split("/")).map(Integer::parseInt).toList()).as(what).contains(status);
        String head = answer.substring(0, Math.max(answer.indexOf("\r\n\r\n"), 0)).toLowerCase(Locale.ROOT);
        String lower = answer.toLowerCase(Locale.ROOT);
        for (String internal : List.of("exception", "\tat ", "org.apache", "io.netty", "attest.", "stack", "caused by")) {
            assertThat(lower).as(what).doesNotContain(internal);
        }
        assertThat(answer).as(what).doesNotContain(TOKEN);
        assertThat(UPSTREAM.get()).as("forwarded upstream: " + what).isEqualTo(upstream);
        if (status == 405) {
            assertThat(head).as(what).contains("\r\nallow: get, head, post, put, patch, delete");
            assertThat(answer).as(what).contains("\"code\":\"method_not_allowed\"");
        }
        // every 405 and every 401 is recorded: at the door (on the data plane, and a control-plane request with a
        // body), or by the control-plane route that refused it (a bodiless control-plane GET without a token)
        if (status == 405 || status == 401) {
            // a refusal at the door is recorded as evidence, with the method as sent (just after the answer is sent)
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(REFUSALS.size()).as("recorded: " + what).isEqualTo(refusals + 1));
            RefusedRequest r = REFUSALS.get(REFUSALS.size() - 1);
            assertThat(r.status()).as(what).isEqualTo(status);
            assertThat(r.method()).as(what).isEqualTo(method);
            assertThat(r.code()).as(what).isEqualTo(status == 405 ? "method_not_allowed" : "invalid_token");
        }
    }

    /**
     * method | target | token | body | Allow. A served method that a control-plane path does not serve is 405 with
     * that path's own {@code Allow} (the probes and metrics: GET and HEAD only), the JSON error, no internal detail,
     * recorded like the door's {@code method_not_allowed}, whether a token is sent or not (the methods are public: the
     * OpenAPI document names them). Before 2026-12-02 the probes and metrics answered any method as GET,
     * {@code /openapi.json} gave camel-netty-http's bare 405 (no Allow, not recorded), the other paths a 404.
     */
    @ParameterizedTest(name = "{0} {1} token={2} body={3}")
    @CsvSource(delimiter = '|', textBlock = """
            PUT    | /health         | false | false | GET, HEAD
            DELETE | /health         | false | false | GET, HEAD
            DELETE | /health?probe=1 | false | false | GET, HEAD
            PUT    | /HEALTH         | false | false | GET, HEAD
            DELETE | /health/        | false | false | GET, HEAD
            POST   | /Metrics        | false | false | GET, HEAD
            PUT    | /KEYS           | true  | false | GET, POST
            POST   | /health/live    | false | false | GET, HEAD
            PATCH  | /health/ready   | false | false | GET, HEAD
            DELETE | /health/ready   | true  | false | GET, HEAD
            PUT    | /metrics        | false | false | GET, HEAD
            POST   | /metrics        | true  | true  | GET, HEAD
            PUT    | /openapi.json   | false | false | GET, HEAD
            DELETE | /openapi.json   | true  | false | GET, HEAD
            GET    | /rules/reload   | true  | false | POST
            PUT    | /keys           | false | false | GET, POST
            PUT    | /keys           | true  | true  | GET, POST
            HEAD   | /keys           | true  | false | GET, POST
            GET    | /keys/ID        | true  | false | DELETE
            PATCH  | /approvals      | false | false | GET
            GET    | /approvals/ID/decision | true | false | POST
            PUT    | /approvals/ID/review   | false | false | GET, POST
            POST   | /audit/access   | true  | true  | GET
            DELETE | /audit/records/ID/replay | true | false | GET, POST
            POST   | /evidence/ID/proof | true | true | GET
            DELETE | /auth/callback  | false | false | GET
            """)
    void should_refuse_a_method_a_control_path_does_not_serve_with_405_and_its_allow_list(String method,
            String target, boolean token, boolean body, String allow) throws Exception {
        String t = target.replace("ID", ID);
        int refusals = REFUSALS.size();
        String answer = http(CONTROL, method, t, token ? TOKEN : null, body
                ? "{\"model\":\"demo\",\"messages\":[]}" : null);
        String what = method + " " + t + ": " + answer;
        assertThat(answer).as(what).startsWith("HTTP/1.1 405 ");
        String head = answer.substring(0, Math.max(answer.indexOf("\r\n\r\n"), 0));
        assertThat(head.toLowerCase(Locale.ROOT)).as(what).contains("\r\nallow: " + allow.toLowerCase(Locale.ROOT) + "\r\n")
                .contains("\r\ncontent-type: application/json");
        if (method.equals("HEAD")) { // the error's head, no content (RFC 9110 9.3.2)
            assertThat(answer.substring(head.length() + 4)).as(what).isEmpty();
        } else {
            assertThat(answer).as(what).contains("\"code\":\"method_not_allowed\"");
        }
        assertThat(answer).as(what).doesNotContain(TOKEN);
        String lower = answer.toLowerCase(Locale.ROOT);
        for (String internal : List.of("exception", "\tat ", "org.apache", "io.netty", "attest.", "stack", "caused by")) {
            assertThat(lower).as(what).doesNotContain(internal);
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(REFUSALS.size()).as("recorded: " + what).isEqualTo(refusals + 1));
        RefusedRequest r = REFUSALS.get(REFUSALS.size() - 1);
        assertThat(r.status()).as(what).isEqualTo(405);
        assertThat(r.code()).as(what).isEqualTo("method_not_allowed");
        assertThat(r.method()).as(what).isEqualTo(method);
        assertThat(r.target()).as(what).isEqualTo(t);
        assertThat(r.source()).as(what).isEqualTo("127.0.0.1");
    }

    /** An unserved method under another spelling of a probe's path is never answered as the probe (2xx). */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"PUT,/h%65alth", "DELETE,/%68ealth/live", "PUT,/health;x=1", "POST,/health/live;", "PUT,/health%2F",
            "DELETE,/metrics/", "PUT,/health/live/", "DELETE,/HEALTH/READY", "PUT,/health/./live",
            "PUT,/health/../health", "PATCH,/openapi.json/", "PUT,/OpenAPI.JSON"})
    void should_never_answer_an_unserved_method_as_the_probe_under_another_spelling(String method, String target)
            throws Exception {
        String answer = http(CONTROL, method, target, null, null);
        assertThat(answer).as(method + " " + target).startsWith("HTTP/1.1 ");
        assertThat(answer.charAt(9)).as(method + " " + target + ": " + answer).isEqualTo('4');
    }

    /**
     * method | target | credential (none, bad: a malformed token, dave: a valid token without the path's role) |
     * status | code. A control-plane route that refuses the request itself, without a token (the route checks a
     * bodiless request's token: the door lets it through) or without the role, records the refusal as the door
     * records its own: status, code, the method and target as sent, the source (which the refusal recorder's
     * per-source limit counts, so a token-less flood is counted, not stored one by one), the request id the answer
     * names, why the token was refused, who was refused when known; never the token. Before 2026-12-02 none of these
     * was recorded.
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource(delimiter = '|', textBlock = """
            GET    | /keys                        | none | 401 | invalid_token
            GET    | /keys                        | bad  | 401 | invalid_token
            DELETE | /keys/ID                     | none | 401 | invalid_token
            GET    | /approvals                   | none | 401 | invalid_token
            GET    | /approvals/ID                | bad  | 401 | invalid_token
            POST   | /approvals/ID/decision       | none | 401 | invalid_token
            GET    | /audit/access                | none | 401 | invalid_token
            GET    | /audit/usage?by=user         | bad  | 401 | invalid_token
            GET    | /audit/records/ID/payload    | none | 401 | invalid_token
            POST   | /audit/records/ID/replay     | none | 401 | invalid_token
            GET    | /evidence/ID/proof           | none | 401 | invalid_token
            POST   | /rules/reload                | none | 401 | invalid_token
            GET    | /audit/access                | dave | 403 | forbidden
            GET    | /audit/records/ID/payload    | dave | 403 | forbidden
            POST   | /rules/reload                | dave | 403 | forbidden
            """)
    void should_record_a_control_plane_routes_refusal_as_the_door_records_its_own(String method, String target,
            String credential, int expected, String code) throws Exception {
        String t = target.replace("ID", ID);
        String token = switch (credential) {
            case "bad" -> "not.a.token";
            case "dave" -> DAVE;
            default -> null;
        };
        int refusals = REFUSALS.size();
        String answer = http(CONTROL, method, t, token, null);
        String what = method + " " + t + " " + credential + ": " + answer;
        assertThat(answer).as(what).startsWith("HTTP/1.1 " + expected + " ");
        assertThat(answer).as(what).contains("\"code\":\"" + code + "\"");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(REFUSALS.size()).as("recorded: " + what).isEqualTo(refusals + 1));
        java.util.regex.Matcher rid = java.util.regex.Pattern.compile("(?i)\r\nx-request-id: ([^\r]+)\r\n")
                .matcher(answer);
        assertThat(rid.find()).as("X-Request-Id: " + what).isTrue();
        RefusedRequest r = REFUSALS.get(REFUSALS.size() - 1);
        assertThat(r.status()).as(what).isEqualTo(expected);
        assertThat(r.code()).as(what).isEqualTo(code);
        assertThat(r.method()).as(what).isEqualTo(method);
        assertThat(r.target()).as(what).isEqualTo(t);
        assertThat(r.source()).as(what).isEqualTo("127.0.0.1");
        assertThat(r.requestId()).as(what).isEqualTo(rid.group(1));
        if (expected == 401) {
            assertThat(r.authError()).as(what).isNotBlank();
            assertThat(r.subject()).as(what).isNull();
        } else {
            assertThat(r.subject()).as(what).isEqualTo(UUID.nameUUIDFromBytes("dave".getBytes()).toString());
        }
        assertThat(r.toString()).as(what).doesNotContain(DAVE).doesNotContain("not.a.token");
    }

    /**
     * Health and readiness probes still work: GET and HEAD are served, a HEAD with the GET answer's head and no
     * content (before 2026-12-02 a HEAD got the GET answer's body too, which a keep-alive client or a proxy sharing the
     * connection reads as the start of the next answer).
     */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"GET,/health/live", "GET,/health/ready", "GET,/health", "HEAD,/health/live", "HEAD,/health",
            "HEAD,/health/ready", "GET,/metrics", "HEAD,/metrics", "GET,/openapi.json", "HEAD,/openapi.json"})
    void should_keep_the_probes_working(String method, String target) throws Exception {
        String answer = http(CONTROL, method, target, null, null);
        assertThat(Integer.parseInt(answer.substring(9, 12))).as(answer).isLessThan(400);
        if (method.equals("HEAD")) { // RFC 9110 9.3.2: the GET answer's head, no content
            assertThat(answer.substring(answer.indexOf("\r\n\r\n") + 4)).as("HEAD body: " + answer).isEmpty();
        }
    }

    /** A rules administrator: the one role that may reload the rules. */
    static final String ERIN = RouteTestConfiguration.TOKENS.user("erin", List.of("rules-admin"));

    /**
     * method | target | Allow (empty: none). A rules administrator's request of the reload with another method than
     * POST is 405 with its Allow, under the spellings the control plane's path check names (case, one trailing
     * slash). Other spellings that camel-netty-http still gives to a route are 400 (the next test).
     */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', textBlock = """
            GET    | /rules/reload   | POST
            PUT    | /RULES/Reload/  | POST
            DELETE | /rules/reload   | POST
            """)
    void should_refuse_a_rules_admins_other_method_than_post_on_the_reload(String method, String target,
                                                                         String allow) throws Exception {
        String answer = http(CONTROL, method, target, ERIN, null);
        String what = method + " " + target + ": " + answer;
        assertThat(answer).as(what).startsWith("HTTP/1.1 405 ").contains("\"code\":\"method_not_allowed\"");
        String head = answer.substring(0, Math.max(answer.indexOf("\r\n\r\n"), 0)).toLowerCase(Locale.ROOT);
        if (allow == null) {
            assertThat(answer).as(what).contains("use POST");
        } else {
            assertThat(head).as(what).contains("\r\nallow: " + allow.toLowerCase(Locale.ROOT) + "\r\n");
        }
    }

    /**
     * method | target. A control-plane target that does not normalise is 400 bad_request before any route acts on it,
     * whoever asks and whatever the method. camel-netty-http gives /rules/reload// to control-rules (its match drops
     * one trailing slash, its path matcher another), /health// to the probe and /keys// to the keys route: before,
     * the method check could not name such a path and let it through (PUT /health// and PUT /keys// 200, a rules
     * admin's GET /rules/reload// stopped only by the route's own "use POST").
     */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', textBlock = """
            GET    | /rules/reload//
            DELETE | /Rules/Reload//
            POST   | /rules/reload//
            PUT    | /health//
            DELETE | /metrics//
            PUT    | /keys//
            GET    | /keys//
            PATCH  | /approvals//
            GET    | //openapi.json
            """)
    void should_refuse_a_control_plane_target_that_does_not_normalise(String method, String target) throws Exception {
        String answer = http(CONTROL, method, target, ERIN, null);
        String what = method + " " + target + ": " + answer;
        assertThat(answer).as(what).startsWith("HTTP/1.1 400 ").contains("\"code\":\"bad_request\"")
                .doesNotContain("use POST");
    }
}
