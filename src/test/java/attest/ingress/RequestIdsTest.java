package attest.ingress;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class RequestIdsTest {
    @ParameterizedTest(name = "{0} -> kept={1}")
    @CsvSource(nullValues = "-", textBlock = """
            req-12345678,                                 true
            0f9ee763-9ef8-4c9f-8723-bd8271913af4,         true
            trace:abc.def_12,                             true
            -,                                            false
            '',                                           false
            short,                                        false
            'has space in it',                            false
            'new\nline-injection',                        false
            <script>alert(1)</script>,                    false
            'caf\u00e9-1234567',                          false
            """)
    void should_keep_only_a_well_formed_caller_id_and_only_as_a_correlation_id(String offered, boolean kept) {
        assertThat(RequestIds.correlation(offered)).isEqualTo(kept ? offered : null);
    }

    @Test
    void should_refuse_an_overlong_correlation_id() {
        assertThat(RequestIds.correlation("a".repeat(129))).isNull();
        assertThat(RequestIds.correlation("a".repeat(128))).isEqualTo("a".repeat(128));
    }

    @Test
    void should_mint_a_new_id_every_time() {
        assertThat(RequestIds.mint()).matches("[0-9a-f-]{36}").isNotEqualTo(RequestIds.mint());
    }
}
