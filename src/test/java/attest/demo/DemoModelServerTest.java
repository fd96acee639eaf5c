package attest.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo upstream's Ollama mode: NDJSON streamed by default, one JSON object with {@code "stream": false}. */
class DemoModelServerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static DemoModelServer server;

    @BeforeAll
    static void up() throws Exception {
        server = new DemoModelServer("127.0.0.1", 0, "k");
        server.setStreamDelayMillis(0);
    }

    @AfterAll
    static void down() {
        server.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
                .header("Authorization", "Bearer k").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/chat", "/api/generate"})
    void should_stream_ollama_ndjson_by_default_with_the_counts_on_the_done_line(String path) throws Exception {
        boolean chat = path.endsWith("chat");
        HttpResponse<String> r = post(path, chat ? "{\"model\":\"demo-pii\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"hi\"}]}" : "{\"model\":\"demo-pii\",\"prompt\":\"hi\"}");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/x-ndjson");
        List<JsonNode> lines = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            lines.add(JSON.readTree(line));
        }
        StringBuilder text = new StringBuilder();
        lines.forEach(l -> text.append(chat ? l.path("message").path("content").asText() : l.path("response").asText()));
        assertThat(text.toString()).isEqualTo(DemoModelServer.PII_ANSWER);
        assertThat(lines.size()).isGreaterThan(10);
        JsonNode last = lines.get(lines.size() - 1);
        assertThat(last.path("done").asBoolean()).isTrue();
        assertThat(lines.subList(0, lines.size() - 1)).allMatch(l -> !l.path("done").asBoolean());
        assertThat(last.path("prompt_eval_count").asLong()).isEqualTo(1);
        assertThat(last.path("eval_count").asLong()).isEqualTo(DemoModelServer.PII_ANSWER.length() / 4 + 1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/chat", "/api/generate"})
    void should_answer_one_json_object_when_not_streamed(String path) throws Exception {
        HttpResponse<String> r = post(path, path.endsWith("chat") ? "{\"model\":\"m\",\"stream\":false,\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}]}" : "{\"model\":\"m\",\"stream\":false,\"prompt\":\"hi\"}");

        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode o = JSON.readTree(r.body());
        assertThat(o.path("done").asBoolean()).isTrue();
        assertThat(o.has("eval_count")).isTrue();
        assertThat(r.body()).contains("You said: hi");
    }
}
