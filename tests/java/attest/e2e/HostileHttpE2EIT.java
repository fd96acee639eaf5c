package attest.e2e;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A standing adversarial suite (issue 10): a raw-socket corpus of malformed and hostile requests, generated
 * from shape tables (request-line forms, smuggling framing, header obfuscation, control characters, encodings,
 * path tricks, method tricks, huge values, HTTP/0.9 and the HTTP/2 preface, pipelined pairs). Each must get
 * the expected 4xx (never 2xx, never 5xx), reach no upstream, and echo nothing of the request (no header,
 * parameter, body or token) into the response.
 */
class HostileHttpE2EIT {
    /** Put in every request (header, parameter or body); must never come back. */
    static final String ECHO = "zq9echo";
    static final String CHAT = "/llm/v1/chat/completions";
    static final Set<Integer> BAD = Set.of(400);
    static final Set<Integer> BAD_OR_NOT_FOUND = Set.of(400, 404);
    /** A pipelined pair: the first answer may be the refusal of the second (which closes the connection). */
    static final Set<Integer> PIPELINED = Set.of(400, 401, 431);
    static String token;

    static String visible(String s) {
        StringBuilder b = new StringBuilder();
        for (char ch : s.toCharArray()) {
            b.append(ch < 0x20 || ch >= 0x7f ? String.format("\\u%04x", (int) ch) : String.valueOf(ch));
        }
        return b.toString();
    }

    @BeforeAll
    static void up() {
        stack();
        token = stack().userToken("alice");
    }

    /** name, request bytes (ISO-8859-1), the statuses the first answer may have, how many answers to wait for. */
    record Case(String name, String request, Set<Integer> expected, int responses) {
    }

    static String auth() {
        return "Authorization: Bearer " + token + "\r\n";
    }

    static String body() {
        return "{\"model\":\"demo-model\",\"messages\":[{\"role\":\"user\",\"content\":\"" + ECHO + "\"}]}";
    }

    /** A request that would be served, but for the one part under test. */
    static String valid(String method, String target, String extraHeaders) {
        String b = body();
        return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth() + "X-Marker: " + ECHO + "\r\n"
                + "Content-Type: application/json\r\n" + extraHeaders + "Content-Length: " + b.length() + "\r\n\r\n" + b;
    }

