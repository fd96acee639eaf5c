package attest.http;

import attest.Exchanges;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.netty.http.NettyHttpConfiguration;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The binding: request data never becomes a response header; the head is the gateway's own decision. */
class GatewayHttpBindingTest {
    static CamelContext context;

    @BeforeAll
    static void start() {
        context = new DefaultCamelContext();
        context.start();
    }

    @AfterAll
    static void stop() {
        context.stop();
    }

    static GatewayHttpBinding binding(java.util.function.Predicate<String> allowed) {
        GatewayHttpBinding b = new GatewayHttpBinding();
        b.setHeaderFilterStrategy(new ResponseHeaderFilterStrategy(allowed));
        return b;
    }

    static Exchange exchange() {
        Exchange e = new DefaultExchange(context);
        e.setProperty(Exchanges.REQUEST_ID, "rid-12345678");
        return e;
    }

    @Test
    void should_not_map_query_or_form_parameters_to_message_headers() {
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                "/health?Location=http://evil.example&Set-Cookie=s%3D1&Content-Type=text/html&attestApprovalAction=page",
                Unpooled.wrappedBuffer("Refresh=0%3Burl%3Dhttp://evil.example&Cache-Control=public"
                        .getBytes(StandardCharsets.UTF_8)));
        request.headers().set("Content-Type", "application/x-www-form-urlencoded");
        request.headers().set("X-Real", "1");
        Map<String, Object> headers = new HashMap<>();
        binding(ResponseHeaders::allowed).populateCamelHeaders(request, headers, exchange(), new NettyHttpConfiguration());
        assertThat(headers).containsEntry("X-Real", "1").containsEntry(Exchange.CONTENT_TYPE,
                "application/x-www-form-urlencoded").containsEntry(Exchange.HTTP_URI, "/health");
        assertThat(headers.keySet()).noneMatch(k -> List.of("location", "set-cookie", "refresh", "cache-control",
                "attestapprovalaction").contains(k.toLowerCase()));
        assertThat(request.content().refCnt()).as("the form body is left alone").isEqualTo(1);
    }

    @Test
    void should_write_the_head_from_the_holder_only_and_never_from_message_headers() throws Exception {
        Exchange e = exchange();
        Message m = e.getMessage();
        for (String name : List.of("Location", "Set-Cookie", "Content-Type", "Cache-Control", "Refresh",
                "Access-Control-Allow-Origin", "X-Attest-Decision", "WWW-Authenticate", "X-Request-Id")) {
            m.setHeader(name, "injected");
        }
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        m.setBody("{}");
        ResponseHeaders.of(e).set("Content-Type", "application/json");
        HttpResponse r = binding(ResponseHeaders::allowed).toNettyResponse(m, new NettyHttpConfiguration());
        assertThat(r.headers().get("Content-Type")).isEqualTo("application/json");
        assertThat(r.headers().get("Cache-Control")).isEqualTo("no-store");
        assertThat(r.headers().get("X-Request-Id")).isEqualTo("rid-12345678");
        assertThat(r.headers().get("Content-Length")).isEqualTo("2");
        for (var h : r.headers()) {
            assertThat(h.getValue()).as(h.getKey()).isNotEqualTo("injected");
        }
        assertThat(r.headers().names()).extracting(String::toLowerCase).containsExactlyInAnyOrder(
                "content-type", "cache-control", "x-request-id", "content-length", "connection");
    }

    @Test
    void should_let_a_stage_decide_cache_control_and_drop_names_the_plane_does_not_allow() throws Exception {
        Exchange e = exchange();
        e.getMessage().setBody("x");
        ResponseHeaders.of(e).set("Cache-Control", "no-cache").set("Set-Cookie", "a=b").set("Location", "/approvals/1");
        HttpResponse data = binding(ResponseHeaders::allowed).toNettyResponse(e.getMessage(), new NettyHttpConfiguration());
        assertThat(data.headers().get("Cache-Control")).isEqualTo("no-cache");
        assertThat(data.headers().contains("Set-Cookie")).as("no cookies on the data plane").isFalse();
        assertThat(data.headers().get("Location")).isEqualTo("/approvals/1");
        HttpResponse control = binding(ResponseHeaders::allowedOnControlPlane).toNettyResponse(e.getMessage(),
                new NettyHttpConfiguration());
        assertThat(control.headers().get("Set-Cookie")).isEqualTo("a=b");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\u0000b", "a\u2028b"})
    void should_refuse_a_header_value_that_could_split_the_response(String value) {
        assertThatThrownBy(() -> new ResponseHeaders().set("Location", value))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "[{index}]")
    @ValueSource(strings = {"Set-Cookie\r\nX", "Loc ation", "Location:", "", "X(1)"})
    void should_refuse_a_header_name_that_is_not_a_token(String name) {
        assertThatThrownBy(() -> new ResponseHeaders().set(name, "v")).isInstanceOf(IllegalArgumentException.class);
    }
}
