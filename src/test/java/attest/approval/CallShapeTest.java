package attest.approval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** What approvers see of a held call besides its prompt, from bodies no client would send too. */
class CallShapeTest {
    static CallShape of(String body) {
        return CallShape.of("llm", body.getBytes(StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            // body | expected JSON
            "`{\"model\":\"m\",\"max_tokens\":64,\"stream\":true}`|`{\"upstream\":\"llm\",\"model\":\"m\",\"max_tokens\":64,\"stream\":true,\"tools\":[],\"logprobs\":false,\"top_logprobs\":null}`",
            "`{\"model\":\"m\",\"max_completion_tokens\":9}`|`{\"upstream\":\"llm\",\"model\":\"m\",\"max_tokens\":9,\"stream\":false,\"tools\":[],\"logprobs\":false,\"top_logprobs\":null}`",
            "`{\"max_output_tokens\":7,\"input\":\"x\"}`|`{\"upstream\":\"llm\",\"model\":null,\"max_tokens\":7,\"stream\":false,\"tools\":[],\"logprobs\":false,\"top_logprobs\":null}`",
            "`{\"model\":\"m\",\"max_tokens\":\"64\"}`|`{\"upstream\":\"llm\",\"model\":\"m\",\"max_tokens\":null,\"stream\":false,\"tools\":[],\"logprobs\":false,\"top_logprobs\":null}`",
            "`{\"model\":\"m\",\"max_tokens\":null}`|`{\"upstream\":\"llm\",\"model\":\"m\",\"max_tokens\":null,\"stream\":false,\"tools\":[],\"logprobs\":false,\"top_logprobs\":null}`",
            "`{\"model\":\"m\",\"logprobs\":true,\"top_logprobs\":5}`|`{\"upstream\":\"llm\",\"model\":\"m\",\"max_tokens\":null,\"stream\":false,\"tools\":[],\"logprobs\":true,\"top_logprobs\":5}`",
            "`{\"prompt\":\"x\",\"logprobs\":3}`|`{\"upstream\":\"llm\",\"model\":null,\"max_tokens\":null,\"stream\":false,\"tools\":[],\"logprobs\":true,\"top_logprobs\":3}`",
            "`{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"send_money\"}},{\"type\":\"web_search\"},{\"name\":\"shell\",\"type\":\"custom\"}],\"functions\":[{\"name\":\"old\"}]}`|`{\"upstream\":\"llm\",\"model\":\"m\",\"max_tokens\":null,\"stream\":false,\"tools\":[\"send_money\",\"web_search\",\"shell\",\"old\"],\"logprobs\":false,\"top_logprobs\":null}`",
            "`{\"model\":{\"nested\":1},\"stream\":\"yes\"}`|`{\"upstream\":\"llm\",\"model\":null,\"max_tokens\":null,\"stream\":false,\"tools\":[],\"logprobs\":false,\"top_logprobs\":null}`",
            "`[1,2,3]`|`{\"upstream\":\"llm\",\"model\":null,\"max_tokens\":null,\"stream\":false,\"tools\":[],\"logprobs\":false,\"top_logprobs\":null}`",
            "`not json at all`|`{\"upstream\":\"llm\",\"model\":null,\"max_tokens\":null,\"stream\":false,\"tools\":[],\"logprobs\":false,\"top_logprobs\":null}`"})
    void should_read_what_the_call_asks_of_the_model(String body, String expected) {
        assertThat(of(body).json().toString()).isEqualTo(expected);
    }

    @Test
    void should_cut_a_flood_of_tools_and_long_names() {
        StringBuilder b = new StringBuilder("{\"tools\":[");
        for (int i = 0; i < 1000; i++) {
            b.append(i == 0 ? "" : ",").append("{\"function\":{\"name\":\"").append("t".repeat(i == 0 ? 5000 : 3))
                    .append("\"}}");
        }
        CallShape c = of(b.append("]}").toString());
        assertThat(c.tools()).hasSize(51).endsWith("[...]");
        assertThat(c.tools().get(0)).hasSize(205);
    }

    @Test
    void should_escape_every_value_on_the_page_and_in_the_email() {
        var templates = new ApprovalTemplates(java.nio.file.Path.of("approval-templates"));
        var rows = ApprovalTemplates.shape(of("{\"model\":\"<img src=x onerror=alert(1)>\","
                + "\"tools\":[{\"function\":{\"name\":\"\\\"><script>alert(1)</script>\"}}]}"));
        Approval a = ApprovalTemplatesTest.approval("</pre><script>alert(1)</script>");
        String html = templates.render(ApprovalTemplates.EMAIL, java.util.Map.of("approver", "bob", "approval", a,
                "shape", rows, "expires", "2026-11-25T10:00:00Z", "link", "https://attest.example/approvals/x/review"));
        assertThat(html).doesNotContain("<script>").doesNotContain("<img").contains("&lt;script&gt;")
                .contains("&lt;img src=x onerror=alert(1)&gt;");
        assertThat(html).contains("(not given: the policy&#39;s ceiling)").contains(">no<");
    }
}
