package attest.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpRequest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The pipeline's guard on a real Netty channel: what it refuses, with which status, and what it lets through. */
class RequestGuardTest {

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            GET      | @127.0.0.1/x                  | 400
            POST     | //127.0.0.1:9/llm/v1/x        | 400
            GET      | http://127.0.0.1/llm/v1/x     | 400
            GET      | 127.0.0.1:443                 | 400
            OPTIONS  | *                             | 405
            OPTIONS  | /llm/v1/chat/completions      | 405
            TRACE    | /llm/v1/chat/completions      | 405
            TRACK    | /llm/v1/chat/completions      | 405
            CONNECT  | 127.0.0.1:443                 | 405
            PROPFIND | /llm/v1/chat/completions      | 405
            get      | /llm/v1/chat/completions      | 405
            post     | /llm/v1/chat/completions      | 405
            FOO      | /keys                         | 405
            M-SEARCH | /health                       | 405
            HEAD     | /health/live                  | 0
            PUT      | /llm/v1/files/x               | 0
            PATCH    | /approvals/1                  | 0
            GET      | /\\127.0.0.1/x                | 400
            POST     | /llm/v1/chat/completions      | 0
            GET      | /health?Location=x            | 0
            DELETE   | /approvals/1                  | 0
            """)
    void should_refuse_before_any_route(String method, String target, int status) {
        refusedOrPassed(method + " " + target + " HTTP/1.1", status);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            PRI * HTTP/2.0                 | 400
            PRI /llm/v1/x HTTP/2.0         | 400
            GET /llm/v1/x HTTP/2.0         | 400
            PROPFIND /llm/v1/x HTTP/2.0    | 400
            """)
    void should_refuse_another_http_version_as_a_bad_request_not_a_method(String line, int status) {
        // the HTTP/2 preface is not a request with method PRI: 400, not 405 with an Allow list
        refusedOrPassed(line, status);
    }

    private static void refusedOrPassed(String requestLine, int status) {
        List<HardenedHttpServerInitializerFactory.Refusal> refusals = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new HardenedHttpServerInitializerFactory.StrictRequestDecoder(4096,
                8192, 8192), new HardenedHttpServerInitializerFactory.RequestGuard(0, refusals::add));
        ch.writeInbound(Unpooled.copiedBuffer(requestLine + "\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                StandardCharsets.ISO_8859_1));
        Object out = ch.readOutbound();
        if (status == 0) {
            assertThat(out).isNull();
            assertThat((Object) ch.readInbound()).isInstanceOf(HttpRequest.class);
            assertThat(refusals).isEmpty();
        } else {
            assertThat(out).isInstanceOf(FullHttpResponse.class);
            FullHttpResponse r = (FullHttpResponse) out;
            assertThat(r.status().code()).isEqualTo(status);
            assertThat(r.headers().get("Cache-Control")).isEqualTo("no-store");
            assertThat(r.headers().get("Connection")).isEqualTo("close");
            assertThat(refusals).singleElement().satisfies(x -> assertThat(x.status()).isEqualTo(status));
            if (status == 405) { // RFC 9110 15.5.6: a 405 names the methods that are served
                assertThat(r.headers().get("Allow")).isEqualTo("GET, HEAD, POST, PUT, PATCH, DELETE");
                assertThat(refusals.get(0).toRefusedRequest().code()).isEqualTo("method_not_allowed");
            }
            assertThat((Object) ch.readInbound()).as("nothing reaches a route").isNull();
        }
        ch.finishAndReleaseAll();
    }
}
