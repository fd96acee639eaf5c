package attest.ingress;

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
            """)
    void should_keep_a_well_formed_id_and_replace_anything_else(String offered, boolean kept) {
        String id = RequestIds.acceptOrMint(offered);
        if (kept) {
            assertThat(id).isEqualTo(offered);
        } else {
            assertThat(id).isNotEqualTo(offered).matches("[0-9a-f-]{36}");
        }
    }

    @org.junit.jupiter.api.Test
    void should_refuse_an_overlong_id() {
        String longId = "a".repeat(129);
        assertThat(RequestIds.acceptOrMint(longId)).isNotEqualTo(longId);
        assertThat(RequestIds.acceptOrMint("a".repeat(128))).isEqualTo("a".repeat(128));
    }
}
