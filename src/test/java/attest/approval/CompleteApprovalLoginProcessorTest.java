package attest.approval;

import attest.Exchanges;
import attest.evidence.Database;
import attest.http.InboundRequest;
import attest.http.ResponseHeaders;
import attest.identity.TestTokens;
import attest.response.RenderErrorProcessor;
import com.sun.net.httpserver.HttpServer;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The end of the approval page's sign-in against a stand-in token endpoint that is down, slow, or answers with an
 * error, garbage, a redirect, an endless body, or JSON without an access token. Each is the house JSON error (503 when
 * the endpoint cannot be reached, 502 for an answer that is no token, 401 for a refused code), never a 500; nothing of
 * the endpoint's answer or of a token is in the response or the log, no stack trace is logged, no session is started
 * and no cookie set, and the sign-in's state is spent (a reload starts afresh).
 */
class CompleteApprovalLoginProcessorTest {
    static final String SECRET = "kc-secret-" + UUID.randomUUID();
    static final TestTokens TOKENS = new TestTokens();
    static Database db;
    static ApprovalSessions sessions;
    static HttpServer endpoint;
    static final AtomicReference<Answer> ANSWER = new AtomicReference<>();
    static final CountDownLatch NEVER = new CountDownLatch(1);

    /** What the stand-in token endpoint answers: status, headers and body (null: hang before answering). */
    record Answer(int status, Map<String, String> headers, byte[] body) {
        static Answer of(int status, String body) {
            return new Answer(status, Map.of("Content-Type", "application/json"),
                    body.getBytes(StandardCharsets.UTF_8));
        }
    }

    static final class Captured extends AbstractAppender {
        final List<LogEvent> events = new CopyOnWriteArrayList<>();

        Captured() {
            super("captured-" + UUID.randomUUID(), null, null, true, Property.EMPTY_ARRAY);
        }

        @Override
        public void append(LogEvent event) {
            events.add(event.toImmutable());
        }
    }

    Captured logs;

    @BeforeAll
    static void start() throws Exception {
        db = Database.open("", "", "", Files.createTempDirectory("attest-signin-pg"), 0, 4, Duration.ofSeconds(2));
        sessions = new ApprovalSessions(db.dataSource(), Clock.systemUTC());
        endpoint = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        endpoint.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        endpoint.createContext("/token", x -> {
            x.getRequestBody().readAllBytes();
            Answer a = ANSWER.get();
            try {
                if (a.body() == null) { // hang: never answer within the deadline
                    NEVER.await(30, TimeUnit.SECONDS);
                    return;
                }
                a.headers().forEach((k, v) -> x.getResponseHeaders().add(k, v));
                x.sendResponseHeaders(a.status(), a.body().length == 0 ? -1 : a.body().length);
                if (a.body().length > 0) {
                    x.getResponseBody().write(a.body());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                x.close();
            }
        });
        endpoint.createContext("/endless", x -> {
            x.getRequestBody().readAllBytes();
            x.getResponseHeaders().add("Content-Type", "application/json");
            x.sendResponseHeaders(200, 0); // chunked, and more than any token answer
            byte[] chunk = ("{\"access_token\":\"" + SECRET + "\",\"pad\":\"" + "x".repeat(8192))
                    .getBytes(StandardCharsets.UTF_8);
            try (var out = x.getResponseBody()) {
                for (int i = 0; i < 1024; i++) {
                    out.write(chunk);
                }
            } catch (java.io.IOException cut) {
                // the gateway stopped reading: expected
            }
        });
        endpoint.start();
    }

    @AfterAll
    static void stop() {
        NEVER.countDown();
        if (endpoint != null) {
            endpoint.stop(0);
        }
        if (db != null) {
            db.close();
        }
    }

    /** The logger configurations that the processor's and the error render's loggers write through. */
    static java.util.Set<org.apache.logging.log4j.core.config.LoggerConfig> loggerConfigs() {
        var config = ((LoggerContext) LogManager.getContext(false)).getConfiguration();
        return new java.util.HashSet<>(List.of(config.getRootLogger(),
                config.getLoggerConfig(CompleteApprovalLoginProcessor.class.getName()),
                config.getLoggerConfig(RenderErrorProcessor.class.getName())));
    }

    @BeforeEach
    void capture() {
        logs = new Captured();
        logs.start();
        loggerConfigs().forEach(c -> c.addAppender(logs, Level.ALL, null));
        ((LoggerContext) LogManager.getContext(false)).updateLoggers();
    }

    @AfterEach
    void release() {
        loggerConfigs().forEach(c -> c.removeAppender(logs.getName()));
        ((LoggerContext) LogManager.getContext(false)).updateLoggers();
        logs.stop();
    }

    static String url(String path) {
        return "http://127.0.0.1:" + endpoint.getAddress().getPort() + path;
    }

    static CompleteApprovalLoginProcessor processor(String tokenUrl) {
        return new CompleteApprovalLoginProcessor(sessions, TOKENS.validator(Clock.systemUTC()), tokenUrl,
                "attest-approval-page", "https://attest.example", Duration.ofMinutes(30), Clock.systemUTC());
    }

    /** A callback from the browser that started the sign-in: its state and login cookie are right. */
    static Exchange callback() {
        String state = ApprovalSessions.random();
        String browser = ApprovalSessions.random();
        sessions.saveLogin(state, ApprovalSessions.random(), "/approvals/" + UUID.randomUUID() + "/review", browser,
                "src-" + UUID.randomUUID());
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.INBOUND, new InboundRequest("GET", "/auth/callback?code=" + SECRET + "-code&state="
                + state, List.of(Map.entry("Cookie", StartApprovalLoginProcessor.COOKIE + "=" + browser)), new byte[0],
                "127.0.0.1"));
        return e;
    }

