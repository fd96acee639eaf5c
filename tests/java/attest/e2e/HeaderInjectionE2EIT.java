package attest.e2e;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 10, item 2: every response header comes from the gateway's own decision. On every route of both planes,
 * hostile query parameters, form fields and request headers named like response headers (Location, Set-Cookie,
 * Content-Type, Cache-Control, X-Attest-*, Access-Control-Allow-Origin, Refresh, names with CR/LF encoded...)
 * never show up in the response; and every response carries {@code Cache-Control: no-store}.
 */
class HeaderInjectionE2EIT {
    /** Every injected value contains this word; no response header may. */
    static final String MARK = "evil";

    /** name=value pairs, raw (encoded below); some names carry CR/LF or NUL once decoded. */
    static final List<String[]> HOSTILE = List.of(
            new String[] {"Location", "http://evil.example/x"},
            new String[] {"location", "//evil.example"},
            new String[] {"LOCATION", "/evil"},
            new String[] {"Set-Cookie", "attest_approval_session=evil; Path=/"},
            new String[] {"set-cookie", "evil=1"},
            new String[] {"Content-Type", "text/html; evil=1"},
            new String[] {"Cache-Control", "public, max-age=31536000, evil"},
            new String[] {"X-Attest-Decision", "ALLOW-evil"},
            new String[] {"X-Attest-Subject", "evil-admin"},
            new String[] {"Access-Control-Allow-Origin", "http://evil.example"},
            new String[] {"Access-Control-Allow-Credentials", "true-evil"},
            new String[] {"Refresh", "0;url=http://evil.example"},
            new String[] {"WWW-Authenticate", "Basic realm=evil"},
            new String[] {"Retry-After", "evil"},
            new String[] {"X-Request-Id", "evil-request-id-123"},
            new String[] {"Content-Security-Policy", "default-src evil"},
            new String[] {"X-Frame-Options", "ALLOW-FROM http://evil.example"},
            new String[] {"X-Content-Type-Options", "evil"},
            new String[] {"Referrer-Policy", "evil"},
            new String[] {"X-More-Pages", "evil"},
            new String[] {"Content-Language", "evil"},
            new String[] {"OpenAI-Model", "evil"},
            new String[] {"X-RateLimit-Limit-Requests", "evil"},
            new String[] {"Connection", "evil"},
            new String[] {"Content-Disposition", "attachment; filename=evil.html"},
            new String[] {"\r\nSet-Cookie: evil", "1"},
            new String[] {"X-Evil\r\nSet-Cookie: evil", "1"},
            new String[] {"a", "b\r\nSet-Cookie: evil=1"},
            new String[] {"Location\u0000", "evil"},
            new String[] {"CamelHttpResponseCode", "302-evil"},
            new String[] {"attestApprovalAction", "page-evil"});

    static String encoded() {
        return HOSTILE.stream().map(p -> URLEncoder.encode(p[0], StandardCharsets.UTF_8) + "="
                + URLEncoder.encode(p[1], StandardCharsets.UTF_8)).collect(Collectors.joining("&"));
    }

    /** The request headers that a gateway with a permissive allow-list would have echoed. */
    static final Map<String, String> HOSTILE_HEADERS = Map.of("Location", "http://evil.example/h",
            "Set-Cookie", "evil=1", "Cache-Control", "public, evil", "Content-Language", "evil",
            "Retry-After", "evil", "WWW-Authenticate", "evil", "X-RateLimit-Limit-Requests", "evil",
            "OpenAI-Model", "evil", "Refresh", "0;url=http://evil.example", "X-Attest-Decision", "evil");

    @BeforeAll
    static void up() throws Exception {
        stack();
        // one plain call first: on a loaded machine a cold masking engine can miss its time budget (502)
        E2E.post("/llm/v1/chat/completions", stack().userToken("alice"), E2E.newRequestId(), E2E.CHAT);
    }

    /** Every route of both planes: method, plane, path, user (null: no token), body kind, what it answers. */
    static Stream<Arguments> routes() {
        String id = UUID.randomUUID().toString();
        return Stream.of(
                Arguments.of("POST", "data", "/llm/v1/chat/completions", "alice", "json", "allowed call"),
                Arguments.of("POST", "data", "/llm/v1/chat/completions", "alice", "form", "form body"),
                Arguments.of("POST", "data", "/llm/v1/chat/completions", null, "json", "401"),
                Arguments.of("POST", "data", "/llm/v1/chat/completions", "dave", "json", "policy deny"),
                Arguments.of("POST", "data", "/nowhere/v1/x", "alice", "json", "no upstream"),
                Arguments.of("GET", "data", "/approvals/" + id + "/result", "alice", "none", "held result"),
                Arguments.of("DELETE", "data", "/approvals/" + id, "alice", "none", "cancel"),
                Arguments.of("GET", "control", "/health", null, "none", "health"),
                Arguments.of("POST", "control", "/health", null, "form", "health with a form"),
                Arguments.of("GET", "control", "/metrics", null, "none", "metrics"),
                Arguments.of("GET", "control", "/approvals", "bob", "none", "approvals list"),
                Arguments.of("GET", "control", "/approvals", null, "none", "approvals 401"),
                Arguments.of("GET", "control", "/approvals/" + id, "bob", "none", "approval read"),
                Arguments.of("POST", "control", "/approvals/" + id + "/decision", "bob", "json", "decision"),
                Arguments.of("GET", "control", "/approvals/" + id + "/review", null, "none", "login redirect"),
                Arguments.of("POST", "control", "/approvals/" + id + "/review", null, "form", "page decision"),
                Arguments.of("GET", "control", "/auth/callback", null, "none", "sign-in callback"),
                Arguments.of("GET", "control", "/audit/access", "carol", "none", "report"),
                Arguments.of("GET", "control", "/audit/denials", "carol", "csv", "csv report"),
                Arguments.of("GET", "control", "/audit/access", null, "none", "audit 401"),
                Arguments.of("GET", "control", "/audit/records/" + id + "/payload", "carol", "none", "payload"),
                Arguments.of("GET", "control", "/audit/records/" + id + "/replay", "carol", "none", "replay view"),
                Arguments.of("POST", "control", "/audit/records/" + id + "/replay", "carol", "none", "replay run"));
    }

