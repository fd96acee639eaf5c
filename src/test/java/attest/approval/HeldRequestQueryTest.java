package attest.approval;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A held call is stored in clear (method, request-target, headers; the body sealed): the credentials a caller's
 * query carried (beside the header that signed the call in) must not be stored with it, as they are never forwarded.
 */
class HeldRequestQueryTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/llm/v1/chat/completions|/llm/v1/chat/completions",
            "/llm/v1/chat/completions?|/llm/v1/chat/completions?",
            "/llm/v1/chat/completions?api-version=2024-06-01|/llm/v1/chat/completions?api-version=2024-06-01",
            "/llm/v1/chat/completions?access_token=eyJ.x.y|/llm/v1/chat/completions",
            "/llm/v1/chat/completions?api-version=1&access_token=eyJ.x.y&API_KEY=sk-1&Key=atk_2&a%70i_key=3&b=2|/llm/v1/chat/completions?api-version=1&b=2",
            "/llm/v1/chat/completions?token=t&apikey=k&api-key=k2|/llm/v1/chat/completions"})
    void should_hold_a_request_target_without_the_credentials_in_its_query(String received, String held) {
        assertThat(HeldRequest.uriWithoutCredentials(received)).isEqualTo(held);
    }
}
