package attest.keys;

import attest.http.GatewayException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class KeyJsonTest {
    static KeyJson.Request read(String json) {
        return KeyJson.read(json.getBytes(StandardCharsets.UTF_8), Duration.ofDays(30), Duration.ofDays(90));
    }

    @Test
    void should_read_a_full_request() {
        KeyJson.Request r = read("{\"name\":\"nightly batch\",\"expires_in\":\"P7D\",\"upstreams\":[\"llm\"],"
                + "\"models\":[\"demo-*\"],\"budget\":{\"tokens\":1000,\"period\":\"day\"},"
                + "\"limits\":{\"requests_per_minute\":60,\"tokens_per_minute\":5000}}");
        assertEquals("nightly batch", r.name());
        assertEquals(Duration.ofDays(7), r.expiresIn());
        assertEquals(List.of("llm"), r.upstreams());
        assertEquals(List.of("demo-*"), r.models());
        assertEquals(1000L, r.budget().budgetTokens());
        assertEquals("day", r.budget().budgetPeriod());
        assertEquals(60L, r.budget().requestsPerMinute());
        assertEquals(5000L, r.budget().tokensPerMinute());
        assertEquals("{\"tokens\":1000,\"period\":\"day\"}", KeyJson.budget(r.budget()));
        assertEquals(r.budget(), KeyJson.parseBudget(KeyJson.budget(r.budget()), KeyJson.limits(r.budget())));
    }

    @Test
    void should_give_an_absent_or_null_lifetime_the_default_never_forever() {
        assertEquals(Duration.ofDays(30), read("{\"name\":\"a\"}").expiresIn());
        assertEquals(Duration.ofDays(30), read("{\"name\":\"a\",\"expires_in\":null}").expiresIn());
        KeyJson.Request r = read("{\"name\":\"a\",\"budget\":null,\"limits\":null}");
        assertNull(r.budget().budgetTokens());
        assertEquals(List.of(), r.upstreams());
    }

    @Test
    void should_read_a_cost_budget_in_micro_units() {
        assertEquals(5_250_000L, read("{\"name\":\"a\",\"budget\":{\"cost\":\"5.25\",\"period\":\"month\"}}")
                .budget().budgetCostMicros());
        assertEquals(1L, read("{\"name\":\"a\",\"budget\":{\"cost\":0.000001,\"period\":\"month\"}}")
                .budget().budgetCostMicros());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"name\":\"a\",\"owner\":\"bob\"}",
            "{\"name\":\"a\",\"subject\":\"x\"}",
            "{\"name\":\"a\",\"name\":\"b\"}",
            "{\"name\":\"\"}",
            "{\"name\":\"a\\u0000b\"}",
            "{\"name\":\"" + "x" + "\"\n,\"expires_in\":\"P1000D\"}",
            "{\"name\":\"a\",\"expires_in\":\"-P1D\"}",
            "{\"name\":\"a\",\"expires_in\":\"PT0S\"}",
            "{\"name\":\"a\",\"expires_in\":\"P1M\"}",
            "{\"name\":\"a\",\"expires_in\":30}",
            "{\"name\":\"a\",\"upstreams\":[]}",
            "{\"name\":\"a\",\"upstreams\":\"llm\"}",
            "{\"name\":\"a\",\"upstreams\":[\"../x\"]}",
            "{\"name\":\"a\",\"models\":[1]}",
            "{\"name\":\"a\",\"budget\":{\"tokens\":10}}",
            "{\"name\":\"a\",\"budget\":{\"tokens\":10,\"cost\":1,\"period\":\"day\"}}",
            "{\"name\":\"a\",\"budget\":{\"tokens\":0,\"period\":\"day\"}}",
            "{\"name\":\"a\",\"budget\":{\"tokens\":1.5,\"period\":\"day\"}}",
            "{\"name\":\"a\",\"budget\":{\"tokens\":10,\"period\":\"week\"}}",
            "{\"name\":\"a\",\"budget\":{\"cost\":\"0.0000001\",\"period\":\"day\"}}",
            "{\"name\":\"a\",\"budget\":{\"cost\":\"-1\",\"period\":\"day\"}}",
            "{\"name\":\"a\",\"limits\":{\"requests_per_minute\":-1}}",
            "{\"name\":\"a\",\"limits\":{\"requests_per_second\":1}}",
            "{\"name\":\"a\",\"limits\":[1]}",
            "[]",
            "not json"})
    void should_refuse_what_a_client_should_not_send(String body) {
        GatewayException e = assertThrows(GatewayException.class, () -> read(body));
        assertEquals(400, e.status());
    }
}