    @ParameterizedTest(name = "{0} {1} {2} ({5})")
    @MethodSource("routes")
    void should_never_answer_with_a_header_the_request_chose(String method, String plane, String path, String user,
                                                              String body, String what) throws Exception {
        int port = plane.equals("data") ? stack().dataPort : stack().controlPort;
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path + "?" + encoded()))
                .timeout(Duration.ofSeconds(30));
        if (user != null) {
            b.header("Authorization", "Bearer " + stack().userToken(user));
        }
        HOSTILE_HEADERS.forEach(b::header);
        HttpRequest.BodyPublisher publisher = HttpRequest.BodyPublishers.noBody();
        switch (body) {
            case "json" -> {
                b.header("Content-Type", "application/json");
                publisher = HttpRequest.BodyPublishers.ofString(path.endsWith("/decision")
                        ? "{\"decision\":\"approve\",\"comment\":\"x\"}" : E2E.CHAT);
            }
            case "form" -> {
                b.header("Content-Type", "application/x-www-form-urlencoded");
                publisher = HttpRequest.BodyPublishers.ofString(encoded() + "&decision=approve&csrf=x");
            }
            case "csv" -> b.header("Accept", "text/csv");
            default -> {
            }
        }
        HttpResponse<String> r = E2E.HTTP.send(b.method(method, publisher).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("%s: %s", what, r.body()).isBetween(200, 499);
        Map<String, List<String>> headers = r.headers().map();
        List<String> offending = new ArrayList<>();
        headers.forEach((name, values) -> {
            String n = name.toLowerCase(Locale.ROOT);
            if (n.contains(MARK) || n.startsWith("x-attest") || n.startsWith("access-control-") || n.equals("refresh")
                    || n.equals("set-cookie") && !values.stream().allMatch(HeaderInjectionE2EIT::gatewayLoginCookie)
                    || n.equals("content-disposition") || n.startsWith("camel")) {
                offending.add(name + ": " + values);
            }
            for (String v : values) {
                if (v.toLowerCase(Locale.ROOT).contains(MARK)) {
                    offending.add(name + ": " + v);
                }
            }
        });
        assertThat(offending).as("%s %s -> %d %s", method, path, r.statusCode(), headers).isEmpty();
        assertThat(r.headers().allValues("Cache-Control")).as("%s %s %s", method, path, headers)
                .containsExactly("no-store");
        assertThat(r.headers().allValues("X-Request-Id")).allMatch(v -> !v.contains(MARK));
        if (r.statusCode() == 302) {
            assertThat(r.headers().firstValue("Location").orElseThrow()).startsWith(stack().issuer);
        }
    }

    /**
     * The one cookie the gateway sets by its own decision: the approval page's sign-in binding (a random value the
     * gateway minted, scoped to the callback), on the redirect to the identity provider. Anything else is injected.
     */
    static boolean gatewayLoginCookie(String value) {
        return value.matches("attest_approval_login=[A-Za-z0-9_-]{32,}; Path=/auth/callback; HttpOnly; SameSite=Lax; "
                + "Max-Age=\\d+(; Secure)?");
    }

    @Test
    void should_send_no_store_on_a_decrypted_payload_and_the_answer_of_a_call() throws Exception {
        String rid = E2E.newRequestId();
        HttpResponse<String> call = E2E.post("/llm/v1/chat/completions?Cache-Control=public", stack().userToken("alice"),
                rid, E2E.CHAT);
        assertThat(call.statusCode()).isEqualTo(200);
        assertThat(call.headers().allValues("Cache-Control")).containsExactly("no-store");
        // the gateway's own request id, never the caller's (which is kept as the record's correlation id)
        assertThat(call.headers().firstValue("X-Request-Id")).hasValue(String.valueOf(E2E.evidence(rid)
                .get("request_id"))).isNotEqualTo(java.util.Optional.of(rid));
        String id = String.valueOf(E2E.evidence(rid).get("id"));
        HttpResponse<String> payload = PayloadsE2EIT.get("http://127.0.0.1:" + stack().controlPort + "/audit/records/"
                + id + "/payload", stack().userToken("carol"));
        assertThat(payload.statusCode()).isEqualTo(200);
        assertThat(payload.headers().allValues("Cache-Control")).containsExactly("no-store");
        HttpResponse<String> view = PayloadsE2EIT.get("http://127.0.0.1:" + stack().controlPort + "/audit/records/"
                + id + "/replay", stack().userToken("carol"));
        assertThat(view.statusCode()).isEqualTo(200);
        assertThat(view.headers().allValues("Cache-Control")).containsExactly("no-store");
    }
}