    /** Runs the callback as the route does: the processor, then on an exception the control plane's error render. */
    static Exchange run(CompleteApprovalLoginProcessor p, Exchange e) throws Exception {
        try {
            p.process(e);
        } catch (Exception thrown) {
            e.setProperty(Exchange.EXCEPTION_CAUGHT, thrown);
            new RenderErrorProcessor().process(e);
        }
        return e;
    }

    static String text(Exchange out) {
        Object body = out.getMessage().getBody();
        return body instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(body);
    }

    static long sessionRows() throws Exception {
        try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM approval_session")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    void assertRefused(Exchange out, int status, String code, long sessionsBefore) throws Exception {
        String body = text(out);
        assertThat(out.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class)).as(body).isEqualTo(status);
        assertThat(body).contains("\"code\":\"" + code + "\"").doesNotContain(SECRET).doesNotContain("internal_error")
                .doesNotContain("Exception");
        assertThat(ResponseHeaders.of(out).get(ResponseHeaders.CONTENT_TYPE)).isEqualTo("application/json");
        assertThat(ResponseHeaders.of(out).get("Set-Cookie")).as("no session cookie").isNull();
        assertThat(ResponseHeaders.of(out).get("Location")).isNull();
        assertThat(sessionRows()).as("no session started").isEqualTo(sessionsBefore);
        for (LogEvent event : logs.events) {
            if (event.getLoggerName() == null || !event.getLoggerName().startsWith("attest.")) {
                continue;
            }
            assertThat(event.getThrown()).as("a stack trace logged: %s", event.getMessage().getFormattedMessage())
                    .isNull();
            assertThat(event.getMessage().getFormattedMessage()).doesNotContain(SECRET);
            assertThat(event.getLevel()).as(event.getMessage().getFormattedMessage()).isNotEqualTo(Level.ERROR);
        }
    }

    @Test
    void should_answer_503_when_the_token_endpoint_cannot_be_reached() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        long before = sessionRows();
        Exchange e = callback();
        Exchange out = run(processor("http://127.0.0.1:" + closed + "/token"), e);
        assertRefused(out, 503, "identity_provider_unavailable", before);
        assertThat(ResponseHeaders.of(out).get("Retry-After")).isNotBlank();
        // the state is spent: the same callback again is a fresh sign-in's business, never a second redemption
        Exchange again = new DefaultExchange(new DefaultCamelContext());
        again.setProperty(Exchanges.INBOUND, e.getProperty(Exchanges.INBOUND));
        assertRefused(run(processor(url("/token")), again), 400, "bad_request", before);
    }

    @Test
    void should_answer_503_when_the_token_endpoint_does_not_answer_in_time() throws Exception { // within 5 s
        ANSWER.set(new Answer(200, Map.of(), null));
        long before = sessionRows();
        Instant start = Instant.now();
        Exchange out = run(processor(url("/token")), callback());
        assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(10));
        assertRefused(out, 503, "identity_provider_unavailable", before);
    }

    @Test
    void should_answer_502_when_the_token_endpoint_answers_with_an_error_or_garbage() throws Exception {
        String token = TOKENS.user("bob", List.of("approver"));
        for (Answer a : List.of(
                Answer.of(500, "{\"error\":\"server_error\",\"error_description\":\"" + SECRET + "\"}"),
                Answer.of(503, "<html>" + SECRET + "</html>"),
                Answer.of(403, "{\"error\":\"access_denied\",\"error_description\":\"" + SECRET + "\"}"),
                Answer.of(429, "{\"access_token\":\"" + token + "\"}"),
                new Answer(302, Map.of("Location", url("/token?followed=" + SECRET)), new byte[0]),
                Answer.of(200, "{\"error\":\"invalid_grant\",\"error_description\":\"" + SECRET + "\"}"),
                Answer.of(200, "<html>" + SECRET + "</html>"),
                Answer.of(200, ""),
                Answer.of(200, "null"),
                Answer.of(200, "[\"" + token + "\"]"),
                Answer.of(200, "{\"access_token\":null,\"id_token\":\"" + SECRET + "\"}"),
                Answer.of(200, "{\"access_token\":\"\"}"),
                Answer.of(200, "{\"access_token\":42}"),
                Answer.of(200, "{\"access_token\":{\"value\":\"" + token + "\"}}"),
                Answer.of(200, "{\"access_token\":\"" + token + "\""),
                Answer.of(200, "{\"access_token\":\"" + token + "\",\"access_token\":\"" + SECRET + "\"}"),
                Answer.of(200, "{\"token_type\":\"Bearer\",\"expires_in\":300,\"refresh_token\":\"" + SECRET + "\"}"))) {
            ANSWER.set(a);
            long before = sessionRows();
            Exchange out = run(processor(url("/token")), callback());
            assertRefused(out, 502, "identity_provider_error", before);
            assertThat(text(out)).doesNotContain(token);
        }
    }

    @Test
    void should_answer_502_when_the_token_endpoint_sends_an_endless_answer() throws Exception {
        long before = sessionRows();
        Exchange out = run(processor(url("/endless")), callback());
        assertRefused(out, 502, "identity_provider_error", before);
    }

    @Test
    void should_answer_401_when_the_code_is_refused_or_the_token_is_not_one_we_accept() throws Exception {
        String foreign = new TestTokens().user("bob", List.of("approver")); // signed with keys not the realm's
        for (Answer a : List.of(
                Answer.of(400, "{\"error\":\"invalid_grant\",\"error_description\":\"" + SECRET + "\"}"),
                Answer.of(401, "{\"error\":\"invalid_client\",\"error_description\":\"" + SECRET + "\"}"),
                Answer.of(200, "{\"access_token\":\"" + SECRET + "\",\"expires_in\":300}"),
                Answer.of(200, "{\"access_token\":\"" + foreign + "\",\"expires_in\":300}"))) {
            ANSWER.set(a);
            long before = sessionRows();
            Exchange out = run(processor(url("/token")), callback());
            assertRefused(out, 401, "sign_in_failed", before);
            assertThat(text(out)).doesNotContain(foreign);
        }
    }

    @Test
    void should_sign_in_when_the_token_endpoint_answers_with_a_valid_token() throws Exception {
        ANSWER.set(Answer.of(200, "{\"access_token\":\"" + TOKENS.user("bob", List.of("approver"))
                + "\",\"expires_in\":\"not-a-number\",\"token_type\":\"Bearer\"}"));
        long before = sessionRows();
        Exchange out = run(processor(url("/token")), callback());
        assertThat(out.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class)).isEqualTo(302);
        assertThat(ResponseHeaders.of(out).get("Set-Cookie")).startsWith(ReadApprovalSessionProcessor.COOKIE + "=")
                .contains("; Secure");
        assertThat(sessionRows()).isEqualTo(before + 1);
    }
}
