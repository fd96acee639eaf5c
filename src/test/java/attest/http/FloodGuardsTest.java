package attest.http;

import attest.identity.TestTokens;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The flood guards in a real Netty pipeline (decoder, encoder, aggregator as camel-netty-http builds them), with
 * raw request bytes: what reaches the aggregator, what is answered, what is reported.
 */
class FloodGuardsTest {
    static final TestTokens TOKENS = new TestTokens();
    static final String VALID = TOKENS.user("alice", List.of("inference-user"));
    static final int MIB = 1024 * 1024;

    final List<RefusedRequest> refusals = new CopyOnWriteArrayList<>();
    final List<FullHttpRequest> routed = new ArrayList<>();
    /** Bytes of bodies that reached the aggregator (what Netty would buffer). */
    final long[] aggregated = {0};

    EmbeddedChannel channel(ChannelGuards guards) {
        return new EmbeddedChannel(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast("decoder", new HttpRequestDecoder(8192, 16384, 8192));
                ch.pipeline().addLast("encoder", new HttpResponseEncoder());
                ch.pipeline().addLast("aggregator", new HttpObjectAggregator(4 * MIB) {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
                        if (msg instanceof io.netty.handler.codec.http.HttpContent c) {
                            aggregated[0] += c.content().readableBytes();
                        }
                        super.channelRead(ctx, msg);
                    }
                });
                ch.pipeline().addLast("handler", new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        FullHttpRequest r = (FullHttpRequest) msg;
                        routed.add(r);
                        ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
                    }
                });
                guards.install(ch.pipeline());
            }
        });
    }

    ChannelGuards dataPlane(long budget) {
        return new ChannelGuards(new ConnectionLimits(0, 0), 60_000, refusals::add)
                .withEarlyAuth(TOKENS.validator(Clock.systemUTC()), 16_384)
                .withBudget(new RequestBudget(budget), 4 * MIB);
    }

    static String head(String method, String target, String... headers) {
        StringBuilder b = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (String h : headers) {
            b.append(h).append("\r\n");
        }
        return b.append("\r\n").toString();
    }

    static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    /** Sends more bytes, as a client would keep doing; a closed connection reads none of them. */
    static void more(EmbeddedChannel ch, ByteBuf buf) {
        if (ch.isOpen()) {
            ch.writeInbound(buf);
        } else {
            buf.release();
        }
    }

    static String answer(EmbeddedChannel ch) {
        StringBuilder b = new StringBuilder();
        ByteBuf out;
        while ((out = ch.readOutbound()) != null) {
            b.append(out.toString(StandardCharsets.ISO_8859_1));
            out.release();
        }
        return b.toString();
    }

    static Stream<Arguments> badCredentials() {
        String alg = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                "{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8));
        String[] p = VALID.split("\\.");
        return Stream.of(
                Arguments.of("no Authorization", new String[] {}, "no bearer token"),
                Arguments.of("Basic", new String[] {"Authorization: Basic YWxpY2U6YWxpY2U="}, "not Bearer"),
                Arguments.of("Bearer without token", new String[] {"Authorization: Bearer "}, ""),
                Arguments.of("two Authorization headers", new String[] {"Authorization: Bearer " + VALID,
                        "Authorization: Bearer " + VALID}, "more than one"),
                Arguments.of("alg none", new String[] {"Authorization: Bearer " + alg + "." + p[1] + "."}, ""),
                Arguments.of("tampered payload", new String[] {"Authorization: Bearer " + p[0] + "."
                        + p[1].substring(0, p[1].length() - 2) + "AA." + p[2]}, ""),
                Arguments.of("garbage", new String[] {"Authorization: Bearer not.a.jwt"}, "malformed"),
                Arguments.of("token in the query string only", new String[] {}, "no bearer token"),
                Arguments.of("Proxy-Authorization instead", new String[] {"Proxy-Authorization: Bearer " + VALID},
                        "no bearer token"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badCredentials")
    void should_refuse_a_megabyte_without_a_valid_token_on_its_headers(String name, String[] auth, String why) {
        EmbeddedChannel ch = channel(dataPlane(64 * MIB));
        String[] headers = new String[auth.length + 2];
        System.arraycopy(auth, 0, headers, 0, auth.length);
        headers[auth.length] = "Content-Length: " + MIB;
        headers[auth.length + 1] = "X-Request-Id: flood-test-0001";
        ch.writeInbound(bytes(head("POST", "/llm/v1/chat/completions?access_token=" + VALID, headers)));
        more(ch, Unpooled.wrappedBuffer(new byte[MIB]));
        String out = answer(ch);
        assertThat(out).startsWith("HTTP/1.1 401").contains("WWW-Authenticate: Bearer error=\"invalid_token\"")
                .containsIgnoringCase("Connection: close").doesNotContain(VALID)
                // the gateway's own request id, never the caller's (which is a correlation id only)
                .containsPattern("X-Request-Id: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
                .doesNotContain("flood-test-0001");
        assertThat(ch.isOpen()).as("connection closed").isFalse();
        assertThat(routed).isEmpty();
        assertThat(aggregated[0]).as("body bytes that reached the aggregator").isZero();
        assertThat(refusals).hasSize(1);
        RefusedRequest r = refusals.get(0);
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.declaredSize()).isEqualTo(MIB);
        assertThat(r.sha256()).as("the body was not read").isNull();
        assertThat(r.authError()).contains(why);
        assertThat(r.requestId()).as("the gateway's own id, not the caller's").isNotEqualTo("flood-test-0001")
                .matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
        assertThat(r.target()).hasSizeLessThanOrEqualTo(RefusedRequest.MAX_TARGET).startsWith("/llm/v1/chat");
    }

    @Test
    void should_refuse_a_chunked_body_without_a_token_before_any_chunk_is_buffered() {
        EmbeddedChannel ch = channel(dataPlane(64 * MIB));
        ch.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Transfer-Encoding: chunked")
                + "100000\r\n"));
        more(ch, Unpooled.wrappedBuffer(new byte[MIB]));
        assertThat(answer(ch)).startsWith("HTTP/1.1 401");
        assertThat(aggregated[0]).isZero();
        assertThat(refusals.get(0).declaredSize()).isNull();
        assertThat(refusals.get(0).sha256()).isNull();
    }

    @Test
    void should_digest_a_small_body_without_a_token_and_keep_nothing() throws Exception {
        EmbeddedChannel ch = channel(dataPlane(64 * MIB));
        String body = "{\"model\":\"demo-model\",\"messages\":[]}";
        ch.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Content-Length: " + body.length()) + body));
        assertThat(answer(ch)).startsWith("HTTP/1.1 401");
        assertThat(aggregated[0]).isZero();
        assertThat(refusals.get(0).sha256()).isEqualTo(attest.evidence.EvidenceAssembler.sha256(
                body.getBytes(StandardCharsets.UTF_8)));
        assertThat(refusals.get(0).declaredSize()).isEqualTo(body.length());
    }

    @Test
    void should_refuse_at_once_when_the_client_expects_100_continue() {
        EmbeddedChannel ch = channel(dataPlane(64 * MIB));
        ch.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Content-Length: 10", "Expect: 100-continue")));
        assertThat(answer(ch)).startsWith("HTTP/1.1 401").doesNotContain("100 Continue");
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void should_pass_a_valid_token_through_to_the_aggregator() {
        EmbeddedChannel ch = channel(dataPlane(64 * MIB));
        String body = "{}";
        ch.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Authorization: bearer " + VALID,
                "Content-Length: 2") + body));
        assertThat(routed).hasSize(1);
        assertThat(answer(ch)).startsWith("HTTP/1.1 200");
        assertThat(refusals).isEmpty();
        assertThat(ch.isOpen()).isTrue();
        routed.forEach(FullHttpRequest::release);
    }

    @Test
    void should_guard_the_requester_paths_of_approvals_too() {
        EmbeddedChannel ch = channel(dataPlane(64 * MIB));
        ch.writeInbound(bytes(head("GET", "/approvals/00000000-0000-0000-0000-000000000000/result")));
        assertThat(answer(ch)).startsWith("HTTP/1.1 401");
        assertThat(routed).isEmpty();
    }

    @Test
    void should_answer_503_past_the_buffer_budget_before_aggregating_and_give_it_back_after_the_answer() {
        RequestBudget budget = new RequestBudget(MIB);
        ChannelGuards guards = new ChannelGuards(new ConnectionLimits(0, 0), 60_000, refusals::add)
                .withEarlyAuth(TOKENS.validator(Clock.systemUTC()), 16_384).withBudget(budget, 4 * MIB);
        EmbeddedChannel first = channel(guards);
        // the first request's headers reserve its declared length; its body has not come yet
        first.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Authorization: Bearer " + VALID,
                "Content-Length: " + (MIB - 10))));
        assertThat(budget.used()).isEqualTo(MIB - 10);
        EmbeddedChannel second = channel(guards);
        second.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Authorization: Bearer " + VALID,
                "Content-Length: 100")));
        more(second, Unpooled.wrappedBuffer(new byte[100]));
        assertThat(answer(second)).startsWith("HTTP/1.1 503").contains("Retry-After: 1");
        assertThat(second.isOpen()).isFalse();
        assertThat(refusals).extracting(RefusedRequest::status).containsExactly(503);
        assertThat(refusals.get(0).declaredSize()).isEqualTo(100);
        // the first completes, is answered, and its reservation comes back
        first.writeInbound(Unpooled.wrappedBuffer(new byte[MIB - 10]));
        assertThat(answer(first)).startsWith("HTTP/1.1 200");
        assertThat(budget.used()).isZero();
        routed.forEach(FullHttpRequest::release);
    }

    @Test
    void should_give_the_budget_back_when_a_connection_dies_mid_body() {
        RequestBudget budget = new RequestBudget(MIB);
        EmbeddedChannel ch = channel(new ChannelGuards(new ConnectionLimits(0, 0), 0, refusals::add)
                .withEarlyAuth(TOKENS.validator(Clock.systemUTC()), 16_384).withBudget(budget, 4 * MIB));
        ch.writeInbound(bytes(head("POST", "/x", "Authorization: Bearer " + VALID, "Transfer-Encoding: chunked")
                + "1000\r\n" + "a".repeat(4096) + "\r\n"));
        assertThat(budget.used()).isEqualTo(4096);
        ch.close();
        assertThat(budget.used()).isZero();
    }

    @Test
    void should_refuse_a_connection_past_the_per_source_cap_with_503_and_report_it() {
        ChannelGuards guards = new ChannelGuards(new ConnectionLimits(0, 1), 60_000, refusals::add);
        EmbeddedChannel first = channel(guards);
        EmbeddedChannel second = channel(guards);
        assertThat(first.isOpen()).isTrue();
        assertThat(answer(second)).startsWith("HTTP/1.1 503").containsIgnoringCase("Connection: close");
        assertThat(second.isOpen()).isFalse();
        assertThat(refusals).extracting(RefusedRequest::status).containsExactly(503);
        first.close();
        EmbeddedChannel third = channel(guards);
        assertThat(third.isOpen()).as("a slot freed by a close is reused").isTrue();
    }

    @Test
    void should_close_an_idle_connection_only_when_no_request_is_in_flight() {
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel c) {
                c.pipeline().addLast("decoder", new HttpRequestDecoder());
                c.pipeline().addLast("encoder", new HttpResponseEncoder());
                c.pipeline().addLast("aggregator", new HttpObjectAggregator(MIB));
                c.pipeline().addLast("handler", new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        routed.add((FullHttpRequest) msg); // answered later: the call is in flight
                    }
                });
                new ChannelGuards(new ConnectionLimits(0, 0), 60_000, refusals::add).install(c.pipeline());
            }
        });
        ch.writeInbound(bytes(head("GET", "/slow")));
        ch.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        assertThat(ch.isOpen()).as("a request in flight is not cut").isTrue();
        ch.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        ch.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        assertThat(ch.isOpen()).as("idle keep-alive connection closed").isFalse();
        routed.forEach(FullHttpRequest::release);
        assertThat(Instant.now()).isNotNull();
    }

    ChannelGuards controlPlane() {
        return new ChannelGuards(new ConnectionLimits(0, 0), 60_000, refusals::add)
                .withEarlyAuth(TOKENS.validator(Clock.systemUTC()), 16_384,
                        ControlPlaneBodies.exempt(ControlPlaneBodies.PAGE_FORM, 16_384));
    }

    static final String FORM = "Content-Type: application/x-www-form-urlencoded";
    static final String SESSION = "Cookie: attest_approval_session=" + "Ab-_".repeat(10) + "xyz";

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> controlPlaneRequests() {
        String mib = "Content-Length: " + MIB;
        return java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of("token-less decision, 1 MiB",
                        head("POST", "/approvals/x/decision", mib), false),
                org.junit.jupiter.params.provider.Arguments.of("token-less key creation, chunked",
                        head("POST", "/keys", "Transfer-Encoding: chunked"), false),
                org.junit.jupiter.params.provider.Arguments.of("bad token, 1 MiB",
                        head("POST", "/keys", "Authorization: Bearer not.a.jwt", mib), false),
                org.junit.jupiter.params.provider.Arguments.of("a session cookie with 1 MiB",
                        head("POST", "/approvals/x/review", "Cookie: attest_approval_session=x", mib), false),
                org.junit.jupiter.params.provider.Arguments.of("a session cookie with a chunked body",
                        head("POST", "/approvals/x/review", "Cookie: attest_approval_session=x",
                                "Transfer-Encoding: chunked"), false),
                org.junit.jupiter.params.provider.Arguments.of("token-less small body to an API route",
                        head("POST", "/keys", "Content-Length: 10") + "{\"name\":1}", false),
                org.junit.jupiter.params.provider.Arguments.of("a small form to a path that only ends like the page's",
                        head("POST", "/keys?x=/review", "Content-Length: 10") + "decision=x", false),
                org.junit.jupiter.params.provider.Arguments.of("a valid token with 1 MiB",
                        head("POST", "/keys", "Authorization: Bearer " + VALID, mib), true),
                // the page's form passes only as a browser with a session sends it: POST, a form's Content-Type, the
                // session cookie (32 random bytes, base64url) on its headers; anything else needs a valid token
                org.junit.jupiter.params.provider.Arguments.of("the page's small form (the route checks its session)",
                        head("POST", "/approvals/x/review", "Content-Length: 100", FORM, SESSION), true),
                org.junit.jupiter.params.provider.Arguments.of("the page's form in a browser's spelling",
                        head("POST", "/approvals/x/review", "Content-Length: 100",
                                "Content-Type: Application/X-WWW-Form-Urlencoded; charset=UTF-8",
                                "Cookie: theme=dark; " + SESSION.substring("Cookie: ".length())), true),
                org.junit.jupiter.params.provider.Arguments.of("the page's form path, anonymous (no session cookie)",
                        head("POST", "/approvals/x/review", "Content-Length: 100", FORM) + "d".repeat(100), false),
                org.junit.jupiter.params.provider.Arguments.of("the page's form path, a cookie not of a session id's form",
                        head("POST", "/approvals/x/review", "Content-Length: 100", FORM,
                                "Cookie: attest_approval_session=x") + "d".repeat(100), false),
                org.junit.jupiter.params.provider.Arguments.of("the page's form path, the cookie under another name",
                        head("POST", "/approvals/x/review", "Content-Length: 100", FORM,
                                "Cookie: xattest_approval_session=" + "A".repeat(43)) + "d".repeat(100), false),
                org.junit.jupiter.params.provider.Arguments.of("the page's form path, not a form's Content-Type",
                        head("POST", "/approvals/x/review", "Content-Length: 100",
                                "Content-Type: application/json", SESSION) + "d".repeat(100), false),
                org.junit.jupiter.params.provider.Arguments.of("the page's form path, no Content-Type",
                        head("POST", "/approvals/x/review", "Content-Length: 100", SESSION) + "d".repeat(100), false),
                org.junit.jupiter.params.provider.Arguments.of("the page's form path, PUT",
                        head("PUT", "/approvals/x/review", "Content-Length: 100", FORM, SESSION) + "d".repeat(100), false),
                org.junit.jupiter.params.provider.Arguments.of("a token-less GET",
                        head("GET", "/approvals/x/review"), true),
                org.junit.jupiter.params.provider.Arguments.of("a token-less probe",
                        head("GET", "/health/ready", "Content-Length: 0"), true));
    }

    /** The early check knows the page's session cookie as the page issues it (name and id form). */
    @org.junit.jupiter.api.Test
    void should_know_the_page_session_cookie_as_the_page_issues_it() {
        assertThat(ControlPlaneBodies.SESSION_COOKIE).isEqualTo(attest.approval.ReadApprovalSessionProcessor.COOKIE);
        for (int i = 0; i < 100; i++) {
            io.netty.handler.codec.http.HttpRequest r = new io.netty.handler.codec.http.DefaultHttpRequest(
                    HttpVersion.HTTP_1_1, io.netty.handler.codec.http.HttpMethod.POST, "/approvals/x/review");
            r.headers().set("Cookie", ControlPlaneBodies.SESSION_COOKIE + "=" + attest.approval.ApprovalSessions.random());
            assertThat(ControlPlaneBodies.hasSessionCookie(r)).isTrue();
        }
    }

    /** docs/security.md, Principles: a request without a valid token is refused on its headers, its body unread. */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("controlPlaneRequests")
    void should_refuse_a_control_plane_body_without_a_token_on_its_headers(String name, String head, boolean passes) {
        EmbeddedChannel ch = channel(controlPlane());
        ch.writeInbound(bytes(head));
        String answer = answer(ch);
        if (passes) {
            assertThat(answer).doesNotContain(" 401 ");
            assertThat(refusals).isEmpty();
        } else {
            assertThat(answer).startsWith("HTTP/1.1 401");
            assertThat(ch.isOpen()).isFalse();
            assertThat(aggregated[0]).isZero();
            assertThat(routed).isEmpty();
            assertThat(refusals).hasSize(1);
        }
        if (ch.pipeline().get("aggregator") != null) {
            ch.pipeline().remove("aggregator"); // a request let through is still being aggregated: nothing to finish
        }
        ch.finishAndReleaseAll();
    }

    /**
     * Keys older than allowed that cannot be refreshed (Keycloak down past jwks-max-stale-ms): a good token is answered
     * 503 keys_unavailable with Retry-After, as the routes answer it, never 401 invalid_token (which tells a client
     * to throw its token away); the refusal is recorded as such, and the body is never routed.
     */
    @Test
    void should_answer_503_not_401_when_the_realms_keys_are_too_old_to_check_a_token() throws Exception {
        var clock = new attest.identity.FakeClock(Instant.now());
        var keys = new attest.identity.RealmKeys(() -> {
            throw new java.io.IOException("keycloak down");
        }, java.time.Duration.ofMinutes(5), java.time.Duration.ofSeconds(10), java.time.Duration.ofHours(1), clock,
                Runnable::run, java.time.Duration.ofSeconds(3));
        var validator = new attest.identity.TokenValidator(keys, TestTokens.ISSUER, TestTokens.AUDIENCE,
                java.time.Duration.ofSeconds(30), clock);
        ChannelGuards guards = new ChannelGuards(new ConnectionLimits(0, 0), 60_000, refusals::add)
                .withEarlyAuth(validator, 16_384).withBudget(new RequestBudget(64 * MIB), 4 * MIB);
        EmbeddedChannel ch = channel(guards);
        String good = TOKENS.rs256(TestTokens.claims("alice", List.of("inference-user"), clock.instant()).build());
        ch.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Authorization: Bearer " + good,
                "Content-Length: 2") + "{}"));
        ch.runPendingTasks();
        String answer = answer(ch);
        assertThat(answer).startsWith("HTTP/1.1 503").contains("keys_unavailable").containsIgnoringCase("retry-after")
                .doesNotContainIgnoringCase("www-authenticate");
        assertThat(ch.isOpen()).isFalse();
        assertThat(routed).isEmpty();
        assertThat(refusals).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.code()).isEqualTo("keys_unavailable");
        });
        ch.finishAndReleaseAll();
    }

    @Test
    void should_hold_a_token_whose_key_is_being_fetched_without_blocking_then_pass_or_refuse_it() throws Exception {
        // the realm rotates: a new key, rsa-2, signs tokens before the gateway has fetched it
        TestTokens rotatedKeys = new TestTokens();
        var rotatedPublic = new com.nimbusds.jose.jwk.RSAKey.Builder(rotatedKeys.rsa.toRSAPublicKey()).keyID("rsa-2")
                .build();
        var realm = new java.util.concurrent.atomic.AtomicReference<>(
                new com.nimbusds.jose.jwk.JWKSet(List.of(TOKENS.rsa.toPublicJWK())));
        var clock = new attest.identity.FakeClock(Instant.now());
        List<Runnable> fetches = new ArrayList<>(); // a fetch runs when the test says (Keycloak slow)
        var keys = new attest.identity.RealmKeys(realm::get, java.time.Duration.ofMinutes(5),
                java.time.Duration.ofSeconds(10), java.time.Duration.ofHours(1), clock, fetches::add,
                java.time.Duration.ofSeconds(3));
        assertThat(keys.prime()).isTrue();
        realm.set(new com.nimbusds.jose.jwk.JWKSet(List.of(TOKENS.rsa.toPublicJWK(), rotatedPublic)));
        clock.advance(java.time.Duration.ofSeconds(11));
        var validator = new attest.identity.TokenValidator(keys, TestTokens.ISSUER, TestTokens.AUDIENCE,
                java.time.Duration.ofSeconds(30), clock);
        ChannelGuards guards = new ChannelGuards(new ConnectionLimits(0, 0), 60_000, refusals::add)
                .withEarlyAuth(validator, 16_384).withBudget(new RequestBudget(64 * MIB), 4 * MIB);

        EmbeddedChannel ch = channel(guards);
        String rotated = rotatedKeys.rs256(TestTokens.claims("alice", List.of("inference-user"), clock.instant())
                .build(), h -> h.keyID("rsa-2"));
        ch.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Authorization: Bearer " + rotated,
                "Content-Length: 2") + "{}"));
        // held: neither routed nor answered, the connection open and not read on; one fetch started, not run
        assertThat(routed).isEmpty();
        assertThat(answer(ch)).isEmpty();
        assertThat(ch.isOpen()).isTrue();
        assertThat(ch.config().isAutoRead()).isFalse();
        assertThat(fetches).hasSize(1);
        fetches.get(0).run(); // the fetch lands
        ch.runPendingTasks();
        assertThat(routed).hasSize(1);
        assertThat(routed.get(0).content().toString(StandardCharsets.UTF_8)).isEqualTo("{}");
        assertThat(answer(ch)).startsWith("HTTP/1.1 200");
        assertThat(ch.config().isAutoRead()).isTrue();
        assertThat(refusals).isEmpty();
        routed.forEach(FullHttpRequest::release);
        routed.clear();

        // a made-up kid past the cooldown: held while its fetch runs, then refused (401), its body never routed
        clock.advance(java.time.Duration.ofSeconds(11));
        EmbeddedChannel forged = channel(guards);
        String madeUp = rotatedKeys.rs256(TestTokens.claims("alice", List.of("inference-user"), clock.instant())
                .build(), h -> h.keyID("made-up"));
        forged.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Authorization: Bearer " + madeUp,
                "Content-Length: 2") + "{}"));
        assertThat(answer(forged)).isEmpty();
        assertThat(fetches).hasSize(2);
        fetches.get(1).run();
        forged.runPendingTasks();
        assertThat(answer(forged)).startsWith("HTTP/1.1 401");
        assertThat(forged.isOpen()).isFalse();
        assertThat(routed).isEmpty();
        assertThat(refusals).hasSize(1);
        assertThat(aggregated[0]).isEqualTo(2); // only the rotated token's body
        // within the cooldown: refused at once, no fetch, nothing held
        EmbeddedChannel again = channel(guards);
        again.writeInbound(bytes(head("GET", "/llm/v1/models", "Authorization: Bearer " + madeUp)));
        assertThat(answer(again)).startsWith("HTTP/1.1 401");
        assertThat(fetches).hasSize(2);
    }

    @Test
    void should_look_a_virtual_key_up_off_the_event_loop_and_hold_its_request_meanwhile() {
        // the store, as the test lets it answer: each look-up waits here, on the blocking pool
        List<java.util.concurrent.CompletableFuture<String>> lookups = new ArrayList<>();
        List<String> checkedOnThread = new ArrayList<>();
        KeyCheck store = new KeyCheck() {
            @Override
            public String check(String secret, String source) {
                checkedOnThread.add(Thread.currentThread().getName()); // in place: on the connection's thread
                return "unknown key";
            }

            @Override
            public java.util.concurrent.CompletionStage<String> checkOffLoop(String secret, String source) {
                var lookup = new java.util.concurrent.CompletableFuture<String>();
                lookups.add(lookup);
                return lookup;
            }
        };
        ChannelGuards guards = new ChannelGuards(new ConnectionLimits(0, 0), 60_000, refusals::add)
                .withEarlyAuth(TOKENS.validator(Clock.systemUTC()), 16_384).withKeys(store)
                .withBudget(new RequestBudget(64 * MIB), 4 * MIB);
        String key = attest.keys.KeySecrets.generate();
        EmbeddedChannel ch = channel(guards);
        ch.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "Authorization: Bearer " + key,
                "Content-Length: 2") + "{}"));
        // held while the store answers: nothing routed or answered, nothing read on, nothing checked in place
        assertThat(lookups).hasSize(1);
        assertThat(routed).isEmpty();
        assertThat(answer(ch)).isEmpty();
        assertThat(ch.config().isAutoRead()).isFalse();
        assertThat(checkedOnThread).isEmpty();
        lookups.get(0).complete(null); // a live key
        ch.runPendingTasks();
        assertThat(routed).hasSize(1);
        assertThat(answer(ch)).startsWith("HTTP/1.1 200");
        assertThat(ch.config().isAutoRead()).isTrue();
        routed.forEach(FullHttpRequest::release);
        routed.clear();

        EmbeddedChannel unknown = channel(guards);
        unknown.writeInbound(bytes(head("POST", "/llm/v1/chat/completions", "x-api-key: " + key,
                "Content-Length: 2") + "{}"));
        assertThat(answer(unknown)).isEmpty();
        lookups.get(1).complete("unknown key");
        unknown.runPendingTasks();
        assertThat(answer(unknown)).startsWith("HTTP/1.1 401");
        assertThat(unknown.isOpen()).isFalse();
        assertThat(routed).isEmpty();
        assertThat(refusals).singleElement().satisfies(r -> assertThat(r.toString()).contains("unknown key"));
        assertThat(checkedOnThread).isEmpty();
    }
}
