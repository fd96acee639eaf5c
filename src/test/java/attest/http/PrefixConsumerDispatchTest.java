package attest.http;

import io.netty.handler.codec.http.HttpMethod;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.netty.http.NettyHttpComponent;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The data plane's dispatcher: the shortcut picks what the stock dispatcher picks, and only then applies. */
class PrefixConsumerDispatchTest {

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            POST    | /llm/v1/chat/completions | true
            GET     | /x?y=1                   | true
            GET     | //x                      | true
            GET     | /                        | false
            GET     | /?a=b                    | false
            GET     | /#x                      | false
            GET     | http://h:1/x             | false
            GET     | *                        | false
            OPTIONS | /llm/v1/chat/completions | false
            """)
    void should_take_the_shortcut_only_for_a_path_below_the_root(String method, String target, boolean shortcut) {
        assertThat(PrefixConsumerDispatch.belowRoot(target, HttpMethod.valueOf(method))).isEqualTo(shortcut);
    }

    @Test
    void should_answer_every_target_as_the_stock_dispatcher_does() throws Exception {
        String[] targets = {"/llm/v1/chat/completions", "/x?y=1", "/", "/?a=b", "/a/b/", "//x", "/%2e%2e/x"};
        try (CamelContext context = new DefaultCamelContext()) {
            int ours = freePort();
            int stock = freePort();
            context.addComponent("hardened", new HardenedNettyHttpComponent());
            context.addComponent("stock", new NettyHttpComponent());
            context.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("hardened:http://127.0.0.1:" + ours + "/?matchOnUriPrefix=true").routeId("ours")
                            .setBody(constant("root"));
                    from("stock:http://127.0.0.1:" + stock + "/?matchOnUriPrefix=true").routeId("stock")
                            .setBody(constant("root"));
                }
            });
            context.start();
            assertThat(((PrefixConsumerDispatch) context.getComponent("hardened", HardenedNettyHttpComponent.class)
                    .getMultiplexChannelHandler(ours)).shortcutting()).isTrue();
            for (String t : targets) {
                assertThat(statusLine(ours, "GET", t)).as(t).isEqualTo(statusLine(stock, "GET", t));
            }
            assertThat(statusLine(ours, "POST", "/llm/v1/chat/completions")).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void should_leave_several_consumers_on_a_port_to_the_stock_dispatcher() throws Exception {
        try (CamelContext context = new DefaultCamelContext()) {
            int port = freePort();
            context.addComponent("hardened", new HardenedNettyHttpComponent());
            context.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("hardened:http://127.0.0.1:" + port + "/a").routeId("a").setBody(constant("a"));
                    from("hardened:http://127.0.0.1:" + port + "/b?matchOnUriPrefix=true").routeId("b")
                            .setBody(constant("b"));
                }
            });
            context.start();
            assertThat(((PrefixConsumerDispatch) context.getComponent("hardened", HardenedNettyHttpComponent.class)
                    .getMultiplexChannelHandler(port)).shortcutting()).isFalse();
            assertThat(exchange(port, "GET", "/a")).startsWith("HTTP/1.1 200").endsWith("a");
            assertThat(exchange(port, "GET", "/b/c")).startsWith("HTTP/1.1 200").endsWith("b");
            assertThat(exchange(port, "GET", "/c")).startsWith("HTTP/1.1 404");
        }
    }

    private static String statusLine(int port, String method, String target) throws IOException {
        String answer = exchange(port, method, target);
        int eol = answer.indexOf("\r\n");
        int body = answer.indexOf("\r\n\r\n");
        return answer.substring(0, eol) + " | " + answer.substring(body + 4);
    }

    /** One request on its own connection (Connection: close), the whole answer as text. */
    private static String exchange(int port, String method, String target) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write((method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
