package attest.usage;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TokenUsageTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            {"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}                                  | 3    | 4    | 7    | NULL | NULL
            {"prompt_tokens":3,"completion_tokens":4}                                                   | 3    | 4    | 7    | NULL | NULL
            {"input_tokens":5,"output_tokens":6,"total_tokens":11,"input_tokens_details":{"cached_tokens":2},"output_tokens_details":{"reasoning_tokens":1}} | 5 | 6 | 11 | 2 | 1
            {"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":0}} | 3 | NULL | NULL | 3 | 0
            {"prompt_tokens":"3","completion_tokens":1.5,"total_tokens":-2}                             | NULL | NULL | NULL | NULL | NULL
            {"prompt_tokens":9007199254740993,"completion_tokens":1}                                    | NULL | 1    | NULL | NULL | NULL
            {}                                                                                          | NULL | NULL | NULL | NULL | NULL
            """)
    void should_read_both_openai_shapes_and_never_guess(String json, Long prompt, Long completion, Long total, Long cached,
                                                      Long reasoning) throws Exception {
        TokenUsage u = TokenUsage.of(JSON.readTree(json));
        if (prompt == null && completion == null && total == null) {
            assertEquals(null, u);
            return;
        }
        assertEquals(new TokenUsage(prompt, completion, total, cached, reasoning), u);
    }

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {
            "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"}}],"
                    + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":9,\"total_tokens\":18}}",
            "{\"usage\":{\"prompt_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":4}},\"choices\":[]}",
            "{\"object\":\"response\",\"response\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":6}}}",
            "{\"usage\":null,\"response\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":6}}}",
            "{\"model\":\"llama3\",\"done\":true,\"prompt_eval_count\":26,\"eval_count\":290}",
            "{\"done\":false,\"prompt_eval_count\":26,\"eval_count\":290}",
            "{\"eval_count\":1,\"done\":true}",
            "{\"usage\":{\"prompt_tokens\":1},\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3}}",
            "{\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3},\"usage\":{}}",
            "{\"choices\":[{\"usage\":{\"prompt_tokens\":7}}],\"data\":{\"usage\":{\"prompt_tokens\":7}}}",
            "{\"choices\":[{\"message\":{\"content\":\"\\u0022usage\\u0022: {\\\"prompt_tokens\\\": 7}\"}}]}",
            "{\"usage\":{\"prompt_tokens\":\"9\",\"completion_tokens\":1.0,\"total_tokens\":-1}}",
            "{\"usage\":{\"prompt_tokens\":9007199254740993,\"completion_tokens\":18446744073709551616}}",
            "{}", "[]", "[{\"usage\":{\"prompt_tokens\":1}}]", "null", "\"usage\"", "42",
            "{\"usage\":{\"prompt_tokens\":1}} trailing", "  {\"usage\":{\"prompt_tokens\":1}}  "})
    void should_read_an_answers_usage_as_its_tree_reads_it(String body) throws Exception {
        byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(TokenUsage.in(JSON.readTree(bytes)), TokenUsage.read(JSON, bytes));
    }

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {
            "{\"usage\":{\"prompt_tokens\":1}", "{\"choices\":[{]}", "{\"a\":tru}", "{\"a\":\"open}",
            "{\"choices\":[1,2,}, \"usage\":{\"prompt_tokens\":1}}", "{\"usage\" {}}"})
    void should_refuse_what_is_not_well_formed_as_the_tree_does(String body) {
        byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> JSON.readTree(bytes));
        org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> TokenUsage.read(JSON, bytes));
    }
}