    static List<Case> corpus() {
        List<Case> c = new ArrayList<>();
        // request-line forms: nothing but origin-form
        List<String> targets = List.of("@127.0.0.1/x", "@127.0.0.1:1" + CHAT, "//127.0.0.1" + CHAT, "///llm/v1/x",
                "http://127.0.0.1" + CHAT, "https://127.0.0.1" + CHAT, "HTTP://127.0.0.1/x", "http:" + CHAT,
                "127.0.0.1:443", "localhost:80", "*", "llm/v1/chat/completions", "/\\127.0.0.1/x", "\\" + CHAT,
                "/llm\\v1\\chat", "%2F" + CHAT, "%40127.0.0.1/x", "?x=" + ECHO, "#" + ECHO, "/llm/v1/\u00e9");
        for (String t : targets) {
            for (String m : List.of("GET", "POST")) {
                c.add(new Case("target " + m + " " + t, valid(m, t, ""), BAD, 1));
            }
        }
        // smuggling: Transfer-Encoding that is not exactly chunked, with and without Content-Length
        List<String> te = List.of("xchunked", "chunked, chunked", "gzip, chunked", "identity", "gzip", "chunked;q=1",
                "\"chunked\"", "chunk", "chunked,", ", chunked");
        for (String v : te) {
            String head = "POST " + CHAT + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth() + "X-Marker: " + ECHO + "\r\n";
            c.add(new Case("TE " + v, head + "Transfer-Encoding: " + v + "\r\n\r\n0\r\n\r\n", BAD, 1));
            c.add(new Case("TE " + v + " + CL", head + "Transfer-Encoding: " + v + "\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
                    BAD, 1));
        }
        // smuggling: Content-Length with Transfer-Encoding in either order, and broken Content-Length
        String head = "POST " + CHAT + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth() + "X-Marker: " + ECHO + "\r\n";
        String smuggled = "GET /llm/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth() + "\r\n";
        c.add(new Case("CL.TE", head + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, BAD, 1));
        c.add(new Case("TE.CL", head + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\n" + smuggled + "\r\n0\r\n\r\n",
                BAD, 1));
        for (String cl : List.of("2\r\nContent-Length: 3", "+4", "-1", "0x4", "4 4", "4, 5", "1e3", "99999999999999999999",
                "4\u00a0", "", " ", "abc")) {
            c.add(new Case("Content-Length [" + visible(cl) + "]", head + "Content-Length: " + cl + "\r\n\r\n{}xx", BAD, 1));
        }
        // header obfuscation and control characters
        // (obs-fold, a line starting with a space, is not here: Netty replaces it with a space, as RFC 9112 5.2 allows)
        List<String> headers = List.of("Transfer-Encoding : chunked",
                "Transfer-Encoding:\u000bchunked", "Transfer-Encoding:\fchunked", "X-A: a\u0000b", "X-A: a\u0001b",
                "X-A: a\u007fb", "X-A: a\rb", "X\u0000A: 1", "X A: 1", ": " + ECHO, "NoColon" + ECHO, "X\u00e9: 1",
                "X-A:\u0000", "X-(A): 1", "X-A\t: 1", "X-[A]: 1", "X-A: 1\r\n\u0001X-B: 2", "X{A}: 1", "X\"A: 1");
        for (String h : headers) {
            c.add(new Case("header [" + visible(h) + "]", valid("POST", CHAT, h + "\r\n"), BAD, 1));
        }
        // encodings and path tricks, with a valid token: refused before policy, or no such upstream
        List<String> paths = List.of("/llm/%2e%2e/admin", "/llm/..%2f..%2fadmin", "/llm/%252e%252e/x", "/llm/v1;x=1/chat",
                "/llm/v1%3Bx/chat", "/llm;/v1/chat/completions", "/llm/%00/x", "/llm/%c0%ae%c0%ae/x", "/llm/v1//chat",
                "/llm/./v1/chat/completions", "/llm/../llm/v1/chat/completions", "/%6c%6c%6d/../admin",
                "/llm/v1/chat/completions%00.json", "/llm/%5c../x", "/llm/%ff/x", "/llm/v1?a=%zz", "/llm/v1?a=[1]",
                "/llm/v1?a=%", "/LLM/v1/chat/completions", "/llm-other/v1/x", "/llm%2fv1/chat", "/llm/v1/%2e",
                "/llm/%u002e%u002e/x", "/llm/v1/chat/completions/..", "/nowhere/" + ECHO, "/approvals/" + ECHO,
                "/llm/v1/%0d%0aX:%20" + ECHO, "/llm/v1/%09", "/llm/v1/chat/completions;" + ECHO,
                "/llm/v1/chat/completions?x=" + ECHO + "%zz");
        for (String p : paths) {
            for (String m : List.of("GET", "POST", "PUT")) {
                c.add(new Case("path " + m + " " + p, valid(m, p, ""), BAD_OR_NOT_FOUND, 1));
            }
        }
        // method tricks, without a token: never served, never forwarded
        for (String m : List.of("TRACE", "TRACK", "CONNECT", "PROPFIND", "post", "P0ST", "GET\u0000", "M".repeat(200),
                "DEBUG", "PATCH", "OPTIONS", "HEAD", "MOVE", "X-" + ECHO, "BREW")) {
            c.add(new Case("method " + visible(m.substring(0, Math.min(m.length(), 12))),
                    m + " " + CHAT + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Marker: " + ECHO + "\r\nContent-Length: 2\r\n\r\n{}",
                    // a well-formed method the gateway does not serve (methods are case-sensitive) is 405 at the
                    // door; a malformed one (a control character) 400; a served one without a token 401
                    m.matches("[A-Za-z0-9-]+") && !m.matches("GET|HEAD|POST|PUT|PATCH|DELETE") ? Set.of(405)
                            : Set.of(400, 401), 1));
        }
        // huge values
        c.add(new Case("huge header", valid("POST", CHAT, "X-A: " + ECHO + "a".repeat(20_000) + "\r\n"), Set.of(431), 1));
        c.add(new Case("many headers", valid("POST", CHAT, ("X-" + ECHO + ": " + "b".repeat(90) + "\r\n").repeat(250)),
                Set.of(431), 1));
        c.add(new Case("huge cookie", valid("POST", CHAT, "Cookie: a=" + "c".repeat(17_000) + "\r\n"), Set.of(431), 1));
        c.add(new Case("huge request line", valid("GET", "/llm/" + "a".repeat(9000), ""), Set.of(414), 1));
        c.add(new Case("huge query", valid("GET", CHAT + "?q=" + "%41".repeat(3000), ""), Set.of(414), 1));
        c.add(new Case("huge declared body", "POST " + CHAT + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Marker: " + ECHO
                + "\r\nContent-Length: 99999999\r\n\r\n{", Set.of(401, 408, 413), 1));
        // HTTP/0.9, other versions, the HTTP/2 preface, a response sent as a request
        c.add(new Case("HTTP/0.9", "GET " + CHAT + "\r\n\r\n", BAD, 1));
        c.add(new Case("HTTP/0.9 root", "GET /\r\n", BAD, 1));
        c.add(new Case("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", BAD, 1));
        c.add(new Case("HTTP/2 preface and frame", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\u0000\u0000\u0000\u0004\u0000\u0000\u0000\u0000\u0000",
                BAD, 1));
        c.add(new Case("response as request", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", BAD, 1));
        c.add(new Case("version FOO", "GET " + CHAT + " FOO/1.1\r\nHost: x\r\n\r\n", BAD, 1));
        c.add(new Case("version garbage", "GET " + CHAT + " HTTP/1.1.1\r\nHost: x\r\n\r\n", BAD, 1));
        c.add(new Case("no version", "GET " + CHAT + " \r\nHost: x\r\n\r\n", BAD, 1));
        c.add(new Case("only spaces", "   \r\n\r\n", Set.of(400, 408), 1));
        c.add(new Case("binary", "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003", Set.of(400, 408), 1));
        // pipelined pairs: an unauthenticated request, then a hostile one on the same connection
        String first = "GET " + CHAT + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Marker: " + ECHO + "\r\n\r\n";
        for (String t : List.of("@127.0.0.1/x", "//127.0.0.1/x", "http://127.0.0.1/x", "*", "/llm/%2e%2e/x")) {
            c.add(new Case("pipelined " + t, first + valid("POST", t, ""), PIPELINED, 2));
        }
        c.add(new Case("pipelined CL.TE", first + head + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                PIPELINED, 2));
        c.add(new Case("pipelined TE obfuscated", first + head + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", PIPELINED, 2));
        c.add(new Case("pipelined control char", first + valid("POST", CHAT, "X-A: a\u0001b\r\n"), PIPELINED, 2));
        c.add(new Case("pipelined HTTP/2 preface", first + "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", PIPELINED, 2));
        c.add(new Case("pipelined huge header", first + valid("POST", CHAT, "X-A: " + "a".repeat(20_000) + "\r\n"),
                PIPELINED, 2));
        return c;
    }

    static Stream<Arguments> cases() {
        return corpus().stream().map(k -> Arguments.of(k.name(), k));
    }

    @Test
    void should_hold_at_least_200_hostile_requests() {
        assertThat(corpus()).hasSizeGreaterThanOrEqualTo(200);
        assertThat(corpus().stream().map(Case::name).distinct().count()).isEqualTo(corpus().size());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void should_refuse_with_a_4xx_call_no_upstream_and_echo_nothing(String name, Case k) throws Exception {
        int before = stack().demo.calls();
        RawHttp.Answer a = RawHttp.send(stack().dataPort, k.request(), k.responses(), Duration.ofSeconds(5));
        assertThat(a.status()).as("%s -> %s", name, a.text()).isIn(k.expected());
        assertThat(a.statuses()).as("every answer on the connection: %s", a.statuses())
                .allMatch(s -> s >= 400 && s < 500);
        assertThat(a.text()).as(name).doesNotContain(ECHO).doesNotContain(token)
                .doesNotContain("Exception").doesNotContain("at attest.").doesNotContainIgnoringCase("127.0.0.1:1");
        assertThat(a.head().toLowerCase()).doesNotContain("x-marker").doesNotContain("x-a:");
        assertThat(stack().demo.calls()).as("upstream calls").isEqualTo(before);
    }

    @Test
    void should_strip_underscore_spellings_client_addresses_and_query_credentials_before_the_upstream()
            throws Exception {
        String marker = "strip-" + java.util.UUID.randomUUID();
        java.util.Map<String, String> hostile = new java.util.LinkedHashMap<>();
        hostile.put("X_Forwarded_For", "6.6.6.6");
        hostile.put("x_forwarded_host", "evil.example");
        hostile.put("X_Attest_Subject", "spoofed-admin-zq");
        hostile.put("X_Real_IP", "6.6.6.6");
        hostile.put("True-Client-IP", "6.6.6.6");
        hostile.put("CF-Connecting-IP", "6.6.6.6");
        hostile.put("X-Client-IP", "6.6.6.6");
        hostile.put("X-Real-IP", "6.6.6.6");
        hostile.put("Forwarded", "for=6.6.6.6");
        hostile.put("X-Cluster-Client-IP", "6.6.6.6");
        hostile.put("Fastly-Client-IP", "6.6.6.6");
        hostile.put("true_client_ip", "6.6.6.6");
        var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(stack().gatewayUrl() + CHAT
                        + "?api_key=sk-leak&KEY=k-leak&access_token=t-leak&Token=u-leak&apikey=v-leak&api-key=w-leak&keep=1"))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").header("X-Marker", marker)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(E2E.CHAT));
        hostile.forEach(b::header);
        var r = E2E.HTTP.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        var got = stack().demo.received().stream().filter(x -> marker.equals(x.header("X-Marker"))).findFirst()
                .orElseThrow();
        for (String name : hostile.keySet()) {
            assertThat(got.header(name)).as(name).isNull();
        }
        assertThat(got.headers().values().toString()).doesNotContain("6.6.6.6").doesNotContain("evil.example")
                .doesNotContain("spoofed-admin-zq");
        assertThat(got.rawQuery()).isEqualTo("keep=1");
        assertThat(got.header("Authorization")).isEqualTo("Bearer " + stack().demoKey);
    }
}
