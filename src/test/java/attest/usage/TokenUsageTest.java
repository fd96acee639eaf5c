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
}
